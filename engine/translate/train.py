"""Training: BPE on the training split, teacher forcing with label smoothing, Adam, validation
BLEU while it trains, test BLEU at beam 1 and 5 at the end, weights + card saved once.

`train(cfg, ...)` is a generator of engine.runtime.Progress (one per optimizer step), returning
the saved ModelCard; a checkpoint Translator (an eval-mode copy) rides on each validation event
so the tab translates with the improving model. Cancelling (closing the generator) saves nothing.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Optional

import sacrebleu
import torch

from engine import cards
from engine.runtime import Progress
from engine.translate import bpe, data
from engine.translate.model import Seq2Seq, Seq2SeqConfig
from engine.translate.translator import Translator


@dataclasses.dataclass
class TrainConfig:
    pair: str = "it-en"            # Bible language pair (engine.translate.data.PAIRS)
    own_file: Optional[str] = None # or a Tatoeba/Anki TSV: English<TAB>Other<TAB>...
    direction: str = "to-en"       # for own_file: to-en (Other -> English) or from-en
    name: str = ""                 # model name; default: the pair (+ attention when not bahdanau)
    attention: str = "bahdanau"    # bahdanau | luong-dot | luong-general
    src_vocab: int = 4000          # BPE vocabulary, source side
    tgt_vocab: int = 4000          # BPE vocabulary, target side
    emb: int = 192                 # embedding size
    hidden: int = 256              # GRU size
    dropout: float = 0.2
    max_len: int = 60              # drop training pairs longer than this (pieces, either side)
    batch_size: int = 64
    epochs: int = 4
    lr: float = 2e-3               # Adam peak; cosine decay to 10 % over the run
    warmup: int = 100              # linear warm-up steps
    label_smoothing: float = 0.1
    clip: float = 1.0              # gradient norm clip (RNNs explode now and then)
    limit: int = 0                 # use only the first N training pairs (0: all) - for tests
    eval_every: int = 300          # steps between validation BLEU (+ a checkpoint)
    test_bleu: bool = True         # BLEU on the test split at beam 1 and 5 at the end
    seed: int = 0


def bleu(hyps: list, refs: list) -> float:
    """Corpus BLEU (sacrebleu, default 13a tokenization) on detokenized text."""
    return round(sacrebleu.corpus_bleu(hyps, [refs]).score, 2)


def corpus_bleu(translator: Translator, pairs: list, beam: int, batch: int = 32):
    """Generator: yields after each batch (so a long evaluation stays cancellable), returns BLEU."""
    hyps = []
    for i in range(0, len(pairs), batch):
        hyps += translator.translate_batch([p.src for p in pairs[i:i + batch]], beam=beam)
        yield i + batch
    return bleu(hyps, [p.tgt for p in pairs])


def load_corpus(cfg: TrainConfig) -> data.Corpus:
    if cfg.own_file:
        return data.read_tsv(cfg.own_file, cfg.direction)
    return data.bible_pairs(cfg.pair)


def default_name(cfg: TrainConfig) -> str:
    if cfg.name:
        return cfg.name
    base = cards.own_file_name(cfg.own_file) if cfg.own_file else cfg.pair
    return base if cfg.attention == "bahdanau" else f"{base}-{cfg.attention}"


def make_batches(pairs: list, batch_size: int, gen: torch.Generator) -> list:
    """Batches of similar source length (little padding), in a seeded random order."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    perm = torch.randperm(len(batches), generator=gen).tolist()
    return [batches[i] for i in perm]


def collate(pairs: list, idx: list, device) -> tuple:
    src = [pairs[i][0] for i in idx]
    tgt = [pairs[i][1] for i in idx]
    B, S, T = len(idx), max(map(len, src)), max(map(len, tgt)) + 1
    s = torch.full((B, S), bpe.PAD, dtype=torch.long)
    tin = torch.full((B, T), bpe.PAD, dtype=torch.long)
    tout = torch.full((B, T), bpe.PAD, dtype=torch.long)
    for i, (a, b) in enumerate(zip(src, tgt)):
        s[i, : len(a)] = torch.tensor(a)
        tin[i, : len(b) + 1] = torch.tensor([bpe.BOS] + b)       # teacher forcing input
        tout[i, : len(b) + 1] = torch.tensor(b + [bpe.EOS])      # what to predict
    lengths = torch.tensor([len(a) for a in src])
    return s.to(device), lengths, tin.to(device), tout.to(device)


