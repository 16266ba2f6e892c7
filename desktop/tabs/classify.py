"""Text classification tab: fastText live.

Type a sentence: every keystroke is classified (top-k bars) and each word / bigram is coloured
by its exact contribution to the winning label's score. "bag of words" vs "+ bigrams" switches
between two shipped models to show what word order adds ("not good" vs "good"). The training
panel trains a new model (sparse SGD, Hogwild workers) with a live loss/accuracy plot; the
compression panel quantizes the model (FastText.zip: input rows, optionally the output layer)
and plots size (KB, log scale) against accuracy, can put the compressed model live, and saves it.
"""
from __future__ import annotations

from typing import Callable, Optional

import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QFormLayout, QHBoxLayout,
                               QLabel, QPlainTextEdit, QPushButton, QRadioButton, QSpinBox,
                               QVBoxLayout, QWidget)

from desktop.bridge import EngineBridge
from desktop.tabs.base import DemoTab
from desktop.widgets.highlighted_text import HighlightedText
from desktop.widgets.model_card_view import ModelCardView
from desktop.widgets.topk_bars import TopKBars
from desktop.widgets.training_panel import Param, TrainingPanel
from engine.runtime import ModelSlot

DATASETS = ["sentiment", "vader-movie", "vader-amazon", "vader-nyt", "vader-tweets", "bible", "bible-chapter",
            "sotu"]                                 # engine.classify.data.DATASETS (not imported: no torch here)
BIGRAMS, BOW = "sentiment", "sentiment-bow"       # the two shipped models behind the toggle
MAX_INPUT = 20_000                                 # characters classified (a paste is truncated)
DEMO_TEXT = "The plot is not good, but the acting is great."
SELF_TEST_TEXT = "a gorgeous, witty, seductive movie."


# -- engine-side jobs (run on the engine lanes: no widgets touched here) --------------------------
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


def compress_job(model, card, dsub: int, cutoff: int, qnorm: bool, retrain: bool, qout: bool = False) -> dict:
    from engine.classify import pipeline
    from engine.classify.compress import CompressConfig, size_bytes
    data = card.data.get("dataset") or card.data.get("file") or "sentiment"
    if dsub < 1 or model.config.dim % dsub:
        raise ValueError(f"dsub must divide the model's dimension {model.config.dim}")
    cfg = CompressConfig(dsub=dsub, cutoff=cutoff, qnorm=qnorm, retrain=retrain, qout=qout)
    out = pipeline.compress_and_score(model, cfg, data)
    dense = pipeline.evaluate_split(model, pipeline.datasets.load(data).test)["accuracy"]
    label = f"dsub {dsub}" + (f", cutoff {cutoff:,}" if cutoff else "") + (", qout" if qout else "")
    return {**out, "dense_bytes": size_bytes(model), "dense_accuracy": dense, "label": label,
            "config": cfg, "card": card}


def save_compressed_job(out: dict):
    from engine.classify import pipeline
    return pipeline.save_compressed(out["model"], out["card"], out["config"], out["accuracy"])


def train_job(options: dict):
    from engine.classify import pipeline
    return pipeline.train_model(pipeline.Options(**options))


