"""`seqlab train|eval|predict|bench typeahead`: the CLI contract of the type-ahead demo.

    seqlab train typeahead --arch kn|lstm|gcnn [--corpus sotu|moby-dick|FILE.txt] [...]
    seqlab eval typeahead --json              {"kn": {"ppl": ..}, "lstm": .., "gcnn": .., "tokens": N}
    seqlab predict typeahead --model kn --json "The State of the"
    seqlab bench typeahead --json             per-keystroke latency of each model, p50/p95
"""
from __future__ import annotations

import argparse
import math
import os
import shlex
import time
from pathlib import Path
from typing import Iterator

from engine import bench as benchmod
from engine import cards, paths
from engine.arg_types import count, fraction, int_between, path, positive_float, positive_int, vocabulary_size
from engine.runtime import Progress
from engine.text_input import not_text
from engine.typeahead import data as D
from engine.typeahead import models as M
from engine.typeahead import vocab as V

KINDS = ("kn", "lstm", "gcnn")
MAX_INPUT_CHARS = 1_000_000

# Defaults of `seqlab train typeahead` (and the tab's training panel), per architecture.
TRAIN_DEFAULTS = {
    "lstm": {"steps": 2500, "batch_size": 32, "seq_len": 64, "lr": 3e-3, "dropout": 0.1},
    "gcnn": {"steps": 1500, "batch_size": 16, "seq_len": 128, "lr": 2e-3, "dropout": 0.1},
}


class TypeaheadTask:
    name = "typeahead"
    title = "Type-ahead"
    default_model = "lstm"

    # -- arguments ------------------------------------------------------------------------------
    def add_arguments(self, command: str, parser: argparse.ArgumentParser) -> None:
        if command == "train":
            parser.add_argument("--arch", choices=KINDS, default="lstm", help="which model to train")
            parser.add_argument("--corpus", default="sotu", type=path, help="sotu, moby-dick or a path to a UTF-8 .txt")
            parser.add_argument("--name", default=None,
                                help="model name (default: the arch, or ARCH-my-FILE for your own file)")
            parser.add_argument("--vocab-size", type=vocabulary_size, default=16000, help="words incl. <unk>")
            parser.add_argument("--min-count", type=positive_int, default=3, help="rarer words become <unk>")
            parser.add_argument("--order", type=int_between(1, 5), default=5, help="n-gram order (kn)")
            parser.add_argument("--prune", type=positive_int, default=2,
                                help="kn: drop n-grams (order >= 2) seen fewer times (1 = keep all)")
            parser.add_argument("--arpa", default=None, type=path, help="kn: also write the model in ARPA format here")
            parser.add_argument("--steps", type=positive_int, default=None, help="optimizer steps")
            parser.add_argument("--batch-size", type=positive_int, default=None)
            parser.add_argument("--seq-len", type=positive_int, default=None)
            parser.add_argument("--lr", type=positive_float, default=None)
            parser.add_argument("--dropout", type=fraction, default=None)
            parser.add_argument("--n-embd", type=positive_int, default=256)
            parser.add_argument("--n-hidden", type=positive_int, default=256, help="lstm cell size")
            parser.add_argument("--n-layer", type=positive_int, default=None, help="lstm: 1, gcnn: 6 blocks")
            parser.add_argument("--kernel", type=positive_int, default=4, help="gcnn convolution width")
            parser.add_argument("--eval-tokens", type=count, default=0,
                                help="stop scoring held-out words once this many are scored (in whole "
                                     "256-word windows, so a few more; 0 = all)")
            parser.add_argument("--seed", type=int, default=1337)
        if command in ("eval", "bench"):
            # --model M compares one model; --models several; neither: the three shipped ones
            parser.set_defaults(model=None)
            for action in parser._actions:       # its help: the default is no longer one model
                if action.dest == "model":
                    action.help = "one model: a name, or the path of its .safetensors file"
            parser.add_argument("--models", default=None,
                                help="comma-separated model names (default: --model, or kn,lstm,gcnn)")
        if command == "eval":
            parser.add_argument("--max-tokens", type=count, default=0, help="score at most this many words")
        if command == "predict":
            parser.add_argument("--order", type=int_between(1, 5), default=None,
                                help="kn: use only this n-gram order (1-5)")
            parser.add_argument("--temperature", type=positive_float, default=1.0)
            parser.add_argument("--k", type=positive_int, default=5, help="how many next words")
        if command == "bench":
            parser.add_argument("--chars", type=positive_int, default=1500, help="keystrokes replayed per model")

    # -- train ----------------------------------------------------------------------------------
    def train(self, args) -> Iterator[Progress]:
        return train(args)

    def evaluate(self, args) -> dict:
        return evaluate(model_names(args), max_tokens=args.max_tokens or None)

    def predict(self, args, inputs: list[str]) -> Iterator[dict]:
        from engine.typeahead.complete import TypeAhead
        if not math.isfinite(args.temperature) or args.temperature <= 0:
            raise ValueError("--temperature must be a positive number")
        predictor = M.load(args.model)
        if args.order is not None and M.KINDS.get(predictor.card.arch) != "kn":
            raise ValueError(f"--order chooses the n-gram order of a kn model; {args.model} is "
                             f"{predictor.card.arch}")
        ta = TypeAhead(predictor)
        for text in inputs:
            try:
                check_text(text)
            except ValueError as exc:            # this input only: the others still get answers
                yield {"error": str(exc)}
                continue
            out = ta.predict(text, k=max(1, min(args.k, 50)), order=args.order,
                             temperature=args.temperature)
            out.pop("ghost", None)
            yield out

    def bench(self, args) -> dict:
        return bench(model_names(args), args.chars)