def train(cfg: TrainConfig, out_dir, device: str = "cpu", command: str = ""):
    """Generator of Progress; returns the saved ModelCard."""
    t_start = time.time()
    if cfg.own_file:                       # the card (and `eval`) must find the file from anywhere
        cfg = dataclasses.replace(cfg, own_file=os.path.abspath(cfg.own_file))
    torch.manual_seed(cfg.seed)
    yield Progress(0, 1, message="reading data")
    corpus = load_corpus(cfg)
    train_pairs = corpus.train[: cfg.limit] if cfg.limit else corpus.train
    yield Progress(0, 1, message=f"training BPE on {len(train_pairs):,} pairs")
    src_tok = bpe.train_bpe([p.src for p in train_pairs], cfg.src_vocab)
    tgt_tok = bpe.train_bpe([p.tgt for p in train_pairs], cfg.tgt_vocab)
    encoded = [(bpe.encode(src_tok, p.src), bpe.encode(tgt_tok, p.tgt)) for p in train_pairs]
    encoded = [(a, b) for a, b in encoded if 0 < len(a) <= cfg.max_len and 0 < len(b) <= cfg.max_len]
    if not encoded:
        raise ValueError("no training pairs left after the length filter")

    mcfg = Seq2SeqConfig(src_vocab=src_tok.get_vocab_size(), tgt_vocab=tgt_tok.get_vocab_size(),
                         emb=cfg.emb, hidden=cfg.hidden, attention=cfg.attention, dropout=cfg.dropout)
    model = Seq2Seq(mcfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    steps_per_epoch = math.ceil(len(encoded) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    valid = corpus.valid[:200]

    def lr_at(step):
        if step < cfg.warmup:
            return cfg.lr * (step + 1) / cfg.warmup
        p = (step - cfg.warmup) / max(1, total - cfg.warmup)
        return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))

    def snapshot():
        return Translator(copy.deepcopy(model).eval(), src_tok, tgt_tok)

    step, val_bleu, smooth = 0, None, None
    for epoch in range(cfg.epochs):
        for idx in make_batches(encoded, cfg.batch_size, gen):
            model.train()
            src, lengths, tin, tout = collate(encoded, idx, device)
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            _, loss, _ = model(src, lengths, tin, tout, label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            step += 1
            smooth = loss.item() if smooth is None else 0.95 * smooth + 0.05 * loss.item()
            checkpoint = None
            if step % cfg.eval_every == 0 or step == total:
                checkpoint = snapshot()
                val_bleu = bleu(checkpoint.translate_batch([p.src for p in valid], beam=1),
                                [p.tgt for p in valid])
            metrics = {"epoch": epoch + 1}
            if val_bleu is not None:
                metrics["val_bleu"] = val_bleu
            yield Progress(step, total, loss=smooth, metrics=metrics, checkpoint=checkpoint,
                           message=f"epoch {epoch + 1}/{cfg.epochs}")

    final = snapshot()
    metrics = {"val_bleu_beam1": val_bleu, "train_pairs": len(encoded)}
    if cfg.test_bleu:
        for beam in (1, 5):
            evaluation = corpus_bleu(final, corpus.test, beam)
            try:
                while True:
                    done = next(evaluation)
                    yield Progress(total, total, loss=smooth, message=
                                   f"test BLEU at beam {beam}: {min(done, len(corpus.test))}/{len(corpus.test)}")
            except StopIteration as stop:
                metrics[f"bleu_beam{beam}"] = stop.value
        metrics["test_n"] = len(corpus.test)
    card = cards.ModelCard(
        task="translate", name=default_name(cfg), arch=f"gru-seq2seq-{cfg.attention}",
        config=dataclasses.asdict(mcfg), metrics=metrics,
        data={**corpus.source, "max_len_filter": f"training pairs with more than {cfg.max_len} "
              f"BPE pieces on either side dropped ({len(train_pairs) - len(encoded)} of {len(train_pairs)})"},
        train_command=command, seconds=round(time.time() - t_start, 1), device=str(device),
        extra={"src_tokenizer": src_tok.to_str(), "tgt_tokenizer": tgt_tok.to_str(),
               "pair": cfg.pair if not cfg.own_file else None, "direction": cfg.direction,
               "train_config": dataclasses.asdict(cfg), "weights_dtype": "float16"})
    yield Progress(total, total, loss=smooth, message=f"saving {card.name}")   # the last point where a cancel keeps the old model
    card = cards.save_model(Path(out_dir), final.tensors(half=True), card)
    return card
