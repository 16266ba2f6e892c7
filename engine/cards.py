"""Model cards and the safetensors weight store.

A model is two files side by side: ``<name>.safetensors`` (tensors only: loading never unpickles)
and ``<name>.json`` (its card: what it is, how it was trained, how well it does, and the sha256 of
the weights). Writes are atomic (temp file + rename), weights first, card last, so a crash never
leaves a card pointing at half a file. Loading checks the sha256: a corrupt or mismatched file
raises ModelLoadError with one readable line, and the app carries on without that model.

Shipped models live in ``assets/models/<task>/``; models a user trains go to the per-user data
directory and shadow a shipped model of the same name.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Optional

from engine import json_text, paths


class ModelLoadError(Exception):
    """A model file is missing, corrupt, or does not match its card."""


@dataclasses.dataclass
class ModelCard:
    task: str                      # classify, typeahead, ocr, translate, ...
    name: str                      # file stem, e.g. "sentiment"
    arch: str                      # e.g. "fasttext", "lstm-lm"
    config: dict                   # the model's config dataclass as a dict (enough to rebuild it)
    metrics: dict = dataclasses.field(default_factory=dict)   # on the held-out split
    data: dict = dataclasses.field(default_factory=dict)      # source, split rule, license
    train_command: str = ""        # the `seqlab train ...` command that reproduces the weights
    seconds: float = 0.0           # training wall time
    device: str = "cpu"
    date: str = ""
    params: int = 0                # filled in by save_model
    bytes: int = 0                 # size of the .safetensors file
    sha256: str = ""
    extra: dict = dataclasses.field(default_factory=dict)     # anything task-specific (vocab, labels)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelCard":
        if not isinstance(d, dict):
            raise ModelLoadError(f"a model card is a JSON object, not {type(d).__name__}")
        missing = {"task", "name", "arch", "config"} - set(d)
        if missing:
            raise ModelLoadError(f"model card lacks {', '.join(sorted(missing))}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in d.items():            # a hand-edited card: one line, not a crash later
            kind = _FIELD_KINDS.get(fields[key].type) if key in fields else None
            if kind and not (isinstance(value, kind) and not isinstance(value, bool)):
                raise ModelLoadError(f"model card field {key!r} should be {_KIND_NAMES[kind]}, "
                                     f"not {type(value).__name__}")
        return cls(**{k: v for k, v in d.items() if k in fields})


# the JSON types of ModelCard's fields (their annotations are strings: `from __future__ import annotations`)
_FIELD_KINDS = {"str": str, "dict": dict, "float": (int, float), "int": int}
_KIND_NAMES = {str: "text", dict: "an object", (int, float): "a number", int: "a whole number"}

# a model name is a file stem in the models folder: no separators (a name like "../x" would write
# outside it), no leading dot (hidden files), nothing a shell or another OS would trip over
_NAME = re.compile(r"\w[\w.-]{0,99}")


def check_name(name: str) -> str:
    """`name` if it can name a model file; ValueError with one readable line if not."""
    if not _NAME.fullmatch(name or ""):
        raise ValueError(f"{name!r} cannot name a model: use 1-100 letters, digits, '-', '_' or '.', "
                         "starting with a letter or digit")
    return name


def name_from(text: str, fallback: str = "custom") -> str:
    """A valid model name made from a file stem or other text ('my file (1)' -> 'my-file-1')."""
    name = re.sub(r"[^\w.-]+", "-", text).strip(".-")[:100].strip(".-")
    return name if _NAME.fullmatch(name) else fallback


def misfit(name: str, exc: BaseException) -> ModelLoadError:
    """One line for weights that do not fit the card's model. torch's load_state_dict message
    starts "Error(s) in loading state_dict for LeNet:" and says what on the next lines: show that."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = lines[1] if len(lines) > 1 and lines[0].startswith("Error(s) in loading") else (lines[0] if lines else "")
    return ModelLoadError(f"{name}: the weights do not fit the card's model "
                          f"({type(exc).__name__}: {detail[:160]})")


