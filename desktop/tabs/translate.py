"""Translation tab: attention seq2seq, Italian → English, live.

Type Italian: when you pause, the sentence is translated (latest wins: typing on cancels the
stale job). The alignment matrix (target words × source words) is the attention of the chosen
hypothesis; hovering a word — in either sentence or in the matrix — highlights the words it is
aligned with. The beam slider re-decodes with 1–10 hypotheses and lists the n-best with their
length-normalized log probabilities. The model selector switches between attention variants
(Bahdanau additive, Luong general, …: whatever is shipped or trained). The table compares BLEU
(from each model's card, Ruth + John) and decode time per sentence (measured here) at beam 1 and 5,
like the lecture's. The training panel trains a new model with live loss and validation BLEU.

This file is the tab: the models, the live slot and every engine submission. Its engine-side jobs
(plain functions run on the lanes, no Qt) live in desktop/tabs/translate_jobs.py; the hover-linked
alignment (word strips + attention matrix) is its own idea in desktop/tabs/translate_alignment.py.
"""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QListWidget,
                               QPlainTextEdit, QSlider, QSplitter, QTableWidget, QTableWidgetItem,
                               QTabWidget, QVBoxLayout, QWidget)

from desktop.bridge import EngineBridge
from desktop.tabs.base import DemoTab
from desktop.tabs.translate_alignment import AlignmentLink
from desktop.tabs.translate_jobs import list_job, load_job, predict_job, timing_job, train_job
from desktop.widgets.capped_label import CappedLabel
from desktop.widgets.model_card_view import ModelCardView
from desktop.widgets.training_panel import Param, TrainingPanel
from engine import cards
from engine.runtime import ModelSlot

# John 14:6, a held-out verse: the models learnt Italian from the Bible, and an everyday
# sentence ("Il gatto si è seduto sul tappetino.") comes out as nonsense
DEMO_TEXT = "Io sono la via, la verità e la vita."
SELF_TEST_TEXT = "In principio era la Parola."
DATASETS = ["bible it-en", "bible fr-en", "bible es-en", "bible de-en", "bible pt-en"]
PAUSE_MS = 300                       # translate when typing pauses this long


