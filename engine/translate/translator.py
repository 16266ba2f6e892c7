"""A trained model ready to translate: tokenizers + Seq2Seq + beam search, and word alignments.

`Translator.translate(text)` is what the CLI's `predict` and the tab call. Long input is split
into sentences (and over-long sentences at word boundaries) and decoded as one batch; beyond
MAX_WORDS words the rest is dropped with a notice, so a 5,000-word paste never freezes anything.
"""
from __future__ import annotations

import re
import time
from typing import Optional

import numpy as np
import torch

from engine import cards
from engine.seq.beam import beam_search
from engine.text_input import not_text
from engine.translate import bpe
from engine.translate.model import Seq2Seq, Seq2SeqConfig

MAX_WORDS = 300          # per request; the rest is dropped with a notice
MAX_CHUNK_WORDS = 60     # a "sentence" longer than this is cut at word boundaries
MAX_PIECES = 150         # hard cap on source pieces per chunk (the model trained on <= 60)


class Translator:
    def __init__(self, model: Seq2Seq, src_tok, tgt_tok, card: Optional[cards.ModelCard] = None):
        self.model = model.eval()
        self.src_tok, self.tgt_tok = src_tok, tgt_tok
        self.card = card

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    # -- loading / saving --------------------------------------------------------------------
    @classmethod
    def load(cls, name: str, device: str = "cpu") -> "Translator":
        tensors, card = cards.load_model(cards.find_model("translate", name))
        return cls.from_tensors(tensors, card, device)

    @classmethod
    def from_tensors(cls, tensors: dict, card: cards.ModelCard, device: str = "cpu") -> "Translator":
        try:
            cfg = Seq2SeqConfig(**card.config)
            src_tok = bpe.from_json(card.extra["src_tokenizer"])
            tgt_tok = bpe.from_json(card.extra["tgt_tokenizer"])
            model = Seq2Seq(cfg)                     # (a hand-edited config fails here: "192", "bogus")
        except (TypeError, KeyError, Exception) as exc:  # noqa: BLE001 - any bad card is one message
            raise cards.ModelLoadError(f"translate model card {card.name!r} is incomplete "
                                       f"({type(exc).__name__}: {str(exc)[:160]})") from None
        state = {k: v.float() for k, v in tensors.items()}
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as exc:                  # a size mismatch: raised even when not strict
            raise cards.misfit(card.name, exc) from None
        if set(missing) - {"out.weight"} or unexpected:
            raise cards.ModelLoadError(f"{card.name}.safetensors does not fit its config "
                                       f"(missing {len(missing)}, unexpected {len(unexpected)} tensors)")
        return cls(model.to(device), src_tok, tgt_tok, card)

    def tensors(self, half: bool = True) -> dict:
        """Weights to save: fp16 halves the file at no measurable BLEU cost; the tied output
        projection is the target embedding, stored once."""
        sd = self.model.state_dict()
        return {k: (v.half() if half and v.is_floating_point() else v).clone()
                for k, v in sd.items() if k != "out.weight"}

    # -- decoding ----------------------------------------------------------------------------
    @torch.no_grad()
    def decode_ids(self, src_ids: list, beam: int = 5, n_best: int = 1, alpha: float = 1.0):
        """Beam-search a batch of source id lists -> list (per input) of Hypothesis lists."""
        src_ids = [ids[:MAX_PIECES] or [bpe.UNK] for ids in src_ids]
        B, S = len(src_ids), max(len(x) for x in src_ids)
        src = torch.full((B, S), bpe.PAD, dtype=torch.long)
        for i, ids in enumerate(src_ids):
            src[i, : len(ids)] = torch.tensor(ids)
        lengths = torch.tensor([len(x) for x in src_ids])
        src = src.to(self.device)
        s0, context = self.model.encode(src, lengths)
        limits = [min(2 * len(x) + 10, 2 * MAX_PIECES) for x in src_ids]
        return beam_search(self.model.step, s0, context, B, bpe.BOS, bpe.EOS, beam_size=beam,
                           max_len=limits, alpha=alpha, n_best=n_best)

    def translate_batch(self, texts: list, beam: int = 5) -> list:
        """Plain translations of many single sentences (evaluation, validation BLEU)."""
        ids = [bpe.encode(self.src_tok, t) for t in texts]
        return [bpe.decode(self.tgt_tok, h[0].tokens) if h else "" for h in self.decode_ids(ids, beam)]

    def translate(self, text: str, beam: int = 5, n_best: int = 5, alpha: float = 1.0) -> dict:
        """The CLI/tab result: translation, word tokens, word alignment (target x source, rows
        sum to 1), n-best list with scores, decode milliseconds, and a notice if truncated."""
        t0 = time.perf_counter()
        if not isinstance(text, str):
            raise ValueError("the input must be text")
        problem = not_text(text)
        if problem:
            raise ValueError(problem)
        chunks, notice = split_input(text)
        result = {"translation": "", "source_tokens": [], "target_tokens": [], "alignment": [],
                  "nbest": [], "ms": 0.0}
        if notice:
            result["notice"] = notice
        if not chunks:
            return result
        src_ids = [bpe.encode(self.src_tok, c)[:MAX_PIECES] or [bpe.UNK] for c in chunks]
        hyps = self.decode_ids(src_ids, beam=beam, n_best=n_best, alpha=alpha)
        blocks, texts, score = [], [], 0.0
        for ids, hs in zip(src_ids, hyps):
            best = hs[0]
            texts.append(bpe.decode(self.tgt_tok, best.tokens))
            score += best.score
            blocks.append(self.word_alignment(ids, best))
        result["translation"] = " ".join(t for t in texts if t)
        result["source_tokens"] = [w for b in blocks for w in b[0]]
        result["target_tokens"] = [w for b in blocks for w in b[1]]
        result["alignment"] = _block_diag([b[2] for b in blocks]).round(4).tolist()
        lists = [[{"text": bpe.decode(self.tgt_tok, h.tokens), "score": round(h.score, 4)} for h in hs]
                 for hs in hyps]
        if len(chunks) == 1:
            result["nbest"] = lists[0]
        else:       # one list per sentence; "nbest" stays the whole text's best (its scores summed)
            result["nbest"] = [{"text": result["translation"], "score": round(score, 4)}]
            result["sentences"] = [{"source": c, "nbest": n} for c, n in zip(chunks, lists)]
        result["ms"] = round((time.perf_counter() - t0) * 1000.0, 2)
        return result

    def word_alignment(self, src_ids: list, hyp) -> tuple:
        """(source words, target words, matrix target_words x source_words): attention of the
        hypothesis, summed over the pieces of a source word and averaged over the pieces of a
        target word, so each row still sums to 1."""
        src_words, src_idx = bpe.words_of(bpe.pieces(self.src_tok, src_ids))
        tgt_words, tgt_idx = bpe.words_of(bpe.pieces(self.tgt_tok, hyp.tokens))
        A = np.zeros((len(tgt_words), len(src_words)))
        if hyp.attention is None or not tgt_words:
            return src_words, tgt_words, A
        att = hyp.attention.numpy()[: len(hyp.tokens), : len(src_ids)]            # (T, S) pieces
        cols = np.zeros((att.shape[0], len(src_words)))
        np.add.at(cols.T, np.array(src_idx), att.T)                               # sum source pieces
        counts = np.zeros(len(tgt_words))
        np.add.at(A, np.array(tgt_idx), cols)                                     # sum target pieces
        np.add.at(counts, np.array(tgt_idx), 1.0)
        A /= counts[:, None]
        A /= np.maximum(A.sum(1, keepdims=True), 1e-9)                            # guard fp error
        return src_words, tgt_words, A


_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


def split_input(text: str) -> tuple:
    """Sentences (<= MAX_CHUNK_WORDS words each) of at most MAX_WORDS words in all, and a notice
    when words were dropped. Control characters are removed; emoji and the like stay (they
    become <unk> pieces)."""
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    words_total = text.split()
    notice = ""
    if len(words_total) > MAX_WORDS:
        notice = f"translated the first {MAX_WORDS} of {len(words_total)} words"
        text = " ".join(words_total[:MAX_WORDS])
    chunks = []
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        words = sentence.split()
        for i in range(0, len(words), MAX_CHUNK_WORDS):
            chunks.append(" ".join(words[i:i + MAX_CHUNK_WORDS]))
    return [c for c in chunks if c], notice


def _block_diag(mats: list) -> np.ndarray:
    rows, cols = sum(m.shape[0] for m in mats), sum(m.shape[1] for m in mats)
    out = np.zeros((rows, cols))
    r = c = 0
    for m in mats:
        out[r:r + m.shape[0], c:c + m.shape[1]] = m
        r, c = r + m.shape[0], c + m.shape[1]
    return out
