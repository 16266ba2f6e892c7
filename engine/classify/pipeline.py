"""What the CLI and the tab both call: load a model, train one from a data set and save it,
predict with explanations, evaluate, compress. No Qt, no argparse."""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
import os
import shlex
import time
from dataclasses import asdict, dataclass

import torch

from engine import cards, paths
from engine.classify import data as datasets
from engine.classify.calibrate import calibrate
from engine.classify.compress import CompressConfig, compress, size_bytes
from engine.classify.dictionary import Dictionary
from engine.classify.label_tree import TREES, build_tree, tree_classes
from engine.classify.losses import LOSSES
from engine.classify.metrics import evaluate_probs
from engine.classify.model import MAX_CHARS, FastText, FastTextConfig
from engine.classify.trainer import Encoded, TrainConfig, accuracy, train
from engine.runtime import Progress
from engine.text_input import not_text

TASK = "classify"
MAX_EXPLAIN = 400            # contributions listed per prediction (a 1 MB paste has ~200k)


@dataclass
class Options:
    """Everything `seqlab train classify` accepts (names match the CLI flags)."""
    data: str = "sentiment"     # data set name or a file path
    name: str = ""              # model name (default: the data set's name)
    dim: int = 10
    epochs: int = 10
    lr: float = 0.5
    word_ngrams: int = 2
    bucket: int = 200_000
    minn: int = 0
    maxn: int = 0
    loss: str = "softmax"       # softmax | hs | hs2 | ova (losses.py)
    hs_tree: str = "huffman"    # hs and hs2: "huffman" | "similarity" (label_tree.py)
    min_count: int = 1
    threads: int = 1
    batch: int = 64
    shared_rows: str = "mean"   # "mean" | "sum": see TrainConfig
    seed: int = 0
    calibrate: bool = False     # scale the output layer to fit the validation split (calibrate.py)
    half: bool = False          # store the input matrix as float16 (halves the file)
    out: str | None = None      # folder; default the user's models folder

    def command(self) -> str:
        """The exact `seqlab train` command that reproduces this model."""
        parts = ["seqlab", "train", TASK]
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "out" or v == f.default:
                continue
            flag = "--" + f.name.replace("_", "-")
            parts += [flag] if isinstance(v, bool) else [flag, str(v)]
        if self.out:
            parts += ["--out", self.out]
        return " ".join(shlex.quote(p) for p in parts)


def model_name(data: str, loss: str = "softmax", hs_tree: str = "huffman", minn: int = 0, maxn: int = 0) -> str:
    """A trained model's default name: the data set (a file: "my-" and its name without
    extension, so that a file called sentiment.csv does not shadow the shipped model), then the
    loss unless softmax (and a similarity tree), then the character n-grams if any, so that
    models trained on one set in different ways sit side by side instead of replacing each other."""
    name = data if data in datasets.DATASETS else cards.own_file_name(data)
    if loss != "softmax":
        name += f"-{loss}" + ("-similarity" if loss in ("hs", "hs2") and hs_tree == "similarity" else "")
    if maxn > 0:
        name += f"-chars{minn}-{maxn}"
    return name


def load(name: str) -> FastText:
    """A saved model by name (user models first, then shipped ones); ModelLoadError if unusable."""
    path = cards.find_model(TASK, name)
    tensors, card = cards.load_model(path)
    try:
        return FastText.from_tensors(tensors, card.config["model"], card.extra["dictionary"])
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
        raise cards.ModelLoadError(f"{path.name} is not a usable classify model ({exc})") from None


def load_with_card(name: str):
    path = cards.find_model(TASK, name)
    return load(name), cards.read_card(path)