def model_names(args) -> list[str]:
    """The models `eval`/`bench` compare: --models, else --model, else the three shipped ones."""
    if args.models is not None and args.model:
        raise ValueError("give --model or --models, not both")
    if args.models is not None:
        names = [n.strip() for n in args.models.split(",") if n.strip()]
        if not names:
            raise ValueError("--models names no model: give comma-separated names, e.g. kn,lstm")
        return names
    return [args.model] if args.model else ["kn", "lstm", "gcnn"]


def check_arpa_path(path: str, corpus: str) -> None:
    p = Path(path)
    if p.is_dir() or not p.parent.is_dir():
        raise ValueError(f"--arpa {path}: " + ("a folder, not a file name" if p.is_dir()
                                               else f"no folder {p.parent}"))
    if p.exists() and Path(corpus).exists() and p.resolve() == Path(corpus).resolve():
        raise ValueError(f"--arpa {path} is the training text: it would be overwritten")
    real = Path(os.path.realpath(p))            # (a symlink: its target is replaced)
    if not (real.exists() and not real.is_file()):          # a pipe or a device is written as it is
        cards.check_folder(real.parent, what=f"the ARPA file {p.name}")   # before the training, not after


def check_order(order) -> None:
    if order is not None and not 1 <= order <= 5:
        raise ValueError("--order must be between 1 and 5")


def check_text(text: str) -> None:
    if len(text) > MAX_INPUT_CHARS:
        raise ValueError(f"input is {len(text):,} characters; the limit is {MAX_INPUT_CHARS:,}")
    problem = not_text(text)
    if problem:
        raise ValueError(problem)


# -- training -----------------------------------------------------------------------------------

def train_namespace(**overrides) -> argparse.Namespace:
    """The `seqlab train typeahead` defaults as a namespace (the tab starts from these)."""
    from engine.cli import task_parser
    ns = task_parser("train", TASK).parse_args([])
    for k, v in overrides.items():
        setattr(ns, k, v)
    return ns


def _option(args, key):
    value = getattr(args, key, None)
    return TRAIN_DEFAULTS[args.arch][key] if value is None else value


