"""`seqlab train|eval|predict|bench translate`: the CLI face of the translation demo."""
from __future__ import annotations

import dataclasses
import os
import shlex
import threading
import time

from engine import bench as benchmark
from engine import cards, paths
from engine.arg_types import count, fraction, int_between, path, positive_float, positive_int
from engine.runtime import run_to_end
from engine.translate import data
from engine.translate.train import TrainConfig, corpus_bleu, train as train_loop

_TRAIN_FLAGS = [  # (flag, TrainConfig field, type)
    ("--pair", "pair", str), ("--own-file", "own_file", path), ("--direction", "direction", str),
    ("--name", "name", str), ("--attention", "attention", str), ("--epochs", "epochs", positive_int),
    ("--batch-size", "batch_size", positive_int), ("--lr", "lr", positive_float),
    ("--hidden", "hidden", positive_int), ("--emb", "emb", positive_int),
    ("--src-vocab", "src_vocab", positive_int), ("--tgt-vocab", "tgt_vocab", positive_int),
    ("--max-len", "max_len", positive_int), ("--dropout", "dropout", fraction), ("--limit", "limit", count),
    ("--eval-every", "eval_every", positive_int), ("--seed", "seed", int),
]
_cache: dict = {}
_cache_lock = threading.Lock()


def load_translator(name: str, device: str = "cpu"):
    """A Translator, loaded once per (name, device) per process."""
    from engine.translate.translator import Translator
    with _cache_lock:
        key = (name, device)
        if key not in _cache:
            _cache[key] = Translator.load(name, device)
        return _cache[key]


def config_from_args(args) -> TrainConfig:
    cfg = TrainConfig()
    for _, field, _ in _TRAIN_FLAGS:
        value = getattr(args, field, None)
        if value is not None:
            setattr(cfg, field, value)
    if getattr(args, "no_test_bleu", False):
        cfg.test_bleu = False
    return cfg


def train_command(cfg: TrainConfig, out) -> str:
    """The exact `seqlab train translate ...` command that reproduces cfg (non-defaults only)."""
    default = TrainConfig()
    parts = ["seqlab", "train", "translate"]
    for flag, field, _ in _TRAIN_FLAGS:
        if getattr(cfg, field) != getattr(default, field):
            parts += [flag, str(getattr(cfg, field))]
    if not cfg.test_bleu:
        parts.append("--no-test-bleu")
    if out:
        parts += ["--out", str(out)]
    return " ".join(shlex.quote(p) for p in parts)


class TranslateTask:
    name = "translate"
    title = "Translation"
    default_model = "it-en"

    def add_arguments(self, command, parser):
        if command == "train":
            for flag, field, typ in _TRAIN_FLAGS:
                extra = {"choices": list(data.PAIRS)} if field == "pair" else {}
                if field == "attention":
                    extra = {"choices": ["bahdanau", "luong-dot", "luong-general"]}
                if field == "direction":
                    extra = {"choices": ["to-en", "from-en"]}
                default = getattr(TrainConfig(), field)
                shown = {"name": "the pair, + the attention when not bahdanau; my-FILE for --own-file",
                         "own_file": "none: the built-in pair"}.get(field, default)
                parser.add_argument(flag, dest=field, type=typ, default=None,
                                    help=f"(default: {shown})", **extra)
            parser.add_argument("--no-test-bleu", action="store_true",
                                help="skip BLEU on the test split at the end")
            parser.add_argument("--threads", type=count, default=0, help="torch CPU threads (0: torch's choice)")
        if command in ("predict", "bench"):
            parser.add_argument("--beam", type=int_between(1, 10), default=5, help="beam size 1-10 (default 5)")
        if command == "eval":
            parser.add_argument("--beam", type=int_between(1, 10), default=None,
                                help="beam size 1-10 (default: 1 and 5, the card's two figures)")
        if command == "predict":
            parser.add_argument("--nbest", type=positive_int, default=5, help="n-best list length")
        if command == "eval":
            parser.add_argument("--limit", type=count, default=0, help="only the first N test pairs")
        if command == "bench":
            parser.add_argument("--n", type=positive_int, default=30, help="sentences timed per setting")
            parser.add_argument("--threads", type=count, default=0, help="torch CPU threads (0: torch's choice)")

    # -- train -------------------------------------------------------------------------------
    def train(self, args):
        import torch
        if getattr(args, "threads", 0):
            torch.set_num_threads(args.threads)
        cfg = config_from_args(args)
        if cfg.own_file:                  # the card's command reproduces from any folder
            cfg = dataclasses.replace(cfg, own_file=os.path.abspath(cfg.own_file))
        out = cards.check_folder(args.out or (paths.user_models() / "translate"))   # before, not after, the work
        return train_loop(cfg, out, device=args.device or "cpu", command=train_command(cfg, args.out))

    # -- eval --------------------------------------------------------------------------------
    def evaluate(self, args):
        tr = load_translator(args.model, args.device or "cpu")
        pairs = self._test_pairs(tr)
        if args.limit:
            pairs = pairs[: args.limit]
        out = {}
        for beam in (1, 5) if args.beam is None else (args.beam,):   # (1-10: int_between)
            t0 = time.perf_counter()
            out[f"bleu_beam{beam}"] = run_to_end(corpus_bleu(tr, pairs, beam))
            out[f"seconds_beam{beam}"] = round(time.perf_counter() - t0, 2)
        out.update({"n": len(pairs), "split": "test", "model": args.model})
        return out

    @staticmethod
    def _test_pairs(tr):
        extra = tr.card.extra if tr.card else {}
        if extra.get("pair"):
            return data.bible_pairs(extra["pair"]).test
        own = extra.get("train_config", {}).get("own_file")
        if own:
            return data.read_tsv(own, extra.get("direction", "to-en")).test
        raise ValueError("this model's card does not say which data it was trained on")

    # -- predict -----------------------------------------------------------------------------
    def predict(self, args, inputs):
        beam = args.beam                                 # (1-10: its argparse type checked it)
        tr = load_translator(args.model, args.device or "cpu")
        for text in inputs:
            if isinstance(text, str) and not text.strip():
                yield {"error": "empty text: nothing to translate"}
                continue
            try:
                yield tr.translate(text, beam=beam, n_best=max(1, min(args.nbest, beam)))
            except ValueError as exc:            # this input only: the others still get answers
                yield {"error": str(exc)}

    # -- bench -------------------------------------------------------------------------------
    def bench(self, args):
        import torch
        if args.threads:
            torch.set_num_threads(args.threads)
        tr = load_translator(args.model, args.device or "cpu")
        from engine.translate import bpe
        pairs = self._test_pairs(tr)
        sized = [p.src for p in pairs if 27 <= len(bpe.encode(tr.src_tok, p.src)) <= 33]
        sentences = (sized * 3)[: args.n]
        out = {"model": args.model, "device": str(tr.device), "threads": torch.get_num_threads(),
               "source_pieces": "27-33 (test verses)"}
        for beam in (1, 5):
            out[f"decode_beam{beam}"] = benchmark.time_each(
                lambda s, b=beam: tr.translate(s, beam=b, n_best=1), sentences)
        batch = [p.src for p in pairs[:128]]
        for beam in (1, 5):
            t0 = time.perf_counter()
            for i in range(0, len(batch), 32):
                tr.translate_batch(batch[i:i + 32], beam=beam)
            out[f"batch32_beam{beam}_sentences_per_s"] = round(len(batch) / (time.perf_counter() - t0), 1)
        out["reference"] = "beam 1 (greedy) is the reference for beam 5, same run"
        return out


TASK = TranslateTask()
