"""Subword vocabularies: byte-pair encoding (Sennrich et al. 2016) with Hugging Face `tokenizers`.

One BPE per side, trained on the training split only. Words are split on whitespace and
punctuation, and each word starts with the metaspace mark '▁', so decoding restores the original
spacing and pieces can be merged back into words for the alignment view. The tokenizer is stored
as its JSON (a string in the model card's `extra`), never pickled.
"""
from __future__ import annotations

import unicodedata

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>"]
MARK = "\u2581"   # '▁' starts a word


def train_bpe(texts, vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()])
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, min_frequency=2,
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


def from_json(text: str) -> Tokenizer:
    return Tokenizer.from_str(text)


def encode(tok: Tokenizer, text: str) -> list[int]:
    return tok.encode(text, add_special_tokens=False).ids


def decode(tok: Tokenizer, ids) -> str:
    return tok.decode([i for i in ids if i >= len(SPECIALS)]).strip()


def pieces(tok: Tokenizer, ids) -> list[str]:
    return [tok.id_to_token(i) or "<unk>" for i in ids]


def _is_punct(piece: str) -> bool:
    p = piece.lstrip(MARK)
    return bool(p) and all(unicodedata.category(ch).startswith("P") or unicodedata.category(ch).startswith("S")
                           for ch in p)


def words_of(pieces_: list[str]) -> tuple[list[str], list[int]]:
    """Merge subword pieces into display words: (words, word index of each piece).
    A word starts at a '▁' piece, at punctuation, and right after punctuation."""
    words, index = [], []
    prev_punct = True
    for p in pieces_:
        punct = _is_punct(p)
        if not words or p.startswith(MARK) or punct or prev_punct:
            words.append(p.replace(MARK, ""))
        else:
            words[-1] += p
        index.append(len(words) - 1)
        prev_punct = punct
    return words, index
