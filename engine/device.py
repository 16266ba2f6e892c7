"""Which torch device to run on: cuda > mps > cpu, overridable by SEQLAB_DEVICE, --device or the menu."""
from __future__ import annotations

import os

CHOICES = ("auto", "cpu", "cuda", "mps")


def available() -> list[str]:
    """The device names usable on this machine, 'cpu' always among them."""
    import torch
    names = ["cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def validate_name(name: str | None) -> str:
    """Check a device name without importing torch; returns it normalized ('auto' if empty)."""
    name = (name or os.environ.get("SEQLAB_DEVICE") or "auto").strip().lower()
    if name.split(":")[0] not in CHOICES:
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(CHOICES)}")
    return name


def choose(name: str | None = None) -> str:
    """Resolve a requested device to a concrete torch device string ('cpu', 'cuda:0', 'mps')."""
    name = (name or os.environ.get("SEQLAB_DEVICE") or "auto").strip().lower()
    base = name.split(":")[0]
    if base not in CHOICES:
        raise ValueError(f"unknown device {name!r}; choose one of {', '.join(CHOICES)}")
    have = available()
    if base == "auto":
        base = "cuda" if "cuda" in have else "mps" if "mps" in have else "cpu"
    elif base not in have:
        raise ValueError(f"device {base!r} is not available here (available: {', '.join(have)})")
    if base == "cuda":
        return name if ":" in name else "cuda:0"
    return base


def apply_thread_setting() -> None:
    """Honour SEQLAB_THREADS (torch intra-op threads); see docs/ARCHITECTURE.md, 'Threads'."""
    value = os.environ.get("SEQLAB_THREADS", "").strip()
    if not value:
        return
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"SEQLAB_THREADS must be a positive whole number, not {value!r}")
    import torch
    torch.set_num_threads(int(value))
