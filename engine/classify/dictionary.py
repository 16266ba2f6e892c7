"""The dictionary: tokens -> rows of the input matrix, like fastText's src/dictionary.cc.

A text becomes a bag of row ids:
  * each in-vocabulary word (and the end-of-sentence token ``</s>``) has its own row;
  * each word n-gram (n = 2..word_ngrams) is hashed into one of ``bucket`` extra rows
    (fastText: h = h * 116049371 + hash(next word), over the FNV-1a hashes of the tokens,
    so unknown words still take part in n-grams);
  * optionally each character n-gram (minn..maxn) of "<word>" is hashed into the same buckets.
Rows: [0, nwords) words, [nwords, nwords + bucket) hashed n-grams.
"""
from __future__ import annotations

import collections
import itertools
from dataclasses import dataclass, field, replace

import numpy as np

from engine.classify.char_ngrams import char_ngram_hashes, fnv1a, gather_ranges, ngrams_of

EOS = "</s>"
LABEL_PREFIX = "__label__"
NGRAM_MUL = np.uint64(116049371)
_PUNCT = '.,!?;:()"`[]{}'            # split off from words (apostrophes stay: "isn't")


def _split_punct(text: str) -> str:
    for c in _PUNCT:                   # one C-speed replace per mark beats a regex by ~10x
        if c in text:
            text = text.replace(c, f" {c} ")
    return text


def normalize(text: str, lower: bool = True) -> str:
    """The preprocessing applied before tokenizing (the same text is fed to the reference
    fastText in `seqlab bench`): lowercase, punctuation split from words."""
    if lower:
        text = text.lower()
    return " ".join(_split_punct(text).split())


def tokenize(text: str) -> list[str]:
    """fastText's tokenizer: split on whitespace, end with </s>."""
    return text.split() + [EOS]


_HASHES: dict[str, int] = {}


def _hash_cached(word: str) -> int:
    h = _HASHES.get(word)
    if h is None:
        if len(_HASHES) > 2_000_000:
            _HASHES.clear()
        h = _HASHES[word] = fnv1a(word)
    return h


def tokenize_all(texts: list[str], lower: bool = True) -> list[list[str]]:
    """tokenize(normalize(t)) for many texts, with one regex pass over the joined corpus."""
    corpus = "\n".join(t.replace("\n", " ") for t in texts)
    if lower:
        corpus = corpus.lower()
    corpus = _split_punct(corpus)
    return [line.split() + [EOS] for line in corpus.split("\n")] if texts else []


def _as_int64_of_int32(h: np.ndarray) -> np.ndarray:
    """uint32 hashes -> the sign-extended uint64 that fastText's `uint64_t h = int32_t` gives."""
    return h.astype(np.uint32).view(np.int32).astype(np.int64).view(np.uint64)


