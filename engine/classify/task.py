"""`seqlab train|eval|predict|bench classify`: the CLI face of the fastText rebuild.

    seqlab train classify --data sentiment --epochs 10 --out assets/models/classify
    seqlab eval classify [--model sentiment] [--data vader-amazon] --json
    seqlab predict classify [--model sentiment] --json "not good" "good"   ('-' reads stdin)
    seqlab bench classify --json          seqlab vs fastText-wheel, same split, same settings
"""
from __future__ import annotations

import argparse
import dataclasses

from engine.arg_types import count, path, positive_float, positive_int
from engine.classify import pipeline
from engine.classify.data import DATASETS
from engine.classify.label_tree import TREES
from engine.classify.losses import LOSSES


def _add_train_options(p, defaults: pipeline.Options):
    p.add_argument("--data", default=defaults.data, type=path,
                   help=f"{', '.join(DATASETS)}, or a fastText/CSV file (default %(default)s)")
    p.add_argument("--dim", type=positive_int, default=defaults.dim, help="vector size (default %(default)s)")
    p.add_argument("--epochs", type=positive_int, default=defaults.epochs)
    p.add_argument("--lr", type=positive_float, default=defaults.lr, help="initial learning rate, decays linearly")
    p.add_argument("--word-ngrams", type=positive_int, default=defaults.word_ngrams, help="1 = bag of words")
    p.add_argument("--bucket", type=positive_int, default=defaults.bucket, help="hashed n-gram rows")
    p.add_argument("--loss", choices=LOSSES, default=defaults.loss,
                   help="hs: hierarchical softmax (binary tree, fastText's); hs2: two-level softmax "
                        "over sqrt(labels) classes, Goodman 2001 (default %(default)s)")
    p.add_argument("--hs-tree", choices=TREES, default=defaults.hs_tree,
                   help="hs/hs2 label tree: label counts (fastText's) or label similarity; "
                        "hs2 cuts it into classes (default %(default)s)")
    p.add_argument("--threads", type=positive_int, default=defaults.threads,
                   help="Hogwild worker processes (1: in-process, bit-for-bit reproducible)")
    p.add_argument("--batch", type=positive_int, default=defaults.batch, help="texts per sparse SGD step")
    p.add_argument("--shared-rows", choices=["mean", "sum"], default=defaults.shared_rows,
                   help="update of an input row used by several texts of a batch (default %(default)s)")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--minn", type=count, default=defaults.minn, help="shortest char n-gram (1 or more when --maxn is set)")
    p.add_argument("--maxn", type=count, default=defaults.maxn, help="longest char n-gram (0 = none)")


def _epoch_list(text: str) -> str:
    """argparse check for --hs-epochs: comma-separated positive integers."""
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return ",".join(parts)


class ClassifyTask:
    name = "classify"
    title = "Text classification"
    default_model = "sentiment"

    def add_arguments(self, command, p):
        d = pipeline.Options()
        if command == "train":
            _add_train_options(p, d)
            p.add_argument("--name", default="",
                           help="model name (default: the data set or file name, then the loss unless softmax "
                                "and the char n-grams, e.g. bible-hs)")
            p.add_argument("--min-count", type=positive_int, default=d.min_count)
            p.add_argument("--half", action="store_true", help="store the input matrix as float16")
            p.add_argument("--calibrate", action="store_true",
                           help="after training, scale the output layer to minimize the validation split's "
                                "negative log-likelihood (temperature scaling; changes hs/hs2's top-1)")
        elif command == "eval":
            p.add_argument("--data", default=None, type=path, help="data set to evaluate on (default: the model's)")
            p.add_argument("--split", choices=["test", "valid", "train"], default="test")
        elif command == "predict":
            p.add_argument("-k", "--top", type=positive_int, default=5, help="labels per prediction")
            p.add_argument("--fasttext-format", action="store_true",
                           help="print fastText's `__label__x prob` lines instead of JSON")
        elif command == "bench":
            _add_train_options(p, dataclasses.replace(d, threads=2, epochs=10))
            p.add_argument("--repeat", type=positive_int, default=3, help="timed trainings of each (median)")
            p.add_argument("--hs-data", default="bible",
                           help="many-label set(s) for softmax vs hs, comma-separated, e.g. bible,sotu ('' to skip)")
            p.add_argument("--hs-epochs", type=_epoch_list, default="5", help="epochs for softmax vs hs, comma-separated, e.g. 5,25")
            p.add_argument("--hs-only", action="store_true", help="only the softmax vs hs comparison")

    def train(self, args):
        fields = {f.name for f in dataclasses.fields(pipeline.Options)}
        opt = pipeline.Options(**{k: v for k, v in vars(args).items() if k in fields})
        return pipeline.train_model(opt)

    def evaluate(self, args):
        from engine.classify import data as datasets
        model, card = pipeline.load_with_card(args.model)
        name = args.data or card.data.get("dataset") or card.data.get("file") \
            or (args.model if args.model in datasets.DATASETS else "sentiment")
        return {**pipeline.evaluate_on(model, name, args.split), "model": args.model}

    def predict(self, args, inputs):
        if getattr(args, "fasttext_format", False) and args.json:
            raise ValueError("--fasttext-format and --json are two output formats: give one of them")
        model = pipeline.load(args.model)
        for text in inputs:
            out = pipeline.predict(model, text, k=args.top)
            if out["label"] is None:             # empty, binary, not UTF-8: said, and exit 1
                yield {"error": out["hint"], **out}
                continue
            if getattr(args, "fasttext_format", False):
                # fastText's own line (a str: the CLI prints it as is; for an input without a
                # prediction it prints an empty line, so output line i still answers input line i)
                out = " ".join(f"__label__{l} {p:.5f}" for l, p in out["probs"].items())
            yield out

    def bench(self, args):
        from engine.classify.bench import run
        return run(args)


TASK = ClassifyTask()