# -- the compression panel ---------------------------------------------------------------------------
class CompressionPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.dsub = QComboBox()
        self.dsub.addItems(["1", "2", "5", "10"])
        self.dsub.setCurrentText("2")
        self.cutoff = QSpinBox()
        self.cutoff.setRange(0, 5_000_000)
        self.cutoff.setSingleStep(10_000)
        self.cutoff.setSpecialValueText("keep all rows")
        self.cutoff.setValue(50_000)
        self.qnorm = QCheckBox("quantize norms separately")
        self.qnorm.setChecked(True)
        self.retrain = QCheckBox("retrain the output layer")
        self.retrain.setChecked(True)
        self.qout = QCheckBox("quantize the output layer too (qout)")
        self.run_button = QPushButton("Compress && measure")
        self.use_live = QCheckBox("use the compressed model live")
        self.use_live.setEnabled(False)
        self.save_button = QPushButton("Save the compressed model")
        self.save_button.setEnabled(False)
        self.status = QLabel("Quantize the input matrix (k = 256 centroids per sub-vector).")
        self.status.setWordWrap(True)
        self.plot = pg.PlotWidget(title="Accuracy vs memory")
        self.plot.setLogMode(x=True)
        self.plot.setLabel("bottom", "Memory in KB (log scale)")
        self.plot.setLabel("left", "accuracy (%)")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.points = pg.ScatterPlotItem(size=14, pen=pg.mkPen("k"))
        self.plot.addItem(self.points)
        self._spots: list[dict] = []
        form = QFormLayout()
        form.addRow("floats per sub-vector (dsub)", self.dsub)
        form.addRow("cutoff (rows kept)", self.cutoff)
        form.addRow(self.qnorm)
        form.addRow(self.retrain)
        form.addRow(self.qout)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.run_button)
        layout.addWidget(self.use_live)
        layout.addWidget(self.save_button)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)

    def add_point(self, kb: float, accuracy: float, label: str, dense: bool = False) -> None:
        import math
        self._spots.append({"pos": (math.log10(max(kb, 1e-3)), 100 * accuracy),
                            "brush": pg.mkBrush("#1f77b4" if dense else "#d62728"), "data": label})
        self.points.setData(self._spots)
        self.plot.getPlotItem().getViewBox().setDefaultPadding(0.15)
        text = pg.TextItem(f"{label}\n{kb:,.0f} KB, {100 * accuracy:.1f}%", anchor=(1, 1) if dense else (0, 1))
        text.setPos(math.log10(max(kb, 1e-3)), 100 * accuracy)
        self.plot.addItem(text)

    def clear(self) -> None:
        self._spots.clear()
        self.points.setData([])
        for item in list(self.plot.items()):
            if isinstance(item, pg.TextItem):
                self.plot.removeItem(item)


