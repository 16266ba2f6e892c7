"""Type-ahead tab: a Kneser-Ney n-gram, an LSTM and a gated CNN race to predict your next word.

Type in the editor: after every keystroke each model proposes its top-5 next words (or, inside a
word, the vocabulary words with that prefix ranked by next-word probability), with its latency
for that keystroke. The chosen model's best completion appears as grey ghost text; Tab accepts
it. The n-gram order (1-5) shows the Markov assumption at work; temperature flattens or sharpens
the distributions; "Generate" samples a continuation word by word. The perplexity table compares
the shipped models like the lecture's; the training panel trains a new one with a live plot.

This file is the tab: the models, the live slots and every engine submission. Its engine-side
jobs (plain functions run on the lanes, no Qt) live in desktop/tabs/typeahead_jobs.py; the editor
with the ghost completion is its own idea in desktop/tabs/typeahead_editor.py.
"""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QTextCursor
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QGridLayout,
                               QHBoxLayout, QLabel, QPushButton, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from desktop.bridge import EngineBridge
from desktop.tabs.base import DemoTab
from desktop.tabs.typeahead_editor import GhostEditor
from desktop.tabs.typeahead_jobs import generate_job, load_job, predict_job, self_test_job, train_job
from desktop.widgets.model_card_view import ModelCardView
from desktop.widgets.topk_bars import TopKBars
from desktop.widgets.training_panel import Param, TrainingPanel
from engine.runtime import ModelSlot

KINDS = ("kn", "lstm", "gcnn")
LABELS = {"kn": "Kneser-Ney 5-gram", "lstm": "LSTM", "gcnn": "Gated CNN"}
SHORT = {"kn": "KN 5-gram", "lstm": "LSTM", "gcnn": "GCNN"}
DATASETS = ["sotu", "moby-dick"]
DEMO_TEXT = "My fellow Americans, the state of our "
SELF_TEST_TEXT = "The State of the "


# -- widgets -------------------------------------------------------------------------------------
class ModelColumn(QWidget):
    """One model's top-5 with probabilities and its latency for the last keystroke."""

    def __init__(self, kind: str, font: QFont, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setFont(font)
        self.title = QLabel(LABELS[kind])
        f = QFont(font)
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.2)
        self.title.setFont(f)
        self.bars = TopKBars(5)
        self.latency = QLabel("loading…")
        # wrapped rather than widening the column: three columns must fit a zoomed-in window
        self.title.setWordWrap(True)
        self.latency.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.bars)
        layout.addWidget(self.latency)
        layout.addStretch(1)