def check_options(opt: Options) -> None:
    """Settings that cannot train a model, refused before any data is read (each in one line)."""
    if opt.loss not in LOSSES:
        raise ValueError(f"unknown loss {opt.loss!r}; use {', '.join(LOSSES)}")
    if opt.hs_tree not in TREES:
        raise ValueError(f"unknown label tree {opt.hs_tree!r}; use {' or '.join(TREES)}")
    if opt.dim < 1 or opt.bucket < 1 or opt.word_ngrams < 1:
        raise ValueError("dim, bucket and word-ngrams must be at least 1")
    if opt.epochs < 1 or opt.batch < 1 or opt.threads < 1 or not (math.isfinite(opt.lr) and opt.lr > 0):
        raise ValueError("epochs, batch and threads must be at least 1, and lr a positive number")
    if opt.maxn and not 1 <= opt.minn <= opt.maxn:
        raise ValueError(f"character n-grams need 1 <= minn <= maxn (got minn {opt.minn}, maxn {opt.maxn}); "
                         "maxn 0 means none")
    if opt.calibrate and opt.loss == "ova":
        raise ValueError("--calibrate needs a single-label loss (softmax, hs or hs2), not ova")
    # the hashed rows alone (float32); past the machine's memory the OS would kill the whole app
    needed, memory = opt.bucket * opt.dim * 4, _physical_memory()
    if memory and needed > 0.8 * memory:
        raise ValueError(f"the input matrix ({opt.bucket:,} hashed rows × dim {opt.dim:,} = {needed / 2**30:.1f} GB) "
                         f"does not fit in memory ({memory / 2**30:.1f} GB): lower --dim or --bucket")


def _physical_memory() -> int:
    """Bytes of RAM, or 0 where the OS does not say (os.sysconf is POSIX only)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 0


def train_model(opt: Options):
    """Generator of Progress; trains on opt.data and saves weights + card; returns the card.
    Nothing is written until training completes, so a cancelled run keeps the previous model."""
    t0 = time.perf_counter()
    check_options(opt)
    if datasets.names_a_file(opt.data):    # the card (and `eval`) must find the file from anywhere
        opt = dataclasses.replace(opt, data=os.path.abspath(opt.data))
    out = cards.check_folder(opt.out or (paths.user_models() / TASK))
    ds = datasets.load(opt.data)
    if len(ds.train) == 0:
        raise ValueError(f"{opt.data}: no training examples")
    cfg = FastTextConfig(dim=opt.dim, word_ngrams=opt.word_ngrams, bucket=opt.bucket, minn=opt.minn,
                         maxn=opt.maxn, loss=opt.loss, hs_tree=opt.hs_tree, min_count=opt.min_count)
    if opt.calibrate and len(ds.valid) == 0:
        raise ValueError(f"{opt.data}: no validation texts to calibrate on")
    try:
        model, train_set = setup_training(ds.train, cfg, opt.seed)
    except (RuntimeError, MemoryError) as exc:
        if "alloc" not in str(exc) and not isinstance(exc, MemoryError):
            raise
        raise ValueError(f"the input matrix ({cfg.bucket:,} hashed rows plus the vocabulary, dim {cfg.dim:,}) "
                         "does not fit in memory: lower --dim or --bucket") from None
    d = model.dict
    if len(d.labels) < 2:
        raise ValueError(f"{opt.data} has only {len(d.labels)} label(s): a classifier needs at least 2")
    with gc_paused():
        valid = Encoded.make(model, ds.valid.texts, d.label_ids(ds.valid.labels)) if len(ds.valid) else None
    tcfg = TrainConfig(epochs=opt.epochs, lr=opt.lr, threads=opt.threads, batch=opt.batch, seed=opt.seed,
                       shared_rows=opt.shared_rows)
    stats = yield from train(model, train_set, tcfg, valid)
    calibration = None
    if opt.calibrate:
        before = evaluate_split(model, ds.test)["accuracy"]
        calibration = {**calibrate(model, valid), "accuracy_before": before}
    metrics = evaluate_split(model, ds.test)
    metrics = {"accuracy": metrics["accuracy"], "n_test": metrics["n"],
               "valid_accuracy": round(accuracy(model, valid), 4) if valid else None,
               "train_seconds": round(stats["seconds"], 3)}
    if calibration:
        metrics["calibration"] = calibration
    name = opt.name or model_name(opt.data, opt.loss, opt.hs_tree, opt.minn, opt.maxn)
    card = cards.ModelCard(task=TASK, name=name, arch="fasttext", config={
        "model": asdict(cfg), "train": asdict(tcfg)}, metrics=metrics, data={"dataset": opt.data, **ds.source},
        train_command=Options(**{**asdict(opt), "name": name}).command(),
        seconds=round(time.perf_counter() - t0, 2), device="cpu",
        extra={"dictionary": d.to_dict()})
    yield Progress(1, 1, message=f"saving {name}")      # the last point where a cancel keeps the old model
    return save(model, card, out, half=opt.half)


@contextlib.contextmanager
def gc_paused():
    """No cyclic garbage collection while building millions of token strings and lists: none
    of them form cycles, and each collection would walk them all (on the Bible set it made even
    `label_ids` several times slower). Reference counting still frees."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def setup_training(split: datasets.Split, cfg: FastTextConfig, seed: int = 0):
    """Texts -> (fresh model with its dictionary, encoded training set): everything before SGD."""
    with gc_paused():
        # (the token lists die inside this block: alive when the collector is switched back
        # on, its first pass would walk them all, 0.27 s on 148,590 texts)
        d, rows, offsets = Dictionary.build_and_encode(
            split.texts, split.labels, min_count=cfg.min_count, word_ngrams=cfg.word_ngrams,
            bucket=cfg.bucket, minn=cfg.minn, maxn=cfg.maxn, lower=cfg.lower)
        model = FastText.create(cfg, d, seed=seed)
        data = Encoded.of_rows(model, rows, offsets, d.label_ids(split.labels))
    if cfg.loss in ("hs", "hs2") and cfg.hs_tree != "huffman":      # the tree needs the encoded texts
        tree = build_tree(cfg.hs_tree, d.label_counts, data, d.nrows)
        model.set_tree(tree if cfg.loss == "hs" else tree_classes(*tree, d.label_counts))
    return model, data


