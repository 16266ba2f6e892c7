"""argparse types for training flags: an impossible number is refused with one line before any
data is read ("argument --batch-size: must be at least 1, got 0"), instead of a ZeroDivisionError
or a model trained with lr nan that replaces the user's own; an empty path likewise (`--own-file ''`
once trained on the whole Bible instead)."""
from __future__ import annotations

import argparse
import math


def _number(kind, text: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                         f"got {text!r}") from None


def positive_int(text: str) -> int:
    value = _number(int, text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def int_between(low: int, high: int):
    """An argparse type for an integer in [low, high] (--beam 1-10, --order 1-5)."""
    def parse(text: str) -> int:
        value = _number(int, text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value
    parse.__name__ = f"integer {low}-{high}"          # what argparse names in its messages
    return parse


def vocabulary_size(text: str) -> int:
    """<unk> and at least one word: a vocabulary of 1 makes every word <unk> (perplexity 1.0)."""
    value = _number(int, text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2 (<unk> and one word), got {value}")
    return value


def count(text: str) -> int:
    """0 or more (0 usually means "all" or "none")."""
    value = _number(int, text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    value = _number(float, text)
    if not (math.isfinite(value) and value > 0):       # (nan > 0 is False)
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def fraction(text: str) -> float:
    """A dropout probability: 0 <= p < 1."""
    value = _number(float, text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return value


def path(text: str) -> str:
    """A file or folder name: not empty (it would silently mean "the default")."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty")
    return text