# -- the tab ------------------------------------------------------------------------------------------
class Tab(DemoTab):
    task = "translate"
    title = "Translation"

    def __init__(self, bridge: EngineBridge, parent: Optional[QWidget] = None):
        super().__init__(bridge, parent)
        self.slot = ModelSlot()                   # the Translator live predictions use
        self.models: dict = {}                    # name -> Translator, loaded off the GUI thread
        self.current = ""
        self.result: Optional[dict] = None        # the last translation shown
        self.timings: dict = {}                   # name -> {beam: seconds}
        self._before_training = None
        self._self_test_done: Optional[Callable] = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PAUSE_MS)
        self._timer.timeout.connect(self._predict)
        self._build()
        self.submit("list", list_job, lane="background", on_done=self._on_listed,
                    on_error=self._on_load_error)

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        big = QFont(self.font())
        big.setPointSizeF(max(13.0, big.pointSizeF() * 1.3))
        self.setFont(big)
        larger = QFont(big)
        larger.setPointSizeF(big.pointSizeF() * 1.45)
        heading = self.heading("Encode the source, attend, decode: attention seq2seq with beam search", big)

        self.model_combo = QComboBox()
        # wide enough for a name at any zoom: a scrolling page gives the tab only its minimum width
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(18)
        self.model_combo.activated.connect(self._on_model_chosen)
        self.beam = QSlider(Qt.Orientation.Horizontal)
        self.beam.setRange(1, 10)
        self.beam.setValue(5)
        self.beam.setMinimumWidth(160)
        self.beam_label = QLabel("beam 5")
        self.beam.valueChanged.connect(self._on_beam)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("attention model"))
        controls.addWidget(self.model_combo, 1)
        controls.addSpacing(16)
        controls.addWidget(self.beam_label)
        controls.addWidget(self.beam, 1)

        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText(
            "Scrivi in italiano… (learnt from the Bible: e.g. “Gesù disse loro: Io son il pane della vita.”)")
        self.editor.setFont(larger)
        self.editor.setMaximumHeight(120)
        self.editor.textChanged.connect(self._on_text_changed)
        self.translation = CappedLabel("loading the model…", max_lines=4)
        tf = QFont(larger)
        tf.setBold(True)
        self.translation.setFont(tf)
        self.translation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = CappedLabel(" ", max_lines=3)
        self.alignment = AlignmentLink(larger, self)   # the strips and the matrix, hover-linked
        self.src_words = self.alignment.src_words
        self.tgt_words = self.alignment.tgt_words
        self.heatmap = self.alignment.heatmap
        self.nbest = QListWidget()
        self.nbest.setMaximumHeight(150)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(heading)
        lv.addLayout(controls)
        lv.addWidget(self.editor)
        lv.addWidget(self.translation)
        lv.addWidget(self.status)
        lv.addWidget(QLabel("source words (hover one)"))
        lv.addWidget(self.src_words)
        lv.addWidget(QLabel("target words (hover one)"))
        lv.addWidget(self.tgt_words)
        lv.addWidget(self.heatmap, 1)
        lv.addWidget(QLabel("n-best (length-normalized log probability)"))
        lv.addWidget(self.nbest)

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["model", "beam", "BLEU", "s / sentence"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table_box = QWidget()
        tv = QVBoxLayout(table_box)
        note = QLabel("BLEU from each model's card (sacrebleu, held-out books Ruth and John); "
                      "seconds measured here, median of three verses.")
        note.setWordWrap(True)
        tv.addWidget(self.table, 1)
        tv.addWidget(note)

        self.training = TrainingPanel(DATASETS, [
            Param("attention", "attention", "choice", "bahdanau",
                  choices=["bahdanau", "luong-general", "luong-dot"]),
            Param("epochs", "epochs", "int", 4, 1, 100),
            Param("hidden", "GRU size", "int", 192, 16, 1024),
            Param("emb", "embedding size", "int", 128, 16, 1024),
            Param("src_vocab", "source BPE vocabulary", "int", 3000, 300, 32000),
            Param("tgt_vocab", "target BPE vocabulary", "int", 3000, 300, 32000),
            Param("max_len", "max pieces per sentence", "int", 48, 8, 200),
            Param("batch_size", "batch size", "int", 128, 4, 1024),
            Param("lr", "learning rate", "float", 0.003, 0.00001, 0.1),
            Param("direction", "own file direction", "choice", "to-en", choices=["to-en", "from-en"]),
        ], file_filter="Tab-separated pairs (*.tsv *.txt);;All files (*)")
        self.training.trainRequested.connect(self._on_train)
        self.training.cancelRequested.connect(self.cancel_training)
        self.card_view = ModelCardView()
        self.side = QTabWidget()
        self.side.addTab(table_box, "BLEU / time")
        self.side.addTab(self.training, "Train")
        self.side.addTab(self.card_view, "Model card")

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self._figure = left

    # -- models -------------------------------------------------------------------------
    def _on_listed(self, names: list) -> None:
        if not names:
            self._on_load_error("no translation model is shipped or trained yet: "
                                "run `seqlab train translate`")
            return
        for name in sorted(names, key=lambda n: (n != "it-en", n)):
            self._load(name)

    def _load(self, name: str) -> None:
        self.submit(f"load.{name}", load_job, name, self.bridge.engine.device, lane="background",
                    on_done=self._on_loaded, on_error=self._on_load_error)

    def device_changed(self, device: str) -> None:
        """Reload every loaded model on the new device (in background jobs, as at start-up)."""
        for name in list(self.models):
            self._load(name)

    def _on_loaded(self, translator) -> None:
        name = translator.card.name
        self.models[name] = translator
        label = f"{name}  ({translator.model.cfg.attention})"
        if self.model_combo.findData(name) < 0:
            self.model_combo.addItem(label, name)
        if not self.current or self.current == name:
            self._use(name)
        self.submit(f"timing.{name}", timing_job, translator, lane="background",
                    on_done=self._on_timed, on_error=self._on_timing_error)
        self._fill_table()

    def _on_load_error(self, message: str) -> None:
        if message == "cancelled":
            return
        self.status.setText(message)
        if not self.models:
            self.translation.setText("no model")
            self.card_view.set_card(None, error=message)
        if self._self_test_done is not None and not self.models:
            done, self._self_test_done = self._self_test_done, None
            done(False, message)

    def _use(self, name: str) -> None:
        translator = self.models[name]
        self.current = name
        self.slot.publish(translator)
        self.model_combo.setCurrentIndex(self.model_combo.findData(name))
        self.card_view.set_card(translator.card)
        if self._self_test_done is not None:
            self._run_self_test()
        self._predict()

    def _on_model_chosen(self, index: int) -> None:
        name = self.model_combo.itemData(index)
        if name in self.models:
            self._use(name)

    def _on_timed(self, out: dict) -> None:
        self.timings[out["name"]] = out["seconds"]
        self._fill_table()

    def _on_timing_error(self, message: str) -> None:
        pass                                       # the table just shows no time

    def _fill_table(self) -> None:
        rows = []
        for name, tr in sorted(self.models.items()):
            metrics = tr.card.metrics if tr.card else {}
            for beam in (1, 5):
                bleu = metrics.get(f"bleu_beam{beam}")
                secs = self.timings.get(name, {}).get(beam)
                attention = tr.model.cfg.attention          # (said once: it-en-luong-general)
                shown = name if attention in name else f"{name} ({attention})"
                rows.append((shown, str(beam),
                             "—" if bleu is None else f"{bleu:.1f}",
                             "…" if secs is None else f"{secs:.3f}"))
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))

    # -- live prediction ------------------------------------------------------------------
    def _on_text_changed(self) -> None:
        self._timer.start()                        # translate when typing pauses

    def _on_beam(self, value: int) -> None:
        self.beam_label.setText(f"beam {value}")
        self._predict()

    def _predict(self) -> None:
        translator = self.slot.get()
        text = self.editor.toPlainText()
        if translator is None:
            return
        if not text.strip():
            self._show_empty()
            return
        self.submit("predict", predict_job, translator, text, self.beam.value(),
                    on_done=self._show, on_error=self._on_predict_error)

    def _show_empty(self, message: str = "Type an Italian sentence; it is translated when you pause.") -> None:
        self.result = None
        self.translation.setText("—")
        self.status.setText(message)
        self.alignment.clear()
        self.nbest.clear()

    def _show(self, out: dict) -> None:
        self.result = out
        self.translation.setText(out["translation"] or "—")
        model = "the model in training" if self._before_training is not None else self.current
        note = f"decoded in {out['ms']:.0f} ms at beam {self.beam.value()} with {model}"
        if out.get("notice"):
            note += f" · {out['notice']}"
        self.status.setText(note)
        self.alignment.set_result(out)
        self.nbest.clear()
        sentences = out.get("sentences") or [{"source": "", "nbest": out["nbest"]}]
        for number, sentence in enumerate(sentences, 1):
            if len(sentences) > 1:              # an n-best list is per sentence
                self.nbest.addItem(f"sentence {number}: {sentence['source']}")
            for i, h in enumerate(sentence["nbest"], 1):
                self.nbest.addItem(f"{i}.  {h['score']:+.3f}   {h['text']}")

    def _on_predict_error(self, message: str) -> None:
        if message != "cancelled":              # nothing of the last translation stays on screen
            self._show_empty(message)

    def _on_word_hovered(self, link: str) -> None:
        """Hover a word as if the mouse were on it ("tgt:0", "src:2", "" for none)."""
        self.alignment.on_word_hovered(link)

    # -- training -------------------------------------------------------------------------
    def _on_train(self, values: dict) -> None:
        options = {k: values[k] for k in ("attention", "epochs", "hidden", "emb", "src_vocab",
                                          "tgt_vocab", "max_len", "batch_size", "lr", "direction")}
        if values.get("own_file"):
            options["own_file"] = values["own_file"]
            # (a valid name whatever the file is called: "my pairs (1).tsv" -> my-my-pairs-1-…)
            options["name"] = f"{cards.own_file_name(values['own_file'])}-{values['attention']}"
            what = values["own_file"]
        else:
            pair = values["dataset"].split()[-1]
            options["pair"] = pair
            options["name"] = f"my-{pair}-{values['attention']}"
            what = f"the Bible, {pair}"
        self._before_training = (self.current, self.slot.get())
        self.model_combo.setEnabled(False)        # the training's snapshots are what is live now
        self.training.started(f"training {options['name']} on {what}…" + self.waiting_note())
        self.submit("train", train_job, options, lane="background", on_progress=self._on_train_progress,
                    on_done=self._on_trained, on_error=self._on_train_error)

    def _on_train_progress(self, event) -> None:
        self.training.on_progress(event)
        if event.checkpoint is not None:          # live translations improve while it trains
            self.slot.publish(event.checkpoint)
            self._predict()

    def _on_trained(self, card) -> None:
        m = card.metrics
        self.training.finished(f"saved {card.name}: test BLEU {m.get('bleu_beam1')} (beam 1), "
                               f"{m.get('bleu_beam5')} (beam 5), {card.seconds:.0f} s")
        self._before_training = None
        self.model_combo.setEnabled(True)
        self.current = card.name
        self._load(card.name)

    def _on_train_error(self, message: str) -> None:
        if self._before_training is not None:     # cancel / failure keeps the previous model
            name, model = self._before_training
            self.current = name
            self.slot.publish(model)
            self._before_training = None
            self._predict()
        self.model_combo.setEnabled(True)
        self.training.finished(self.training_failed_text(message), ok=False)

    # -- DemoTab hooks --------------------------------------------------------------------
    def self_test(self, done: Callable[[bool, str], None]) -> None:
        self._self_test_done = done
        if self.slot.get() is not None:
            self._run_self_test()

    def _run_self_test(self) -> None:
        self.submit("selftest", predict_job, self.slot.get(), SELF_TEST_TEXT, 5,
                    on_done=self._on_self_test, on_error=self._on_self_test_error)

    def _on_self_test(self, out: dict) -> None:
        done, self._self_test_done = self._self_test_done, None
        if done is not None:
            ok = bool(out.get("translation")) and len(out["alignment"]) == len(out["target_tokens"])
            done(ok, f"“{SELF_TEST_TEXT}” → “{out.get('translation', '')}” ({out.get('ms', 0):.0f} ms)")

    def _on_self_test_error(self, message: str) -> None:
        done, self._self_test_done = self._self_test_done, None
        if done is not None:
            done(False, message)

    def demo_input(self) -> None:
        self.editor.setPlainText(DEMO_TEXT)
        self._timer.stop()
        self._predict()

    def figure_widget(self) -> QWidget:
        return self._figure


if __name__ == "__main__":
    import sys

    from desktop.tabs.preview import run_preview
    sys.exit(run_preview(Tab))