def save(model: FastText, card: cards.ModelCard, out, half: bool = False) -> cards.ModelCard:
    tensors = model.tensors()
    if half and "input.weight" in tensors:
        tensors["input.weight"] = tensors["input.weight"].half()
    card.extra = {**card.extra, "dictionary": model.dict.to_dict()}
    return cards.save_model(out, tensors, card)


def evaluate_split(model: FastText, split: datasets.Split) -> dict:
    probs = model.probs_texts(split.texts) if len(split) else torch.zeros(0, len(model.labels))
    return evaluate_probs(probs, model.dict.label_ids(split.labels), model.labels)


def evaluate_on(model: FastText, data: str, split: str = "test") -> dict:
    """Accuracy of `model` on another data set's split (domain transfer: a model trained on
    movie reviews, tested on amazon or tweets). ValueError when the two share no label."""
    texts = getattr(datasets.load(data), split)
    if len(texts) == 0:                      # (a small file: every line went to training)
        raise ValueError(f"the {split} split of {os.path.basename(data)} has no texts: nothing to measure")
    theirs = {label for labels in texts.labels for label in labels}
    if theirs and not theirs & set(model.labels):
        raise ValueError(f"{data} has none of the model's labels ({', '.join(model.labels[:5])}"
                         f"{', …' if len(model.labels) > 5 else ''}): nothing to measure")
    result = evaluate_split(model, texts)
    unknown = sum(1 for labels in texts.labels if not set(labels) & set(model.labels))
    return {"accuracy": result["accuracy"], "n": result["n"], "split": split, "data": data,
            "recall_at_1": result["recall_at_1"], "f1": result["f1"],
            # texts whose labels the model cannot predict: they count as errors
            "unknown_label_texts": unknown}