def train_command(args) -> str:
    # your own file by its absolute path, quoted: the command reproduces from any folder
    corpus = args.corpus if args.corpus in D.DATASETS else shlex.quote(os.path.abspath(args.corpus))
    parts = ["seqlab train typeahead", f"--arch {args.arch}", f"--corpus {corpus}",
             f"--vocab-size {args.vocab_size}", f"--min-count {args.min_count}"]
    if args.arch == "kn":
        parts += [f"--order {args.order}", f"--prune {args.prune}"]
    else:
        for key in ("steps", "batch_size", "seq_len", "lr", "dropout"):
            parts.append(f"--{key.replace('_', '-')} {_option(args, key)}")
        parts += [f"--n-embd {args.n_embd}"]
        if args.arch == "lstm":
            parts += [f"--n-hidden {args.n_hidden}", f"--n-layer {args.n_layer or 1}"]
        else:
            parts += [f"--n-layer {args.n_layer or 6}", f"--kernel {args.kernel}"]
        parts += [f"--seed {args.seed}"]
    if args.name:
        parts.append(f"--name {args.name}")
    if getattr(args, "out", None):
        parts.append(f"--out {args.out}")
    return " ".join(parts)


def default_name(arch: str, corpus: str) -> str:
    """The architecture (a built-in corpus: what the shipped models' cards reproduce), or for the
    user's file "lstm-my-<file>", so that it never replaces or shadows a shipped model."""
    return arch if corpus in D.DATASETS else f"{arch}-{cards.own_file_name(corpus)}"


