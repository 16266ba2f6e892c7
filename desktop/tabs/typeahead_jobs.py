"""The Type-ahead tab's engine-side jobs: they run on the engine lanes and touch no widget (no Qt here).

Each returns (or, for the long ones, yields as progress) what the tab's callbacks show (the
EngineBridge calls them on the GUI thread); engine modules are imported inside the jobs so that
building the window never imports torch.
"""
from __future__ import annotations


def load_job(kind: str, name: str):
    """(kind, TypeAhead) for the model `name`; raises ModelLoadError with a readable line."""
    from engine.typeahead import models
    from engine.typeahead.complete import TypeAhead
    return kind, TypeAhead(models.load(name))


def predict_job(kind: str, typer, text: str, order: int, temperature: float) -> dict:
    out = typer.predict(text, k=5, order=order if kind == "kn" else None, temperature=temperature)
    out["kind"] = kind
    return out


def generate_job(predictor, text: str, n_words: int, temperature: float, order: int):
    """Each event carries the whole continuation so far: the bridge throttles progress events,
    so a skipped event must not lose words."""
    from engine.runtime import Progress
    from engine.typeahead.complete import generate
    so_far = ""
    for i, piece in enumerate(generate(predictor, text, n_words, temperature, order)):
        so_far += piece
        yield Progress(i + 1, n_words, message=so_far)
    return so_far


def train_job(values: dict):
    """The training panel's values -> `seqlab train typeahead` (a generator of Progress)."""
    from engine.typeahead import task
    corpus = values.get("own_file") or values["dataset"]
    arch = values["arch"]
    # never shadows a shipped model: "lstm-sotu", or the engine's "lstm-my-<file>"
    name = task.default_name(arch, corpus) if values.get("own_file") else f"{arch}-{corpus}"
    args = task.train_namespace(arch=arch, corpus=corpus, name=name, steps=values["steps"],
                                order=values["order"])
    return (yield from task.train(args))


def self_test_job(typer, text: str) -> dict:
    """One real prediction: with the loaded n-gram model, or loading it if it is not there yet."""
    if typer is None:
        _, typer = load_job("kn", "kn")
    from engine.typeahead.complete import TypeAhead
    return TypeAhead(typer.predictor).predict(text)