@dataclass
class Dictionary:
    words: list[str]                       # vocabulary, most frequent first
    labels: list[str]                      # label names, most frequent first
    label_counts: list[int]                # training examples per label (Huffman tree input)
    word_ngrams: int = 2                   # longest word n-gram (1 = bag of words)
    bucket: int = 200_000                  # hashed rows for n-grams
    minn: int = 0                          # shortest char n-gram (0 = none)
    maxn: int = 0                          # longest char n-gram
    lower: bool = True                     # lowercase + split punctuation before tokenizing
    # after a cutoff (compress.py, as fastText's quantize prunes its dictionary): `words` keeps
    # only the words whose rows were kept, `word_ids` their ids in the full vocabulary of
    # `all_words` words, so every row id (words first, then the n-gram buckets) stays the same
    word_ids: list[int] | None = None
    all_words: int | None = None
    word2id: dict = field(init=False, repr=False)

    def __post_init__(self):
        ids = self.word_ids if self.word_ids is not None else range(len(self.words))
        if self.word_ids is not None and (self.all_words is None or len(ids) != len(self.words)
                                          or not all(0 <= i < self.all_words for i in ids)):
            raise ValueError("a pruned dictionary needs one id below the full word count per word")
        self.word2id = dict(zip(self.words, ids))
        self._char_cache: dict[str, list[int]] = {}
        self._vocab_chars = None           # (rows, start, count by word id): see _vocab_char_rows

    @property
    def nwords(self) -> int:
        """Rows before the n-gram buckets: the full vocabulary's size, also after pruning."""
        return self.all_words if self.all_words is not None else len(self.words)

    @property
    def nrows(self) -> int:
        return self.nwords + (self.bucket if self.word_ngrams > 1 or self.maxn > 0 else 0)

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def build(cls, texts: list[str], labels: list[list[str]], min_count: int = 1, **options) -> "Dictionary":
        return cls._build(texts, labels, min_count, options)[0]

    @classmethod
    def build_and_encode(cls, texts: list[str], labels: list[list[str]], min_count: int = 1, **options):
        """build() and encode() of the same texts -> (dictionary, rows, offsets), with one pass
        over the tokens instead of two: counting them already gives each token its id (on
        4.25M tokens the second dictionary lookup cost ~1 s)."""
        d, tokens, ids = cls._build(texts, labels, min_count, options)
        return (d, *d._encode_ids(tokens, ids))

    @classmethod
    def _build(cls, texts, labels, min_count, options):
        """-> (dictionary, its tokens per text, each token's word id or -1: flat int64)."""
        tokens = tokenize_all(texts, options.get("lower", True))
        # one C-level pass: each distinct token gets a provisional id at its first occurrence
        first_seen = collections.defaultdict(itertools.count().__next__)
        provisional = np.fromiter(map(first_seen.__getitem__, itertools.chain.from_iterable(tokens)),
                                  dtype=np.int64, count=sum(map(len, tokens)))
        distinct = list(first_seen)
        counts = np.bincount(provisional, minlength=len(distinct))
        # vocabulary: most frequent first, ties in string order (a stable sort by count of the
        # alphabetical order), dropping words seen fewer than min_count times
        alphabetical = np.array(sorted(range(len(distinct)), key=distinct.__getitem__), dtype=np.int64)
        order = alphabetical[np.argsort(-counts[alphabetical], kind="stable")]
        order = order[counts[order] >= min_count]
        word_id = np.full(len(distinct), -1, dtype=np.int64)
        word_id[order] = np.arange(len(order))
        label_counts = collections.Counter(l for ls in labels for l in ls)
        names = sorted(label_counts, key=lambda l: (-label_counts[l], l))
        d = cls([distinct[i] for i in order], names, [label_counts[l] for l in names], **options)
        return d, tokens, word_id[provisional]

    def pruned(self, keep_rows) -> "Dictionary":
        """This dictionary with only the words whose rows are in `keep_rows` (sorted row ids)."""
        index = dict(zip(self.word2id.values(), self.word2id.keys()))     # word id -> word
        ids = [int(r) for r in keep_rows if int(r) in index]
        return replace(self, words=[index[i] for i in ids], word_ids=ids, all_words=self.nwords)

    def to_dict(self) -> dict:
        d = {"words": self.words, "labels": self.labels, "label_counts": self.label_counts,
             "word_ngrams": self.word_ngrams, "bucket": self.bucket, "minn": self.minn,
             "maxn": self.maxn, "lower": self.lower}
        if self.word_ids is not None:
            d.update(word_ids=self.word_ids, all_words=self.all_words)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Dictionary":
        return cls(**d)

    # -- text -> rows -------------------------------------------------------------------------
    def word_hashes(self) -> np.ndarray:
        """FNV-1a hash of every vocabulary word by id (uint64 holding the uint32), computed once."""
        if getattr(self, "_word_hashes", None) is None:
            h = np.fromiter(map(fnv1a, self.words), dtype=np.uint64, count=len(self.words))
            if self.word_ids is not None:                   # indexed by word id (0 where pruned)
                full = np.zeros(self.nwords, dtype=np.uint64)
                full[np.asarray(self.word_ids, dtype=np.int64)] = h
                h = full
            self._word_hashes = h
        return self._word_hashes

    def _char_ngrams(self, word: str) -> list[int]:
        """Rows of one word's character n-grams (single texts, and words outside the vocabulary)."""
        if self.maxn <= 0 or word == EOS:
            return []
        if word not in self._char_cache:
            self._char_cache[word] = [self.nwords + fnv1a(g) % self.bucket
                                      for g in ngrams_of(word, self.minn, self.maxn)]
        return self._char_cache[word]

    def _vocab_char_rows(self):
        """Character n-gram rows of every vocabulary word, computed once, vectorized:
        (rows: int64 flat, start and count: int64 by word id)."""
        if self._vocab_chars is None:
            hashes, offsets = char_ngram_hashes(self.words, self.minn, self.maxn, skip=EOS)
            rows = (hashes % np.uint64(self.bucket)).astype(np.int64) + self.nwords
            ids = np.asarray(self.word_ids if self.word_ids is not None else range(len(self.words)), dtype=np.int64)
            start, count = np.zeros(self.nwords, dtype=np.int64), np.zeros(self.nwords, dtype=np.int64)
            start[ids], count[ids] = offsets[:-1], np.diff(offsets)
            self._vocab_chars = rows, start, count
        return self._vocab_chars

    def _char_rows_of_tokens(self, ids: np.ndarray, flat: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
        """Character n-gram rows of a flat token sequence -> (rows, count per token). Vocabulary
        words (ids >= 0) are gathered from _vocab_char_rows; the others (`flat` names them)
        are hashed one by one."""
        vocab_rows, start, count = self._vocab_char_rows()
        known = ids >= 0
        counts = np.where(known, count[np.maximum(ids, 0)], 0)
        unknown = np.flatnonzero(~known)
        if len(unknown) == 0:
            return gather_ranges(vocab_rows, start[ids], counts), counts
        extra = [self._char_ngrams(flat[i]) for i in unknown]
        counts[unknown] = [len(e) for e in extra]
        rows = np.empty(int(counts.sum()), dtype=np.int64)
        begins = np.cumsum(counts) - counts
        kc = counts[known]                    # vocabulary words: one gather into their slots
        slots = gather_ranges(np.arange(len(rows)), begins[known], kc)
        rows[slots] = gather_ranges(vocab_rows, start[ids[known]], kc)
        for i, e in zip(unknown, extra):
            rows[begins[i]:begins[i] + len(e)] = e
        return rows, counts

    def features(self, text: str, names: bool = True) -> tuple[list[int], list[str]]:
        """Row ids of a text and, for each, the n-gram it stands for (for explanations;
        names=False skips them: the single-text prediction path needs only the rows).
        A word's rows come together: its own row (if in the vocabulary), then its character
        n-grams. The first is named after the word, the others '' ("the same word again"), so
        that an explanation can give each word one weight."""
        tokens = tokenize(normalize(text, self.lower))
        rows, labels = [], []
        for tok in tokens:
            start = len(rows)
            i = self.word2id.get(tok)
            if i is not None:
                rows.append(i)
            rows += self._char_ngrams(tok)
            if names and len(rows) > start:
                labels += [tok] + [""] * (len(rows) - start - 1)
        if self.word_ngrams > 1:
            hashes = _as_int64_of_int32(np.array([_hash_cached(t) for t in tokens], dtype=np.uint64))
            for n in range(2, self.word_ngrams + 1):
                grams = self._ngram_rows(hashes, n)
                rows.extend(grams.tolist())
                if names:
                    labels += [" ".join(tokens[i:i + n]) for i in range(len(grams))]
        return rows, (labels if names else [])

    def _ngram_rows(self, hashes: np.ndarray, n: int) -> np.ndarray:
        """Bucket rows of all n-grams of one token sequence (vectorized over positions)."""
        if len(hashes) < n:
            return np.zeros(0, dtype=np.int64)
        with np.errstate(over="ignore"):
            h = hashes[: len(hashes) - n + 1].copy()
            for j in range(1, n):
                h = h * NGRAM_MUL + hashes[j: len(hashes) - n + 1 + j]
        return (h % np.uint64(self.bucket)).astype(np.int64) + self.nwords

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Many texts -> (rows: int64 flat, offsets: int64 [n+1]) for nn.EmbeddingBag.

        Vectorized over the whole corpus: one pass maps tokens to ids and hashes, then numpy
        computes every n-gram hash at once (n-grams crossing a text boundary are dropped)."""
        tokens = tokenize_all(texts, self.lower)
        ids = np.fromiter(map(self.word2id.get, itertools.chain.from_iterable(tokens), itertools.repeat(-1)),
                          dtype=np.int64, count=sum(map(len, tokens)))
        return self._encode_ids(tokens, ids)

    def _encode_ids(self, tokens: list[list[str]], ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """encode(), given every token's word id (-1: not in the vocabulary), flat."""
        n = len(tokens)
        lens = np.fromiter(map(len, tokens), dtype=np.int64, count=n)
        doc = np.repeat(np.arange(n), lens)
        known = ids >= 0
        all_known = bool(known.all())              # (training texts: skip two 4M-long copies)
        parts_rows, parts_doc = ([ids], [doc]) if all_known else ([ids[known]], [doc[known]])
        flat = None if all_known else list(itertools.chain.from_iterable(tokens))
        if self.maxn > 0:
            char_rows, per_token = self._char_rows_of_tokens(ids, flat)
            parts_rows.append(char_rows)
            parts_doc.append(np.repeat(doc, per_token))
        if self.word_ngrams > 1:
            # token hashes: looked up for vocabulary words, computed only for unknown ones
            hashes = self.word_hashes()[ids if all_known else np.where(known, ids, 0)]
            for i in np.flatnonzero(~known):
                hashes[i] = _hash_cached(flat[i])
            hashes = _as_int64_of_int32(hashes)
            for k in range(2, self.word_ngrams + 1):
                same = doc[: len(doc) - k + 1] == doc[k - 1:]          # n-gram inside one text
                parts_rows.append(self._ngram_rows(hashes, k)[same])
                parts_doc.append(doc[: len(doc) - k + 1][same])
        return _group_by_text(parts_rows, parts_doc, n)

    def label_ids(self, labels: list[list[str]]) -> list[list[int]]:
        index = {l: i for i, l in enumerate(self.labels)}
        return [[index[l] for l in ls if l in index] for ls in labels]


def _group_by_text(parts_rows: list[np.ndarray], parts_doc: list[np.ndarray], n: int):
    """Interleave the parts (word ids, char n-grams, word n-grams; each ordered by text) into one
    row array grouped by text, each text's rows part by part: what a stable argsort of the
    concatenated text ids gives, in O(rows) instead of a sort (the sort took ~1 s on
    bible-language with character n-grams).
    -> (rows, offsets [n + 1])."""
    per_part = [np.bincount(d, minlength=n) for d in parts_doc]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sum(per_part), out=offsets[1:])
    out = np.empty(int(offsets[-1]), dtype=np.int64)
    before = offsets[:-1].copy()                  # where this part's rows of each text start
    for rows, doc, count in zip(parts_rows, parts_doc, per_part):
        first = np.cumsum(count) - count          # index in the part of each text's first row
        out[np.arange(len(rows)) + (before - first)[doc]] = rows
        before += count
    return out, offsets
