"""Corpora for the type-ahead models, parsed and split deterministically.

Held-out rules (documented on every model card):
- sotu: the State of the Union speeches whose year ends in 5 (1795, 1805, ..., 2015) are the
  test set: whole speeches, about one in ten, spread evenly over 1790-2021 so every era and
  style is tested. Everything else trains.
- moby-dick: the chapters whose number ends in 5 are the test set.
- your own .txt: the text is cut into blocks of whole paragraphs of at least 200 words; every
  10th block (the 10th, 20th, ...) is the test set.

A document is a list of tokens that starts with the boundary token (vocab.BOS), so the first real
word is predicted "at a sentence start", as in an empty editor.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from engine.data import sources, userfile
from engine.typeahead import vocab as V

DATASETS = ("sotu", "moby-dick")
MAX_FILE_BYTES = 200 * 1024 * 1024


@dataclasses.dataclass
class Corpus:
    name: str
    train: list[list[str]]      # documents (token lists), each starting with vocab.BOS
    test: list[list[str]]
    test_ids: list[str]         # which documents are held out
    rule: str                   # the held-out rule, in words
    license: str

    def describe(self) -> dict:
        return {"source": self.name, "split": self.rule, "license": self.license,
                "train_docs": len(self.train), "test_docs": len(self.test),
                "train_tokens": sum(len(d) - 1 for d in self.train),
                "test_tokens": sum(len(d) - 1 for d in self.test)}


def _doc(text: str) -> list[str]:
    return [V.BOS] + V.tokenize(text)


def load_sotu() -> Corpus:
    folder = sources.ensure("sotu") / "package" / "data"
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise sources.DataUnavailable("the sotu data folder holds no speeches; run `seqlab data fetch sotu`")
    train, test, ids = [], [], []
    for f in files:
        year = int(f.name[:4])
        doc = _doc(f.read_text(encoding="utf-8"))
        if year % 10 == 5:
            test.append(doc)
            ids.append(f.stem)
        else:
            train.append(doc)
    return Corpus("sotu", train, test, ids, "speeches whose year ends in 5 (1795 ... 2015) are held out",
                  sources.get("sotu").license)


def load_moby_dick() -> Corpus:
    text = (sources.ensure("moby-dick") / "package" / "data" / "data.txt").read_text(encoding="utf-8")
    chapters = re.split(r"^CHAPTER (\d+)\..*$", text, flags=re.M)
    train, test, ids = [], [], []
    # re.split with a group -> [preface, num, body, num, body, ...]
    for num, body in zip(chapters[1::2], chapters[2::2]):
        (test if int(num) % 10 == 5 else train).append(_doc(body))
        if int(num) % 10 == 5:
            ids.append(f"chapter {num}")
    return Corpus("moby-dick", train, test, ids, "chapters whose number ends in 5 are held out",
                  sources.get("moby-dick").license)


def load_user_file(path: str | Path, block_words: int = 200) -> Corpus:
    text = userfile.read_text(path, MAX_FILE_BYTES)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    blocks, current = [], []
    for para in paragraphs:
        current += V.tokenize(para)
        while len(current) >= block_words:       # a file with one long paragraph still splits
            blocks.append(current[:block_words])
            current = current[block_words:]
    if current:
        blocks.append(current)
    if sum(len(b) for b in blocks) < 50:
        raise ValueError(f"{Path(path).name} has too little text to train on (need at least 50 words)")
    train, test, ids = [], [], []
    for i, b in enumerate(blocks, start=1):
        (test if i % 10 == 0 else train).append([V.BOS] + b)
        if i % 10 == 0:
            ids.append(f"block {i}")
    if not test:              # a short file: hold out its last block so eval has something
        test.append(train.pop())
        ids.append(f"block {len(blocks)}")
    if not train:
        raise ValueError(f"{Path(path).name} is too short to split into training and test text")
    return Corpus(str(Path(path).resolve()), train, test, ids,        # eval finds it from anywhere
                  f"blocks of >= {block_words} words; every 10th block is held out", "your own file")


def load(name: str, own_file: str | None = None) -> Corpus:
    if own_file:
        return load_user_file(own_file)
    if name in DATASETS:
        with sources.reading(name):
            corpus = load_sotu() if name == "sotu" else load_moby_dick()
            if not corpus.train or not corpus.test:     # a cut file: it trained a 1.0-perplexity model
                raise ValueError(f"{name} has no {'training' if not corpus.train else 'held-out'} text")
            return corpus
    if name and (Path(name).suffix == ".txt" or "/" in name or Path(name).exists()):
        return load_user_file(name)        # (a folder or a device gets its own message there)
    raise ValueError(f"unknown corpus {name!r}; use sotu, moby-dick or a path to a .txt file")