def train(args):
    """Generator: progress events; returns the saved ModelCard. Saves only at the end."""
    import torch
    from engine.typeahead import train as T
    from engine.typeahead.gcnn import GCNNConfig, GCNNLM
    from engine.typeahead.lstm import LSTMConfig, LSTMLM
    from engine.typeahead.ngram import KNConfig, KneserNey

    if args.arch == "kn":
        check_order(args.order)
    t0 = time.monotonic()
    out = cards.check_folder(args.out if getattr(args, "out", None) else paths.user_models() / M.TASK)
    if getattr(args, "arpa", None):       # (both checked before, not after, the training)
        check_arpa_path(args.arpa, args.corpus)
    corpus = D.load(args.corpus)          # bad files fail here, before any progress line
    yield Progress(0, 1, message=f"read {args.corpus}: {corpus.describe()['train_tokens']:,} training words")
    vocab = V.Vocab.build(corpus.train, args.vocab_size, args.min_count)
    train_ids = [vocab.encode(d) for d in corpus.train]
    test_ids = [vocab.encode(d) for d in corpus.test]
    name = args.name or default_name(args.arch, args.corpus)
    data = dict(corpus.describe(), vocab=len(vocab))
    device = "cpu"
    if args.arch == "kn":
        yield Progress(0, 3, message=f"counting n-grams up to order {args.order}")
        cfg = KNConfig(order=args.order, min_count=args.prune, vocab_size=len(vocab))
        model = KneserNey.fit(train_ids, cfg)
        yield Progress(2, 3, message="scoring the held-out text")
        nll = n = 0
        for i, doc in enumerate(test_ids):
            a, b = model.nll(doc)
            nll, n = nll + a, n + b
        metrics = {"test_ppl": round(math.exp(nll / max(n, 1)), 2), "test_tokens": n,
                   "ngrams": model.n_entries()}
        if getattr(args, "arpa", None):
            yield Progress(2, 3, message=f"writing {args.arpa}")
            model.write_arpa(args.arpa, vocab.itos)
        predictor = M.KNPredictor(model, vocab)
        yield Progress(3, 3, loss=nll / max(n, 1), metrics={"ppl": metrics["test_ppl"]},
                       checkpoint=predictor)
    else:
        torch.manual_seed(args.seed)
        torch.set_num_threads(max(1, torch.get_num_threads()))
        steps, bs, sl = _option(args, "steps"), _option(args, "batch_size"), _option(args, "seq_len")
        lr, dropout = _option(args, "lr"), _option(args, "dropout")
        cutoffs = [c for c in (1000, 4000) if c < len(vocab) - 1]
        if args.arch == "lstm":
            cfg = LSTMConfig(vocab_size=len(vocab), n_embd=args.n_embd, n_hidden=args.n_hidden,
                             n_layer=args.n_layer or 1, dropout=dropout, cutoffs=tuple(cutoffs))
            model = LSTMLM(cfg)
        else:
            cfg = GCNNConfig(vocab_size=len(vocab), n_embd=args.n_embd, n_layer=args.n_layer or 6,
                             kernel=args.kernel, dropout=dropout, cutoffs=tuple(cutoffs))
            model = GCNNLM(cfg)
        tcfg = T.TrainConfig(steps=steps, batch_size=bs, seq_len=sl, lr=lr, seed=args.seed,
                             warmup=min(100, max(1, steps // 10)))
        gen = T.train(model, train_ids, test_ids, tcfg, eval_tokens=args.eval_tokens or None)
        while True:
            try:
                event = next(gen)
            except StopIteration as stop:
                final, metrics = stop.value
                break
            if event.checkpoint is not None:
                event.checkpoint = M.make_predictor(event.checkpoint, vocab)
            yield event
        model = final
    card = cards.ModelCard(task=M.TASK, name=name, arch=M.ARCHS[args.arch],
                           config=M.config_dict(cfg), metrics=metrics, data=data,
                           train_command=train_command(args), seconds=round(time.monotonic() - t0, 1),
                           device=device)
    yield Progress(1, 1, message=f"saving {name}")      # the last point where a cancel keeps the old model
    card = M.save(out, model, vocab, card)
    return card


# -- evaluation ---------------------------------------------------------------------------------

def evaluate(names: list[str], max_tokens=None) -> dict:
    """Held-out perplexity of each model, on the same words with the same vocabulary."""
    from engine.typeahead import train as T
    preds = {n: M.load(n) for n in names}
    first = next(iter(preds.values()))
    for n, p in preds.items():
        if p.vocab.itos != first.vocab.itos:
            raise ValueError(f"model {n!r} uses a different vocabulary than {names[0]!r}; "
                             "perplexities would not be comparable")
        if p.card.data.get("source") != first.card.data.get("source"):
            raise ValueError(f"model {n!r} was trained on {p.card.data.get('source')}, "
                             f"{names[0]!r} on {first.card.data.get('source')}")
    corpus = D.load(first.card.data.get("source", "sotu"))
    docs = [first.vocab.encode(d) for d in corpus.test]
    if max_tokens:
        docs = _truncate(docs, max_tokens)
    out: dict = {}
    for n, p in preds.items():
        t0 = time.perf_counter()
        if p.kind == "kn":
            nll = cnt = 0
            for d in docs:
                a, b = p.model.nll(d)
                nll, cnt = nll + a, cnt + b
        else:
            nll, cnt = T.evaluate(p.model, docs)
        out[n] = {"ppl": round(math.exp(nll / max(cnt, 1)), 2), "params": p.card.params,
                  "bytes": p.card.bytes, "arch": p.card.arch, "seconds": round(time.perf_counter() - t0, 1)}
        out["tokens"] = cnt
    out["source"] = corpus.name
    out["split"] = corpus.rule
    return out


def _truncate(docs, max_tokens):
    out, n = [], 0
    for d in docs:
        if n >= max_tokens:
            break
        out.append(d[: max_tokens - n + 1])
        n += len(out[-1]) - 1
    return out


# -- bench --------------------------------------------------------------------------------------

def bench(names: list[str], chars: int = 1500) -> dict:
    """Replay held-out text one keystroke at a time through each model (as the tab does)."""
    import torch
    from engine.typeahead.complete import TypeAhead
    torch.set_num_threads(1)
    preds = {n: M.load(n) for n in names}
    corpus = D.load(next(iter(preds.values())).card.data.get("source", "sotu"))
    text = V.detokenize(corpus.test[-1][1:])[:chars]
    out: dict = {"keystrokes": len(text), "text": f"first {len(text)} characters of {corpus.test_ids[-1]}",
                 "threads": 1}
    together = [0.0] * len(text)
    for n, p in preds.items():
        ta = TypeAhead(p)
        ta.predict("")                                     # warm-up
        times = []
        for i in range(1, len(text) + 1):
            t0 = time.perf_counter()
            ta.predict(text[:i])
            times.append(time.perf_counter() - t0)
        for i, t in enumerate(times):
            together[i] += t
        out[n] = benchmod.summarize_ms(times)
    out["all"] = benchmod.summarize_ms(together)
    return out


TASK = TypeaheadTask()