def own_file_name(path) -> str:
    """The default name of a model trained on the user's file: "my-" + the file's stem, so that
    it never replaces or shadows a shipped model ('data/it-en.tsv' -> 'my-it-en')."""
    return "my-" + name_from(Path(str(path)).stem)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_file(path: Path, text: bool = False):
    """A file to write in place of `path`: a temp file in the same folder, fsynced and renamed
    over the target at the end; on any error (Ctrl-C included) the target is left as it was.
    A symlink's target is what gets replaced; a pipe or a device (`--arpa >(gzip > lm.gz)`)
    cannot be replaced, so it is written as it is."""
    path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file():
        with open(path, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as f:
            yield f
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)             # mkstemp makes 0600; models are shared read-only files
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_file(path) as f:
        f.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def check_folder(directory, what: str = "the model") -> Path:
    """The folder a training will save in; a ValueError now, before the training, if it cannot
    hold `what` (it was found out only when saving, after the work). Checked by writing a
    file there; folders it had to create for that are removed again (saving creates them)."""
    from engine.data.userfile import short_path
    d = Path(directory)
    made = []
    try:
        if d.exists() and not d.is_dir():
            raise ValueError(f"cannot save {what} in {short_path(d)}: it is a file, not a folder")
        made = [p for p in [d, *d.parents] if not p.exists()]     # removed again: a refused run leaves nothing
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=d, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ValueError(f"cannot save {what} in {short_path(d)}: {exc.strerror or exc}") from None
    finally:
        for folder in made:                  # deepest first
            try:
                folder.rmdir()
            except OSError:
                pass
    return d


def save_model(directory: Path, tensors: dict, card: ModelCard) -> ModelCard:
    """Save weights + card atomically into `directory`; fills params, bytes, sha256, date."""
    from safetensors.torch import save

    check_name(card.name)
    directory = Path(directory)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    blob = save(tensors, metadata={"task": card.task, "name": card.name})
    weights = directory / f"{card.name}.safetensors"
    atomic_write_bytes(weights, blob)
    card.params = int(sum(t.numel() for t in tensors.values() if t.is_floating_point()))
    card.bytes = len(blob)
    card.sha256 = hashlib.sha256(blob).hexdigest()
    card.date = card.date or datetime.date.today().isoformat()
    if not card.device:
        card.device = "cpu"
    atomic_write_text(directory / f"{card.name}.json", json_text.dumps(card.to_dict(), indent=2) + "\n")
    return card


def model_file(path, suffix: str) -> Path:
    """The model's .json or .safetensors file, from a path with or without either suffix.
    Not Path.with_suffix: a name may hold a dot ("kn-my-notes.v2"), which is not a suffix."""
    path = Path(path)
    if path.suffix in (".json", ".safetensors"):
        path = path.with_suffix("")
    return path.parent / (path.name + suffix)