def predict(model: FastText, text: str, k: int = 5) -> dict:
    """One JSON-able prediction: label, probs (top k), contributions (n-gram -> weight)."""
    problem = not_text(text)
    if problem:
        return {"label": None, "probs": {}, "contributions": [], "hint": problem}
    if not text.strip():
        return {"label": None, "probs": {}, "contributions": [], "hint": "empty text: type a sentence to classify"}
    out = {}
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        out["notice"] = f"text truncated to its first {MAX_CHARS:,} characters"
    top = model.predict(text, k=max(k, 1))
    label = model.labels.index(top[0][0])
    contrib = first_of_each_kind(model.explain(text, label), MAX_EXPLAIN)
    return {"label": top[0][0], "probs": {l: round(p, 4) for l, p in top},
            "contributions": [{"ngram": n, "weight": round(w, 4)} for n, w in contrib], **out}


def first_of_each_kind(contrib: list, limit: int) -> list:
    """At most `limit` contributions. explain lists every word, then every n-gram (fastText's
    order), so cutting the list once dropped all the bigrams of a text longer than 400 words:
    keep the first words and the first n-grams, half the room each when both need more."""
    if len(contrib) <= limit:
        return contrib
    words = [c for c in contrib if " " not in c[0]]
    grams = [c for c in contrib if " " in c[0]]
    n_words = min(len(words), max(limit // 2, limit - len(grams)))
    return words[:n_words] + grams[:limit - n_words]


def compress_and_score(model: FastText, cfg: CompressConfig, data_name: str, retrain_set=None) -> dict:
    """Compress `model`; returns {"model", "bytes", "accuracy"} on the data set's test split, and
    with retraining also "accuracy_before_retrain" (the same quantized input, output not yet
    retrained), so what the retraining recovers is shown, not assumed."""
    ds = datasets.load(data_name)
    if len(ds.test) == 0:
        raise ValueError(f"{os.path.basename(data_name)} has too few texts for a test split, so a compressed "
                         "model's accuracy cannot be measured")
    valid = None
    with gc_paused():
        if cfg.retrain and retrain_set is None:
            retrain_set = Encoded.make(model, ds.train.texts, model.dict.label_ids(ds.train.labels))
        if cfg.calibrate:
            valid = Encoded.make(model, ds.valid.texts, model.dict.label_ids(ds.valid.labels))
    return compress_on(model, cfg, ds.test, retrain_set, valid)


def compress_on(model: FastText, cfg: CompressConfig, test: datasets.Split, retrain_set=None,
                valid=None) -> dict:
    """compress_and_score on a given test split, (with cfg.retrain) encoded training set and
    (with cfg.calibrate) encoded validation set."""
    before = {}

    def score_before(small):
        before["accuracy_before_retrain"] = evaluate_split(small, test)["accuracy"]
    small = compress(model, cfg, retrain_set, before_retrain=score_before, valid=valid)
    return {"model": small, "bytes": size_bytes(small),
            "accuracy": evaluate_split(small, test)["accuracy"], **before}


def save_compressed(small: FastText, card: cards.ModelCard, cfg: CompressConfig, accuracy: float,
                    out=None) -> cards.ModelCard:
    """Save a compressed model beside the user's models (safetensors + card), named after its
    settings (compressed_name); the card records the dense model it came from and the settings."""
    new = cards.ModelCard(task=TASK, name=compressed_name(card.name, cfg), arch="fasttext",
                          config={**card.config, "compress": asdict(cfg)},
                          metrics={"accuracy": accuracy, "bytes": size_bytes(small)},
                          data=card.data, device="cpu",   # no command reproduces it: it took two steps
                          extra={"compressed_from": card.name, "dense_train_command": card.train_command})
    return save(small, new, out or (paths.user_models() / TASK))


def compressed_name(name: str, cfg: CompressConfig) -> str:
    """"sentiment-q2-cut50k": one name per setting, so that saving another setting does not
    replace the one saved before ("<name>-q" did, silently)."""
    cut = "" if not cfg.cutoff else f"-cut{cfg.cutoff // 1000}k" if cfg.cutoff % 1000 == 0 else f"-cut{cfg.cutoff}"
    return f"{name}-q{cfg.dsub}{cut}{'-qout' if cfg.qout else ''}"


def default_threads() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))
