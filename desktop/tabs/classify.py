"""Text classification tab: fastText live.

Type a sentence: every keystroke is classified (top-k bars) and each word / bigram is coloured
by its exact contribution to the winning label's score. "bag of words" vs "+ bigrams" switches
between two shipped models to show what word order adds ("not good" vs "good"). The training
panel trains a new model (sparse SGD, Hogwild workers) with a live loss/accuracy plot; the
compression panel quantizes the model (FastText.zip: input rows, optionally the output layer)
and plots size (KB, log scale) against accuracy, can put the compressed model live, and saves it;
the evaluate panel measures the model on other data sets (domain transfer).

This file is the tab: the models, the live slot and every engine submission. The compression and
evaluate panels are ideas of their own (desktop/tabs/classify_compress.py, classify_transfer.py:
widget + jobs): they ask through signals, the tab submits, and the bridge calls them back on the
GUI thread.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QHBoxLayout, QLabel, QPlainTextEdit,
                               QRadioButton, QVBoxLayout, QWidget)

from desktop.bridge import EngineBridge
from desktop.tabs.base import DemoTab
from desktop.tabs.classify_compress import CompressionPanel, compress_job, save_compressed_job
from desktop.tabs.classify_jobs import load_and_predict_job, load_job, predict_job, run_settings, train_job
from desktop.tabs.classify_transfer import TransferPanel, evaluate_job
from desktop.widgets.highlighted_text import HighlightedText
from desktop.widgets.model_card_view import ModelCardView
from desktop.widgets.topk_bars import TopKBars
from desktop.widgets.training_panel import Param, TrainingPanel
from engine.runtime import ModelSlot

# engine.classify.data.DATASETS (not imported: no torch here)
DATASETS = ["sentiment", "vader-movie", "vader-amazon", "vader-nyt", "vader-tweets", "bible", "bible-chapter",
            "bible-language", "sotu"]
BIGRAMS, BOW = "sentiment", "sentiment-bow"       # the two shipped models behind the toggle
DEMO_TEXT = "The plot is not good, but the acting is great."
SELF_TEST_TEXT = "a gorgeous, witty, seductive movie."


# the training panel's character n-gram choices -> (minn, maxn); fastText's supervised default is none
CHAR_NGRAMS = {"none": (0, 0), "2-4": (2, 4), "3-6": (3, 6)}


def trained_model_name(data: str, loss: str, tree: str, chars: str = "none") -> str:
    """The engine's default name (data set, loss, tree, character n-grams), which starts with
    "my-" for the user's own file, and gets it in front for a data set too, so that a tab's
    trainings never replace a shipped model or a CLI-trained one."""
    from engine.classify.pipeline import model_name
    name = model_name(data, loss, tree, *CHAR_NGRAMS[chars])
    return "my-" + name if data in DATASETS else name


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
        self._compressed = None                   # the compressed model (and its job's result) that
        self._compressed_out: Optional[dict] = None  # "use live" publishes and "save" writes
        self._compressed_of: Optional[str] = None     # the model it was made from
        self._compressing = ""                    # the model the running compress job started from
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
        # wide enough for a name at any zoom: a scrolling page gives the tab only its minimum width
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(16)
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
            Param("chars", "character n-grams", "choice", "none", choices=list(CHAR_NGRAMS)),
            Param("loss", "loss", "choice", "softmax", choices=["softmax", "hs", "hs2", "ova"]),
            Param("hs_tree", "label tree (hs, hs2)", "choice", "huffman", choices=["huffman", "similarity"]),
            Param("threads", "Hogwild threads", "int", 2, 1, 16),
            Param("calibrate", "calibrate on validation split", "bool", False),
        ])
        self.training.plot.plot.setLabel("bottom", "input rows processed (words and n-grams)")  # trainer's step
        self.training.trainRequested.connect(self._on_train)
        self.training.cancelRequested.connect(self.cancel_training)
        self.compression = CompressionPanel()
        self.compression.compressRequested.connect(self._on_compress)
        self.compression.liveToggled.connect(self._on_use_compressed)
        self.compression.saveRequested.connect(self._on_save_compressed)
        self.transfer = TransferPanel(DATASETS)
        self.transfer.evaluateRequested.connect(self._on_evaluate)
        self.card_view = ModelCardView()
        self.side = self.side_by_side(left, [(self.training, "Train"), (self.compression, "Compress"),
                                             (self.transfer, "Evaluate"), (self.card_view, "Model card")])
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
        if name in (BOW, BIGRAMS):                   # the toggle follows a choice made in the combo
            for button in (self.bow_button, self.bigram_button):
                button.blockSignals(True)
            (self.bow_button if name == BOW else self.bigram_button).setChecked(True)
            for button in (self.bow_button, self.bigram_button):
                button.blockSignals(False)
        self.card_view.set_card(card)
        if self._compressed_of != name:                 # a compressed model of another one
            self._compressed = None
        self.compression.reset_live(can_use=self._compressed is not None and not self._training())
        self._predict()

    def _training(self) -> bool:
        return self._before_training is not None

    def _allow_model_choice(self, allowed: bool) -> None:
        """Off while training: the training's snapshots are what is live then (and after it, the
        dense model: "use the compressed model live" starts unticked)."""
        for widget in (self.model_combo, self.bow_button, self.bigram_button):
            widget.setEnabled(allowed)
        self.compression.reset_live(can_use=allowed and self._compressed is not None)

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
            self._show_nothing("Type a sentence to classify it.")
            return
        self.submit("predict", predict_job, model, text, on_done=self._show, on_error=self._on_predict_error)

    def _show_nothing(self, hint: str) -> None:
        """No prediction (empty or refused input): no bars or highlights left from the last one."""
        self.result.setText("—")
        self.hint.setText(hint)
        self.bars.set_items([])
        self.words.set_spans([])
        self.ngrams.set_spans([])
        self.explain.setText("")

    def _show(self, out: dict) -> None:
        if out.get("label") is None:
            self._show_nothing(out.get("hint", ""))
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
        options = {k: values[k] for k in ("epochs", "lr", "dim", "word_ngrams", "bucket", "loss", "hs_tree",
                                          "threads", "calibrate")}
        options["minn"], options["maxn"] = CHAR_NGRAMS[values["chars"]]
        options.update(data=data, name=trained_model_name(data, options["loss"], options["hs_tree"], values["chars"]))
        # (the dense model: after a cancel "use the compressed model live" is unticked)
        dense = self.models[self.current][0] if self.current in self.models else self.slot.get()
        self._before_training = (self.current, dense)
        self._allow_model_choice(False)
        self.training.started(f"training on {data}…" + self.waiting_note())
        self.submit("train", train_job, options, lane="background", on_progress=self._on_train_progress,
                    on_done=self._on_trained, on_error=self._on_train_error)

    def _on_train_progress(self, event) -> None:
        self.training.on_progress(event)
        if event.checkpoint is not None:          # live predictions improve while it trains
            self.slot.publish(event.checkpoint)
            self._predict()

    def _on_trained(self, card) -> None:
        cal = card.metrics.get("calibration")
        calibrated = f" ({cal['accuracy_before']} before scaling W by {cal['scale']})" if cal else ""
        acc = card.metrics.get("accuracy")
        measured = (f"test accuracy {acc}" if isinstance(acc, float) and math.isfinite(acc)
                    else "no test texts to measure accuracy on")     # a small file: no test split
        self.training.finished(f"saved {card.name} ({run_settings(card.config)}): {measured}{calibrated}, "
                               f"{card.metrics.get('train_seconds')} s of training")
        self._before_training = None
        self._allow_model_choice(True)
        self._load(card.name)
        self.current = card.name

    def _on_train_error(self, message: str) -> None:
        if self._before_training is not None:     # cancel / failure keeps the previous model
            name, model = self._before_training
            self.current = name
            self.slot.publish(model)
            self._before_training = None
            self._allow_model_choice(True)
            self._predict()
        self.training.finished(self.training_failed_text(message), ok=False)

    # -- compression (the panel asks and shows: desktop/tabs/classify_compress.py) ------------
    def _on_compress(self, settings: dict) -> None:
        if self.current not in self.models:
            self.compression.show_message(f"{self.current} is still loading: try again in a moment" if self.current
                                          else "load or train a model first")
            return
        if self._training():
            self.compression.show_message("a training is running: compress when it is done")
            return
        model, card = self.models[self.current]
        if not hasattr(model.input, "weight"):
            self.compression.show_message("this model is already compressed")
            return
        self._compressing = card.name
        self.compression.started(card.name)
        self.submit("compress", compress_job, model, card, settings["dsub"], settings["cutoff"],
                    settings["qnorm"], settings["retrain"], settings["qout"], lane="background",
                    on_done=self._on_compressed, on_error=self.compression.failed)

    def _on_compressed(self, out: dict) -> None:
        name, live_ok = self._compressing, self._compressing == self.current and not self._training()
        self._compressed, self._compressed_of = (out["model"], name) if live_ok else (None, None)
        self._compressed_out = out
        self.compression.show_result(out, name, live_ok)

    def _on_save_compressed(self) -> None:
        self.submit("save", save_compressed_job, self._compressed_out, lane="background",
                    on_done=self._on_compressed_saved, on_error=self.compression.failed)

    def _on_compressed_saved(self, card) -> None:
        self.compression.saved(card)
        self._load(card.name)

    def _on_use_compressed(self, on: bool) -> None:
        if on and self._compressed is not None:
            self.slot.publish(self._compressed)
        elif self.current in self.models:
            self.slot.publish(self.models[self.current][0])
        self._predict()

    # -- evaluation on other data sets (desktop/tabs/classify_transfer.py) ---------------------
    def _on_evaluate(self, data: list) -> None:
        if self.current not in self.models:
            self.transfer.show_message("still loading: try again in a moment" if self.current else "no model yet")
            return
        if self._training():
            self.transfer.show_message("a training is running: evaluate when it is done")
            return
        model, shown = self.slot.get(), self.current          # the model in use: maybe compressed
        if self._compressed is not None and model is self._compressed:
            shown += " (compressed)"
        self.transfer.started(shown, data)
        for name in data:
            self.submit(f"evaluate.{name}", evaluate_job, model, shown, name,
                        lane="background", on_done=self.transfer.show_result, on_error=self.transfer.failed)

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