def read_card(path: Path) -> ModelCard:
    """Read a card (.json, or the .json beside a .safetensors path)."""
    path = model_file(path, ".json")
    try:
        card = ModelCard.from_dict(json.loads(path.read_text(encoding="utf-8")))
        # a model is found by its file name: a copy saved under another name is that name
        stem = path.name[:-len(".json")]
        return card if card.name == stem else dataclasses.replace(card, name=stem)
    except ModelLoadError as exc:
        raise ModelLoadError(f"{path.name}: {exc}") from None
    except FileNotFoundError:
        raise ModelLoadError(f"no model card at {path}") from None
    except OSError as exc:                       # e.g. a folder named like a card
        raise ModelLoadError(f"cannot read the model card {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
        raise ModelLoadError(f"model card {path.name} is not valid JSON ({exc.__class__.__name__})") from None


def load_model(path: Path, device: str = "cpu") -> tuple[dict, ModelCard]:
    """Load tensors + card; verifies the sha256 first. Raises ModelLoadError, never unpickles."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    weights = model_file(path, ".safetensors")
    card = read_card(weights)
    try:
        blob = weights.read_bytes()
    except FileNotFoundError:
        raise ModelLoadError(f"weights file {weights} is missing") from None
    digest = hashlib.sha256(blob).hexdigest()
    if card.sha256 and digest != card.sha256:
        raise ModelLoadError(f"{_shown(weights)} does not match its card (sha256 differs): "
                             f"the file is corrupt or was replaced; {_fix_for(weights, card)}")
    try:
        tensors = load(blob)
    except (SafetensorError, Exception) as exc:  # noqa: BLE001 - any parse failure is 'corrupt'
        raise ModelLoadError(f"{_shown(weights)} is not a readable safetensors file ({exc}); "
                             f"{_fix_for(weights, card)}") from None
    if device != "cpu":
        tensors = {k: v.to(device) for k, v in tensors.items()}
    return tensors, card


def _shown(path: Path) -> str:
    from engine.data.userfile import short_path
    return short_path(path, limit=120)


def _fix_for(weights: Path, card: ModelCard) -> str:
    """A damaged user copy that hides a shipped model of the same name: the way back is to delete it."""
    shipped = paths.assets() / "models" / card.task / weights.name
    if shipped.is_file() and shipped.resolve() != weights.resolve():
        return "delete it (and its .json card) to use the shipped model again, or train it again"
    return "retrain or reinstall it"


def model_dirs(task: str) -> list[Path]:
    """Where a task's models are looked for: the user's trained models first, then shipped ones."""
    return [paths.user_models() / task, paths.assets() / "models" / task]


def find_model(task: str, name: str) -> Path:
    """Path (without suffix) of the model `name` of `task`; raises ModelLoadError if none exists.
    `name` may also be a file path (what `seqlab train --out DIR` wrote: DIR/NAME.safetensors)."""
    if os.sep in name or "/" in name or name.endswith((".safetensors", ".json")):
        path = Path(name).expanduser()
        if path.is_dir():
            raise ModelLoadError(f"{_shown(path)} is a folder: give the path of a model's .safetensors file in it")
        path = model_file(path, "")
        if not model_file(path, ".safetensors").is_file():
            raise ModelLoadError(f"no model file at {_shown(model_file(path, '.safetensors'))}")
        card = read_card(path)
        if card.task != task:
            raise ModelLoadError(f"{_shown(Path(path.name))} is a model for {card.task}, not for {task}")
        return path
    for d in model_dirs(task):
        if (d / f"{name}.safetensors").is_file():
            card = read_card(d / name)
            if card.task != task:                # a file copied into another task's folder
                raise ModelLoadError(f"{d / name}.safetensors is a model for {card.task}, not for {task}")
            return d / name
    if any((d / f"{name}.json").exists() for d in model_dirs(task)):
        raise ModelLoadError(f"the {task} model {name!r} has a card but no weights "
                             f"({name}.safetensors is missing): train it again")
    have = sorted({c.name for c in list_models(task)})
    hint = f" (available: {', '.join(have)})" if have else " (none trained or shipped yet)"
    raise ModelLoadError(f"no {task} model named {name!r}{hint}")


def list_models(task: Optional[str] = None) -> list[ModelCard]:
    """Cards of every model found, user-trained first; unreadable cards and cards whose weights
    are missing are skipped."""
    cards, seen = [], set()
    roots = [paths.user_models(), paths.assets() / "models"]
    for root in roots:
        if not root.is_dir():
            continue
        for card_path in sorted(root.glob(f"{task or '*'}/*.json")):
            if not model_file(card_path, ".safetensors").is_file():
                continue
            try:
                card = read_card(card_path)
            except ModelLoadError:
                continue
            key = (card.task, card.name)
            if key not in seen:
                seen.add(key)
                cards.append(card)
    return cards


def card_summary(card: ModelCard) -> dict[str, Any]:
    """The fields `seqlab info` and the Help dialog show."""
    return {"task": card.task, "name": card.name, "arch": card.arch, "params": card.params,
            "bytes": card.bytes, "metrics": card.metrics, "data": card.data,
            "train_command": card.train_command, "date": card.date}
