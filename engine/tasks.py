"""The demo tasks and how the CLI (and --self-test) reach them.

Each built task is a package ``engine/<task>/`` whose ``task.py`` defines ``TASK``, an object
with this interface (duck-typed; see docs/ARCHITECTURE.md):

    name: str                      # "classify"
    title: str                     # "Text classification"
    default_model: str             # name of the shipped model used when --model is omitted
    def add_arguments(self, command: str, parser: argparse.ArgumentParser) -> None
    def train(self, args) -> Generator[Progress, None, ModelCard]   # cancellable at each yield
    def evaluate(self, args) -> dict
    def predict(self, args, inputs: list[str]) -> Iterator[dict]    # one dict per input
    def bench(self, args) -> dict

A task whose package does not exist yet is "not built": the CLI says so and exits 2, and its
tab shows what the demo will be.
"""
from __future__ import annotations

import importlib
from typing import Any, Optional

# In lecture order.
TASK_NAMES = ("typeahead", "classify", "action", "caption", "translate", "ocr", "vqa")

TITLES = {
    "typeahead": "Type-ahead",
    "classify": "Text classification",
    "action": "Action recognition",
    "caption": "Image captioning",
    "translate": "Translation",
    "ocr": "Check OCR",
    "vqa": "Visual QA",
}


class TaskNotBuilt(Exception):
    """The task's engine package does not exist yet."""


def load(name: str) -> Any:
    """The TASK object of engine/<name>/task.py; raises TaskNotBuilt or ValueError."""
    if name not in TASK_NAMES:
        raise ValueError(f"unknown task {name!r}; tasks are {', '.join(TASK_NAMES)}")
    try:
        module = importlib.import_module(f"engine.{name}.task")
    except ModuleNotFoundError as exc:
        if exc.name in (f"engine.{name}", f"engine.{name}.task"):
            raise TaskNotBuilt(f"the {name} demo is not built yet") from None
        raise
    return module.TASK


def has_package(name: str) -> bool:
    """Whether engine/<name>/task.py exists, found without importing the task (nor torch)."""
    import importlib.util
    if name not in TASK_NAMES:
        return False
    try:
        return importlib.util.find_spec(f"engine.{name}.task") is not None
    except ModuleNotFoundError:
        return False


def is_built(name: str) -> bool:
    try:
        load(name)
        return True
    except TaskNotBuilt:
        return False


def built() -> list[str]:
    return [n for n in TASK_NAMES if is_built(n)]


def maybe_load(name: str) -> Optional[Any]:
    try:
        return load(name)
    except TaskNotBuilt:
        return None