# -- the tab ------------------------------------------------------------------------------------------
class Tab(DemoTab):
    task = "classify"
    title = "Text classification"

    def __init__(self, bridge: EngineBridge, parent: Optional[QWidget] = None):
        super().__init__(bridge, parent)
        self.slot = ModelSlot()                   # the model live predictions use
        self.models: dict[str, tuple] = {}        # name -> (model, card), loaded off the GUI thread
        self.current = ""                         # name of the model in the slot
        self._before_training = None              # (name, model) restored when training is cancelled
        self._dense_point_for = ""
        self._self_test_done: Optional[Callable] = None
        self._build()
        self._load(BIGRAMS)
        self._load(BOW)

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        big = QFont(self.font())
        big.setPointSizeF(max(13.0, big.pointSizeF() * 1.3))
        self.setFont(big)
        heading = self.heading("Sequence → one label: embed words and n-grams, average, linear classifier", big)

        self.bow_button = QRadioButton("bag of words")
        self.bigram_button = QRadioButton("+ bigrams (word order)")
        self.bigram_button.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.bow_button)
        group.addButton(self.bigram_button)
        self.bow_button.toggled.connect(self._on_toggle)
        self.model_combo = QComboBox()
        self.model_combo.activated.connect(self._on_model_chosen)
        toggle = QHBoxLayout()
        toggle.addWidget(self.bow_button)
        toggle.addWidget(self.bigram_button)
        toggle.addStretch(1)
        toggle.addWidget(QLabel("model"))
        toggle.addWidget(self.model_combo)

        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText("Type a sentence, e.g. “not good” … then “good”")
        ef = QFont(big)
        ef.setPointSizeF(big.pointSizeF() * 1.5)
        self.editor.setFont(ef)
        self.editor.setMaximumHeight(140)
        self.editor.textChanged.connect(self._on_text_changed)

        self.result = QLabel("loading the model…")
        rf = QFont(big)
        rf.setPointSizeF(big.pointSizeF() * 2.0)
        rf.setBold(True)
        self.result.setFont(rf)
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        self.bars = TopKBars(k=2)
        self.words = HighlightedText()
        self.words.setFont(ef)
        self.ngrams = HighlightedText()
        self.ngrams.setFont(big)
        self.explain = explain = QLabel("")
        explain.setWordWrap(True)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(heading)
        lv.addLayout(toggle)
        lv.addWidget(self.editor)
        lv.addWidget(self.result)
        lv.addWidget(self.hint)
        lv.addWidget(self.bars)
        lv.addWidget(QLabel("words"))
        lv.addWidget(self.words)
        lv.addWidget(QLabel("bigrams"))
        lv.addWidget(self.ngrams)
        lv.addWidget(explain)
        lv.addStretch(1)

        self.training = TrainingPanel(DATASETS, [
            Param("epochs", "epochs", "int", 10, 1, 200),
            Param("lr", "learning rate", "float", 0.5, 0.001, 5.0),
            Param("dim", "dimension", "int", 10, 2, 300),
            Param("word_ngrams", "word n-grams", "int", 2, 1, 5),
            Param("bucket", "hash buckets", "int", 200_000, 1_000, 4_000_000),
            Param("loss", "loss", "choice", "softmax", choices=["softmax", "hs", "ova"]),
            Param("threads", "Hogwild threads", "int", 2, 1, 16),
        ])
        self.training.trainRequested.connect(self._on_train)
        self.training.cancelRequested.connect(self.cancel_training)
        self.compression = CompressionPanel()
        self.compression.run_button.clicked.connect(self._on_compress)
        self.compression.use_live.toggled.connect(self._on_use_compressed)
        self.compression.save_button.clicked.connect(self._on_save_compressed)
        self.card_view = ModelCardView()
        self.side = self.side_by_side(left, [(self.training, "Train"), (self.compression, "Compress"),
                                             (self.card_view, "Model card")])
        self._figure = left

    # -- models -------------------------------------------------------------------------
    def _load(self, name: str) -> None:
        self.submit(f"load.{name}", load_job, name, lane="background",
                    on_done=self._on_loaded, on_error=self._on_load_error)

    def _on_loaded(self, result) -> None:
        model, card = result
        self.models[card.name] = (model, card)
        if self.model_combo.findText(card.name) < 0:
            self.model_combo.addItem(card.name)
        if not self.current or self.current == card.name or \
                (card.name == BIGRAMS and self.current not in self.models):
            self._use(card.name)

    def _on_load_error(self, message: str) -> None:
        if message != "cancelled":
            self.hint.setText(message)
            if not self.models:
                self.result.setText("no model")
                self.card_view.set_card(None, error=message)

    def _use(self, name: str) -> None:
        model, card = self.models[name]
        self.current = name
        self.slot.publish(model)
        self.model_combo.setCurrentText(name)
        self.card_view.set_card(card)
        self.compression.use_live.blockSignals(True)
        self.compression.use_live.setChecked(False)
        self.compression.use_live.blockSignals(False)
        self._predict()

    def _on_toggle(self, _checked: bool) -> None:
        name = BOW if self.bow_button.isChecked() else BIGRAMS
        if name in self.models:
            self._use(name)
        else:
            self.hint.setText(f"model {name!r} is not available")

    def _on_model_chosen(self, _index: int) -> None:
        name = self.model_combo.currentText()
        if name in self.models:
            self._use(name)

    # -- live prediction ------------------------------------------------------------------
    def _on_text_changed(self) -> None:
        self._predict()

    def _predict(self) -> None:
        model = self.slot.get()
        text = self.editor.toPlainText()
        if model is None:
            return
        if not text.strip():
            self.result.setText("—")
            self.hint.setText("Type a sentence to classify it.")
            self.bars.set_items([])
            self.words.set_spans([])
            self.ngrams.set_spans([])
            return
        self.submit("predict", predict_job, model, text, on_done=self._show, on_error=self._on_predict_error)

    def _show(self, out: dict) -> None:
        if out.get("label") is None:
            self.result.setText("—")
            self.hint.setText(out.get("hint", ""))
            return
        p = out["probs"][out["label"]]
        self.result.setText(f"{out['label']}  {p:.0%}")
        self.hint.setText(out.get("notice", ""))
        self.explain.setText(f"Green pushes toward “{out['label']}”, red against it — exactly: "
                             "the label's score is the sum of these terms.")
        self.bars.set_items(list(out["probs"].items()))
        self.words.set_spans(out["words"])
        self.ngrams.set_spans(out["ngrams"])

    def _on_predict_error(self, message: str) -> None:
        if message != "cancelled":
            self.hint.setText(message)

    # -- training -------------------------------------------------------------------------
    def _on_train(self, values: dict) -> None:
        data = values["own_file"] if values.get("own_file") else values["dataset"]
        import os
        options = {k: values[k] for k in ("epochs", "lr", "dim", "word_ngrams", "bucket", "loss", "threads")}
        options.update(data=data, name="my-" + os.path.splitext(os.path.basename(data))[0])
        self._before_training = (self.current, self.slot.get())
        self.training.started(f"training on {data}…")
        self.submit("train", train_job, options, lane="background", on_progress=self._on_train_progress,
                    on_done=self._on_trained, on_error=self._on_train_error)

    def _on_train_progress(self, event) -> None:
        self.training.on_progress(event)
        if event.checkpoint is not None:          # live predictions improve while it trains
            self.slot.publish(event.checkpoint)
            self._predict()

    def _on_trained(self, card) -> None:
        self.training.finished(f"saved {card.name}: test accuracy {card.metrics.get('accuracy')}, "
                               f"{card.metrics.get('train_seconds')} s of training")
        self._before_training = None
        self._load(card.name)
        self.current = card.name

    def _on_train_error(self, message: str) -> None:
        if self._before_training is not None:     # cancel / failure keeps the previous model
            name, model = self._before_training
            self.current = name
            self.slot.publish(model)
            self._before_training = None
            self._predict()
        self.training.finished(self.training_failed_text(message), ok=False)

    # -- compression ----------------------------------------------------------------------
    def _on_compress(self) -> None:
        if self.current not in self.models:
            self.compression.status.setText("load or train a model first")
            return
        model, card = self.models[self.current]
        if not hasattr(model.input, "weight"):
            self.compression.status.setText("this model is already compressed")
            return
        self.compression.run_button.setEnabled(False)
        self.compression.status.setText(f"compressing {card.name}… (k-means on the input rows)")
        self.submit("compress", compress_job, model, card, int(self.compression.dsub.currentText()),
                    self.compression.cutoff.value(), self.compression.qnorm.isChecked(),
                    self.compression.retrain.isChecked(), self.compression.qout.isChecked(), lane="background",
                    on_done=self._on_compressed, on_error=self._on_compress_error)

    def _on_compressed(self, out: dict) -> None:
        self.compression.run_button.setEnabled(True)
        if self._dense_point_for != self.current:
            self.compression.clear()
            self.compression.add_point(out["dense_bytes"] / 1024, out["dense_accuracy"], "dense", dense=True)
            self._dense_point_for = self.current
        self.compression.add_point(out["bytes"] / 1024, out["accuracy"], out["label"])
        self._compressed = out["model"]
        self._compressed_out = out
        self.compression.use_live.setEnabled(True)
        self.compression.save_button.setEnabled(True)
        retrained = ""
        if "accuracy_before_retrain" in out:
            retrained = f"; {100 * out['accuracy_before_retrain']:.1f}% before retraining the output layer"
        self.compression.status.setText(
            f"{out['label']}: {out['bytes'] / 1024:,.0f} KB ({out['dense_bytes'] / out['bytes']:.0f}× smaller), "
            f"accuracy {100 * out['accuracy']:.1f}% (dense {100 * out['dense_accuracy']:.1f}%{retrained})")

    def _on_compress_error(self, message: str) -> None:
        self.compression.run_button.setEnabled(True)
        if message != "cancelled":
            self.compression.status.setText(message)

    def _on_save_compressed(self) -> None:
        self.compression.save_button.setEnabled(False)
        self.submit("save", save_compressed_job, self._compressed_out, lane="background",
                    on_done=self._on_compressed_saved, on_error=self._on_compress_error)

    def _on_compressed_saved(self, card) -> None:
        self.compression.status.setText(f"saved as “{card.name}” ({card.bytes / 1024:,.0f} KB on disk): "
                                        f"seqlab predict classify --model {card.name}")
        self._load(card.name)

    def _on_use_compressed(self, on: bool) -> None:
        if on and getattr(self, "_compressed", None) is not None:
            self.slot.publish(self._compressed)
        elif self.current in self.models:
            self.slot.publish(self.models[self.current][0])
        self._predict()

    # -- DemoTab --------------------------------------------------------------------------
    def self_test(self, done: Callable[[bool, str], None]) -> None:
        self._self_test_done = done
        self.submit("selftest", load_and_predict_job, BIGRAMS, SELF_TEST_TEXT, lane="background",
                    on_done=self._on_self_test, on_error=self._on_self_test_error)

    def _on_self_test(self, out: dict) -> None:
        ok = out.get("label") in ("positive", "negative")
        if self._self_test_done:
            self._self_test_done(ok, f"{SELF_TEST_TEXT!r} -> {out.get('label')} {out.get('probs')}")

    def _on_self_test_error(self, message: str) -> None:
        if self._self_test_done:
            self._self_test_done(False, message)

    def demo_input(self) -> None:
        self.editor.setPlainText(DEMO_TEXT)

    def figure_widget(self) -> QWidget:
        return self.compression.plot if self.side.currentWidget() is self.compression else self._figure


if __name__ == "__main__":
    import sys

    from desktop.tabs.preview import run_preview

    sys.exit(run_preview(Tab))
