"""Headless commands (no Qt): info, data, train, eval, predict, bench.

    seqlab info --json
    seqlab data list | fetch [NAME...]
    seqlab train TASK [options]             progress on stderr, weights + card written atomically
    seqlab eval TASK [--model M] --json
    seqlab predict TASK [--model M] --json INPUT...   ('-' reads inputs from stdin, one per line)
    seqlab bench TASK --json

Errors: one readable line on stderr and a non-zero exit (2: usage or task not built). Set
SEQLAB_DEBUG=1 to see the traceback of an unexpected failure.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from typing import Optional

from engine import __version__, arg_types, cards, json_text, tasks

EXIT_USAGE = 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so errors stay one line."""

    def error(self, message):  # noqa: D401
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="seqlab", description="Sequence Lab: deep learning for sequences, live.")
    p.add_argument("--version", action="version", version=f"seqlab {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    info = sub.add_parser("info", help="version, device, shipped models")
    info.add_argument("--json", action="store_true")
    info.add_argument("--device", default=None)
    data = sub.add_parser("data", help="data sources: list, fetch")
    # list and fetch are subcommands of their own: with one "action" positional and then the
    # names, `data fetch --force sotu` did not parse and `data list extra words` was accepted
    actions = data.add_subparsers(dest="action", parser_class=_Parser, required=True)
    listing = actions.add_parser("list", help="every data source and whether it is fetched")
    listing.add_argument("--json", action="store_true")
    fetch = actions.add_parser("fetch", help="fetch data sources (all of them without names)")
    fetch.add_argument("names", nargs="*", help="data sources (default: all)")
    fetch.add_argument("--force", action="store_true", help="fetch again even if already fetched")
    for command, text in [("train", "train a model, write weights + card"),
                          ("eval", "metrics on the held-out split"),
                          ("predict", "predict for each input"),
                          ("bench", "speed figures, side by side with the reference")]:
        c = sub.add_parser(command, help=text, add_help=False)
        c.add_argument("task")
    return p


def task_parser(command: str, task) -> argparse.ArgumentParser:
    """The options of `seqlab COMMAND TASK`; `task_parser("train", t).parse_args([])` gives a
    task's training defaults (the tabs start from them)."""
    p = _Parser(prog=f"seqlab {command} {task.name}")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or mps")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    if command in ("eval", "predict", "bench"):
        p.add_argument("--model", default=task.default_model,
                       help="a model's name, or the path of its .safetensors file" +
                            (" (default %(default)s)" if task.default_model else ""))
    if command == "train":
        p.add_argument("--out", default=None, type=arg_types.path,
                       help="folder for weights + card (default: your models folder; "
                            "assets/models/TASK regenerates a shipped model)")
    if command == "predict":
        p.add_argument("inputs", nargs="*", help="inputs; '-' reads one per line from stdin")
    task.add_arguments(command, p)
    return p


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except tasks.TaskNotBuilt as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a traceback for bad input
        from engine.runtime import readable
        if os.environ.get("SEQLAB_DEBUG"):
            traceback.print_exc()
        print(f"error: {readable(exc)}", file=sys.stderr)
        return 1


def _dispatch(argv: list[str]) -> int:
    parser = build_parser()
    if not argv:
        parser.print_help()
        return EXIT_USAGE
    if argv[0] in ("train", "eval", "predict", "bench"):
        if len(argv) == 2 and argv[1] in ("-h", "--help"):
            print(f"usage: seqlab {argv[0]} TASK [options]   (TASK: {', '.join(tasks.TASK_NAMES)}; "
                  f"`seqlab {argv[0]} TASK --help` lists a task's options)")
            return 0
        if len(argv) < 2 or argv[1].startswith("-"):
            raise UsageError(f"seqlab {argv[0]}: which task? one of {', '.join(tasks.TASK_NAMES)}")
        try:
            task = tasks.load(argv[1])
        except ValueError as exc:                # an unknown task is a usage error (exit 2)
            raise UsageError(f"seqlab {argv[0]}: {exc}") from None
        args = task_parser(argv[0], task).parse_args(argv[2:])
        from engine import device
        device.apply_thread_setting()
        if args.device:
            from engine import device
            args.device = device.choose(args.device)
        return COMMANDS[argv[0]](task, args)
    args = parser.parse_args(argv)
    if args.command == "info":
        return cmd_info(args)
    if args.command == "data":
        return cmd_data(args)
    parser.print_help()
    return EXIT_USAGE


def cmd_info(args) -> int:
    import torch
    from engine import cards, device
    info = {
        "version": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "device": device.choose(args.device),
        "devices": device.available(),
        "tasks": {n: ("built" if tasks.is_built(n) else "not built") for n in tasks.TASK_NAMES},
        "models": [cards.card_summary(c) for c in cards.list_models()],
    }
    if args.json:
        print(json_text.dumps(info, indent=2))
    else:
        print(f"seqlab {info['version']} · torch {info['torch']} · device {info['device']}")
        for n, state in info["tasks"].items():
            print(f"  {n:10s} {state}")
        for m in info["models"]:
            print(f"  model {m['task']}/{m['name']}: {m['arch']}, {m['params']:,} params, {m['metrics']}")
    return 0


def cmd_data(args) -> int:
    from engine.data import sources
    if args.action == "list":
        rows = sources.status()
        if args.json:
            print(json_text.dumps(rows, indent=2))
        else:
            for r in rows:
                state = "fetched" if r["fetched"] else "not fetched"
                print(f"{r['name']:16s} {state:12s} {r['package']:36s} {r['description']}")
        return 0
    names = list(dict.fromkeys(args.names)) or list(sources.SOURCES)    # (a name given twice: once)
    for name in names:
        sources.get(name)                      # unknown name: fail before downloading anything
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    for name in names:
        if args.force or not sources.is_fetched(name):
            sources.fetch(name, log=log)
        else:
            log(f"{name}: already fetched ({sources.cache_dir(name)})")
    return 0


def cmd_train(task, args) -> int:
    from engine.runtime import Progress, starts_phase
    if getattr(args, "name", None):            # a bad name must fail now, not after the training
        try:
            cards.check_name(args.name)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    gen = task.train(args)
    last, said, card = 0.0, None, None
    try:
        while True:
            event = next(gen)
            now = time.monotonic()
            if isinstance(event, Progress) and (now - last > 0.5 or event.step >= event.total
                                                or starts_phase(event, said)):
                last, said = now, event.message or said
                print(_progress_line(event), file=sys.stderr, flush=True)
    except StopIteration as stop:
        card = stop.value
    except KeyboardInterrupt:
        gen.close()
        print("training cancelled; the previous model is kept", file=sys.stderr)
        return 130
    if card is not None:
        out = {"task": card.task, "name": card.name, "metrics": card.metrics,
               "seconds": round(card.seconds, 1), "bytes": card.bytes}
        print(json_text.dumps(out) if args.json else
              f"saved {card.task}/{card.name} ({card.bytes:,} bytes) {json_text.dumps(card.metrics)}")
    return 0


def _progress_line(e) -> str:
    parts = [f"[{e.step}/{e.total}]"]
    if e.loss is not None:
        parts.append(f"loss {e.loss:.4f}")
    parts += [f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in e.metrics.items()]
    if e.message:
        parts.append(e.message)
    return " ".join(parts)


def cmd_eval(task, args) -> int:
    result = task.evaluate(args)
    print(json_text.dumps(result) if args.json else _pretty(result))
    return 0


def cmd_predict(task, args) -> int:
    inputs = list(args.inputs)
    if "-" in inputs and inputs != ["-"]:
        raise UsageError(f"seqlab predict {task.name}: '-' reads the inputs from stdin, so it comes alone")
    if inputs == ["-"]:
        if sys.stdin is None:                    # started with stdin closed
            raise UsageError(f"seqlab predict {task.name}: '-' reads stdin, and stdin is closed")
        if hasattr(sys.stdin, "reconfigure"):    # bytes that are not UTF-8 reach the task's check
            sys.stdin.reconfigure(errors="surrogateescape")
        inputs = [line.rstrip("\r\n") for line in sys.stdin]     # (Windows line ends too)
        if not inputs:
            raise UsageError(f"seqlab predict {task.name}: stdin was empty: give one input per line")
    if not inputs:
        raise UsageError(f"seqlab predict {task.name}: give at least one input (or '-' for stdin)")
    failed = 0
    for result in task.predict(args, inputs):
        if isinstance(result, str):          # a task's own line format (e.g. fastText's)
            print(result, flush=True)
            continue
        if "error" in result:                # this input only: say why, go on with the next
            failed += 1
            print(f"error: {result['error']}", file=sys.stderr, flush=True)
            if getattr(args, "fasttext_format", False):
                print("", flush=True)        # output line i still answers input line i
                continue
            if not args.json:                # (JSON output keeps one line per input)
                continue
        print(json_text.dumps(result, ensure_ascii=False) if args.json else _pretty(result), flush=True)
    return 1 if failed else 0


def cmd_bench(task, args) -> int:
    result = task.bench(args)
    print(json_text.dumps(result, indent=None if args.json else 2))
    return 0


def _pretty(obj) -> str:
    return json_text.dumps(obj, indent=2, ensure_ascii=False)


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "predict": cmd_predict, "bench": cmd_bench}


if __name__ == "__main__":
    sys.exit(main())
