"""The Text classification tab's engine-side jobs: they run on the engine lanes and touch no widget
(no Qt here). Engine modules are imported inside the jobs, so building the window never imports
torch. (The compression and evaluate panels keep their own jobs beside them.) Also the wording of
a finished training's settings (run_settings): plain text from a card, no widget either.
"""
from __future__ import annotations

MAX_INPUT = 20_000                                 # characters classified (a paste is truncated)


def load_job(name: str):
    from engine.classify import pipeline
    return pipeline.load_with_card(name)


def predict_job(model, text: str) -> dict:
    from engine.classify import pipeline
    from engine.classify.dictionary import normalize
    out = pipeline.predict(model, text[:MAX_INPUT], k=5)
    if len(text) > MAX_INPUT:
        out["notice"] = f"showing the first {MAX_INPUT:,} of {len(text):,} characters"
    # words in text order with their unigram contribution (0 for words the model never saw)
    unigrams = [c for c in out["contributions"] if " " not in c["ngram"] and c["ngram"] != "</s>"]
    words, k = [], 0
    for tok in normalize(text[:MAX_INPUT], model.dict.lower).split()[:2000]:
        if k < len(unigrams) and unigrams[k]["ngram"] == tok:
            words.append((tok, unigrams[k]["weight"]))
            k += 1
        else:
            words.append((tok, 0.0))
    out["words"] = words
    out["ngrams"] = [(c["ngram"], c["weight"]) for c in out["contributions"] if " " in c["ngram"]][:200]
    return out


def load_and_predict_job(name: str, text: str) -> dict:
    model, _ = load_job(name)
    return predict_job(model, text)


def train_job(options: dict):
    from engine.classify import pipeline
    return pipeline.train_model(pipeline.Options(**options))


def run_settings(config: dict) -> str:
    """What a finished training's log line says it was: loss (tree), epochs, dim, n-grams."""
    model, train = config.get("model", {}), config.get("train", {})
    loss, threads = model.get("loss", "softmax"), train.get("threads")
    if loss in ("hs", "hs2"):
        loss += f", {model.get('hs_tree', 'huffman')} tree"
    chars = f", char n-grams {model['minn']}-{model['maxn']}" if model.get("maxn") else ""
    return (f"{loss}, {train.get('epochs')} epochs, dim {model.get('dim')}, "
            f"word n-grams {model.get('word_ngrams')}{chars}, {threads} thread{'s' if threads != 1 else ''}")
