"""Word tokenizer and vocabulary shared by the three language models.

Type-ahead wants words as a person types them, so the tokenizer keeps case ("The" at a sentence
start, "the" inside one), keeps contractions whole ("don't", "America's"), and makes each
punctuation mark its own token (so the models learn where sentences end). Curly quotes and dashes
are folded to their ASCII forms. Words outside the vocabulary become ``<unk>``.

Ids are assigned by descending training frequency: the adaptive softmax (softmax.py) relies on
frequent words having small ids.
"""
from __future__ import annotations

import collections
import re
from typing import Iterable

UNK = "<unk>"
# A boundary token: every document starts with it, and an empty editor is predicted from it,
# so "empty text" means "most likely sentence starts".
BOS = "."

WORD = r"[A-Za-z]+(?:'[A-Za-z]+)*|\d+(?:[.,]\d+)*"
TOKEN_RE = re.compile(WORD + r"|[^\sA-Za-z\d]")
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                       "\u2014": "-", "\u2013": "-", "\u2011": "-", "\u00a0": " "})
# The word being typed (no trailing space yet -> a prefix to complete), apostrophe included.
_PARTIAL = re.compile(r"[A-Za-z\d][A-Za-z\d']*$")
NO_SPACE_BEFORE = set(".,;:!?)]%'") | {"n't"}
NO_SPACE_AFTER = set("([$-")


def normalize(text: str) -> str:
    return text.translate(_FOLD)


def tokenize(text: str) -> list[str]:
    """'The U.S. economy, isn't it?' -> ['The', 'U', '.', 'S', '.', 'economy', ',', "isn't", 'it', '?']"""
    return TOKEN_RE.findall(normalize(text))


def split_partial(text: str) -> tuple[list[str], str]:
    """Committed tokens and the word still being typed ('' after a space or punctuation)."""
    text = normalize(text)
    m = _PARTIAL.search(text)
    if m is None:
        return TOKEN_RE.findall(text), ""
    return TOKEN_RE.findall(text[: m.start()]), m.group()


def detokenize(tokens: Iterable[str]) -> str:
    """Join tokens the way people write: no space before ',' or '.', none after '(' or '$'."""
    out = ""
    prev = ""
    for tok in tokens:
        if out and tok not in NO_SPACE_BEFORE and prev not in NO_SPACE_AFTER:
            out += " "
        out += tok
        prev = tok
    return out


class Vocab:
    """itos/stoi with <unk>; ids sorted by training frequency (most frequent first)."""

    def __init__(self, itos: list[str]):
        if UNK not in itos:
            raise ValueError("a vocabulary needs the <unk> token")
        self.itos = list(itos)
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.unk = self.stoi[UNK]
        self.bos = self.stoi.get(BOS, self.unk)
        self._sorted: list[str] | None = None

    def __len__(self) -> int:
        return len(self.itos)

    @classmethod
    def build(cls, docs: Iterable[list[str]], max_size: int = 16000, min_count: int = 3) -> "Vocab":
        """The `max_size - 1` most frequent words seen at least `min_count` times, plus <unk>,
        which takes the frequency rank of all the words it replaces."""
        counts = collections.Counter()
        for toks in docs:
            counts.update(toks)
        words = [w for w, c in counts.most_common() if c >= min_count][: max_size - 1]
        kept = set(words)
        unk_count = sum(c for w, c in counts.items() if w not in kept)
        ranked = sorted([(c, w) for w, c in counts.items() if w in kept] + [(unk_count, UNK)],
                        key=lambda cw: (-cw[0], cw[1]))
        return cls([w for _, w in ranked])

    def encode(self, tokens: Iterable[str]) -> list[int]:
        get, unk = self.stoi.get, self.unk
        return [get(t, unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in ids]

    def with_prefix(self, prefix: str) -> list[int]:
        """Ids of words starting with `prefix` (exact case; if none, ignoring case)."""
        if self._sorted is None:
            self._sorted = sorted(self.itos)
        import bisect
        lo = bisect.bisect_left(self._sorted, prefix)
        hi = bisect.bisect_left(self._sorted, prefix + "\U0010ffff")
        words = [w for w in self._sorted[lo:hi] if w != UNK]
        if not words:
            low = prefix.lower()
            words = [w for w in self.itos if w.lower().startswith(low) and w != UNK]
        return [self.stoi[w] for w in words]