# -- the tab -------------------------------------------------------------------------------------
class Tab(DemoTab):
    task = "typeahead"
    title = "Type-ahead"

    def __init__(self, bridge: EngineBridge, parent: Optional[QWidget] = None):
        super().__init__(bridge, parent)
        self.slots = {k: ModelSlot() for k in KINDS}     # TypeAhead per model, swapped by training
        self.cards: dict[str, object] = {}
        self.last: dict[str, dict] = {}                  # the latest prediction of each model
        self._training_kind = ""
        self._self_test_done: Optional[Callable] = None
        self._generated = ""                             # continuation inserted so far
        self._build()
        for kind in KINDS:
            self.submit(f"load.{kind}", load_job, kind, kind, lane="background",
                        on_done=self._on_loaded, on_error=self._on_load_error)

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        big = QFont(self.font())
        big.setPointSizeF(max(13.0, big.pointSizeF() * 1.3))
        self.setFont(big)
        heading = self.heading("Predict p(w_t | w_<t): count-based n-grams vs an LSTM vs a gated CNN", big)

        self.editor = GhostEditor()
        ef = QFont(big)
        ef.setPointSizeF(big.pointSizeF() * 1.5)
        self.editor.setFont(ef)
        self.editor.setPlaceholderText("Start typing… (Tab accepts the grey completion)")
        self.editor.setMinimumHeight(110)
        self.editor.setMaximumHeight(190)
        self.editor.textChanged.connect(self._predict)

        self.order = QSpinBox()
        self.order.setRange(1, 5)
        self.order.setValue(5)
        self.order.setToolTip("n-gram order: the Kneser-Ney model sees only the last order-1 words")
        self.order.valueChanged.connect(self._predict)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.1, 3.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(1.0)
        self.temperature.valueChanged.connect(self._predict)
        self.ghost_model = QComboBox()
        self.ghost_model.addItems([LABELS[k] for k in KINDS])
        self.ghost_model.setCurrentIndex(1)
        self.ghost_model.currentIndexChanged.connect(self._update_ghost)
        self.generate_model = QComboBox()
        self.generate_model.addItems([LABELS[k] for k in KINDS])
        self.generate_model.setCurrentIndex(1)
        self.n_words = QSpinBox()
        self.n_words.setRange(1, 200)
        self.n_words.setValue(30)
        self.generate_button = QPushButton("Generate")
        self.generate_button.clicked.connect(self._on_generate)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self._on_stop_generate)
        controls = QHBoxLayout()
        for label, w in [("n-gram order", self.order), ("temperature", self.temperature),
                         ("ghost text from", self.ghost_model)]:
            controls.addWidget(QLabel(label))
            controls.addWidget(w)
        controls.addStretch(1)
        gen = QHBoxLayout()
        gen.addWidget(self.generate_button)
        gen.addWidget(QLabel("with"))
        gen.addWidget(self.generate_model)
        gen.addWidget(self.n_words)
        gen.addWidget(QLabel("words"))
        gen.addWidget(self.stop_button)
        gen.addStretch(1)

        self.columns = {k: ModelColumn(k, big) for k in KINDS}
        race = QWidget()
        grid = QGridLayout(race)
        for i, k in enumerate(KINDS):
            grid.addWidget(self.columns[k], 0, i)
        self.hint = QLabel("")
        self.hint.setWordWrap(True)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(heading)
        lv.addWidget(self.editor, 1)
        lv.addLayout(controls)
        lv.addLayout(gen)
        lv.addWidget(race, 2)
        lv.addWidget(self.hint)

        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["model", "test ppl", "params", "size", "training",
                                              "hardware"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table_note = QLabel("Held-out perplexity on the State of the Union speeches "
                                 "(speeches of years ending in 5), same 15k-word vocabulary.")
        self.table_note.setWordWrap(True)
        table_page = QWidget()
        tv = QVBoxLayout(table_page)
        tv.addWidget(self.table)
        tv.addWidget(self.table_note)

        self.panel = TrainingPanel(DATASETS, [
            Param("arch", "model", "choice", "lstm", choices=list(KINDS)),
            Param("steps", "steps (lstm/gcnn)", "int", 300, minimum=10, maximum=20000),
            Param("order", "n-gram order (kn)", "int", 5, minimum=1, maximum=5),
        ], file_filter="Text files (*.txt);;All files (*)")
        self.panel.trainRequested.connect(self._on_train)
        self.panel.cancelRequested.connect(self.cancel_training)

        self.card_choice = QComboBox()
        self.card_choice.addItems([LABELS[k] for k in KINDS])
        self.card_choice.currentIndexChanged.connect(self._show_card)
        self.card_view = ModelCardView()
        card_page = QWidget()
        cv = QVBoxLayout(card_page)
        cv.addWidget(self.card_choice)
        cv.addWidget(self.card_view, 1)

        self.side_by_side(left, [(table_page, "Perplexity"), (self.panel, "Train"),
                                 (card_page, "Model card")])
        self._figure = left

    # -- models -----------------------------------------------------------------------------
    def _on_loaded(self, result) -> None:
        kind, typer = result
        self.slots[kind].publish(typer)
        self.cards[kind] = typer.predictor.card
        self.columns[kind].latency.setText("ready")
        self._fill_table()
        self._show_card()
        self._predict_one(kind)

    def _on_load_error(self, message: str) -> None:
        if message == "cancelled":
            return
        self.hint.setText(message)
        for kind in KINDS:
            if self.slots[kind].get() is None:
                self.columns[kind].latency.setText("not available")

    def _fill_table(self) -> None:
        rows = [(k, c) for k, c in ((k, self.cards.get(k)) for k in KINDS) if c is not None]
        self.table.setRowCount(len(rows))
        for r, (kind, card) in enumerate(rows):
            ppl = card.metrics.get("test_ppl")
            cells = [SHORT[kind] + ("" if card.name == kind else f" ({card.name})"),
                     f"{ppl:.1f}" if ppl else "—",
                     f"{card.params:,}", f"{card.bytes / 1e6:.1f} MB",
                     f"{card.seconds / 60:.1f} min",
                     card.extra.get("hardware", card.device) if isinstance(card.extra, dict) else card.device]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c in (1, 2, 3, 4):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    def _show_card(self, *_args) -> None:
        kind = KINDS[self.card_choice.currentIndex()]
        self.card_view.set_card(self.cards.get(kind))

    # -- live prediction --------------------------------------------------------------------
    def _predict(self, *_args) -> None:
        for kind in KINDS:
            self._predict_one(kind)

    def _predict_one(self, kind: str) -> None:
        typer = self.slots[kind].get()
        if typer is None:
            return
        self.submit(f"predict.{kind}", predict_job, kind, typer, self.editor.toPlainText(),
                    self.order.value(), self.temperature.value(),
                    on_done=self._show, on_error=self._on_predict_error)

    def _show(self, out: dict) -> None:
        kind = out["kind"]
        self.last[kind] = out
        col = self.columns[kind]
        col.bars.set_items([(n["word"], n["p"]) for n in out["next"]])
        col.latency.setText(f"{out['ms']:.1f} ms this keystroke")
        self._update_ghost()

    def _update_ghost(self, *_args) -> None:
        """Ghost text from the chosen model, or from the first one loaded if it is missing."""
        chosen = KINDS[self.ghost_model.currentIndex()]
        kind = chosen if chosen in self.last else next((k for k in KINDS if k in self.last), None)
        out = self.last.get(kind) if kind else None
        self.editor.set_ghost(out["ghost"] if out else "")

    def _on_predict_error(self, message: str) -> None:
        if message != "cancelled":
            self.hint.setText(message)

    # -- generate ---------------------------------------------------------------------------
    def _on_generate(self) -> None:
        kind = KINDS[self.generate_model.currentIndex()]
        typer = self.slots[kind].get()
        if typer is None:
            self.hint.setText(f"the {LABELS[kind]} model is not loaded")
            return
        self.generate_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self._generated = ""
        self.submit("generate", generate_job, typer.predictor, self.editor.toPlainText(),
                    self.n_words.value(), self.temperature.value(), self.order.value(),
                    # interactive lane: it runs while a training holds the background lane (and
                    # shows how the training's snapshots write); keystrokes wait for it meanwhile
                    on_progress=self._on_generated_word,
                    on_done=self._on_generate_done, on_error=self._on_generate_done)

    def _on_generated_word(self, event) -> None:
        new = event.message[len(self._generated):]
        self._generated = event.message
        cursor = self.editor.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(new)
        self.editor.setTextCursor(cursor)

    def _on_generate_done(self, _result) -> None:
        self.generate_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _on_stop_generate(self) -> None:
        ticket = self.tickets.get("generate")
        if ticket is not None:
            ticket.cancel()

    # -- training ---------------------------------------------------------------------------
    def _on_train(self, values: dict) -> None:
        self._training_kind = values["arch"]
        self.panel.started(f"training {LABELS[values['arch']]} on "
                           f"{values.get('own_file') or values['dataset']}…" + self.waiting_note())
        self.submit("train", train_job, values, lane="background", on_progress=self._on_train_progress,
                    on_done=self._on_trained, on_error=self._on_train_error)

    def _on_train_progress(self, event) -> None:
        self.panel.on_progress(event)
        if event.checkpoint is not None:           # a ready predictor: predict with it right away
            from engine.typeahead.complete import TypeAhead
            self.slots[self._training_kind].publish(TypeAhead(event.checkpoint))
            self._predict_one(self._training_kind)

    def _on_trained(self, card) -> None:
        self.panel.finished(f"saved {card.name}: held-out perplexity {card.metrics.get('test_ppl')}")
        self.submit(f"load.{self._training_kind}", load_job, self._training_kind, card.name,
                    lane="background", on_done=self._on_loaded, on_error=self._on_load_error)

    def _on_train_error(self, message: str) -> None:
        self.panel.finished(self.training_failed_text(message), ok=False)
        # A cancelled run may have published checkpoints: go back to the saved model.
        kind = self._training_kind
        card = self.cards.get(kind)
        self.submit(f"load.{kind}", load_job, kind, card.name if card else kind, lane="background",
                    on_done=self._on_loaded, on_error=self._on_load_error)

    # -- DemoTab ----------------------------------------------------------------------------
    def self_test(self, done: Callable[[bool, str], None]) -> None:
        self._self_test_done = done
        self.submit("selftest", self_test_job, self.slots["kn"].get(), SELF_TEST_TEXT, lane="background",
                    on_done=self._on_self_test, on_error=self._on_self_test_error)

    def _on_self_test(self, out: dict) -> None:
        ok = bool(out.get("next"))
        words = ", ".join(n["word"] for n in out.get("next", [])[:3])
        if self._self_test_done:
            self._self_test_done(ok, f"'{SELF_TEST_TEXT}' -> {words}" if ok else "no prediction")

    def _on_self_test_error(self, message: str) -> None:
        if self._self_test_done:
            self._self_test_done(False, message)

    def demo_input(self) -> None:
        self.editor.setPlainText(DEMO_TEXT)
        self.editor.moveCursor(QTextCursor.MoveOperation.End)

    def figure_widget(self) -> QWidget:
        return self._figure


if __name__ == "__main__":
    import sys

    from desktop.tabs.preview import run_preview
    sys.exit(run_preview(Tab))
