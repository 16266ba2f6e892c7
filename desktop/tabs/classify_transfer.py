"""The Text classification tab's "Evaluate" panel: the model in use, measured on other data sets.

The lecture's domain-transfer point: a sentiment model trained on movie reviews (rotten
tomatoes) reads amazon reviews, New York Times snippets and tweets less well. Each click adds
one row per data set (model, data set, test texts, accuracy) to a table that keeps earlier rows,
so models can be compared side by side. A fastText/CSV file of the user's is measured on its
test split (the same deterministic split training uses).

Like the compression panel, it only asks and shows: it emits ``evaluateRequested`` and the tab
(desktop/tabs/classify.py) submits ``evaluate_job`` on the background lane; the bridge calls
``show_result`` / ``failed`` back on the GUI thread.
"""
from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from desktop.widgets.training_panel import OWN_FILE, TEXT_FILES

# the sets with the sentiment model's labels; "sentiment" is its own test split (in domain)
SENTIMENT_SETS = ["sentiment", "vader-amazon", "vader-nyt", "vader-tweets", "vader-movie"]
NOTE = ("Trained on movie reviews, tested elsewhere: the drop is domain transfer. vader-movie is "
        "not a transfer test: its snippets are the same Pang & Lee sentences, many of them in "
        "the sentiment training split.")


def evaluate_job(model, model_name: str, data: str) -> dict:
    """Engine lane: test accuracy of `model` on `data` (no widgets touched here)."""
    from engine.classify import pipeline
    return {**pipeline.evaluate_on(model, data), "model": model_name}


class TransferPanel(QWidget):
    # data set names to evaluate the model in use on
    evaluateRequested = Signal(list)

    def __init__(self, datasets, parent=None):
        super().__init__(parent)
        self.data = QComboBox()
        self.data.addItems(list(datasets) + [OWN_FILE])
        self.data.activated.connect(self._on_data_chosen)
        self._own_file = ""
        one = QPushButton("Evaluate on this set")
        one.clicked.connect(self._on_one)
        every = QPushButton("…on every sentiment set")
        every.clicked.connect(self._on_every)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["model", "evaluated on", "test texts", "accuracy"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        note = QLabel(NOTE)
        note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.data, 1)
        row.addWidget(one)
        row.addWidget(every)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)

    def _on_data_chosen(self, _index: int) -> None:
        if self.data.currentText() == OWN_FILE:
            path, _ = QFileDialog.getOpenFileName(self, "Evaluate on your own file", "", TEXT_FILES)
            if path:
                self.set_own_file(path)
            else:
                self.data.setCurrentIndex(0)

    def set_own_file(self, path: str) -> None:
        """Evaluate on this fastText/CSV file's test split (what the file dialog does; tests call it)."""
        self._own_file = path
        self.data.setCurrentText(OWN_FILE)

    def _on_one(self) -> None:
        chosen = self.data.currentText()
        if chosen == OWN_FILE and not self._own_file:
            self.show_message("choose a file first")
            return
        self.evaluateRequested.emit([self._own_file if chosen == OWN_FILE else chosen])

    def _on_every(self) -> None:
        self.evaluateRequested.emit(list(SENTIMENT_SETS))

    # -- fed by the tab ---------------------------------------------------------------------------
    def started(self, model: str, data: list) -> None:
        self.status.setText(f"evaluating {model} on {', '.join(map(os.path.basename, data))}…")

    def show_result(self, out: dict) -> None:
        # (a set with no test texts never gets here: evaluate_on refuses it with a message)
        cells = [out.get("model", ""), os.path.basename(out["data"]), f"{out['n']:,}", f"{out['accuracy']:.4f}"]
        r = self.table.rowCount()
        self.table.insertRow(r)
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if c >= 2:                                       # numbers line up on the right
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.table.setItem(r, c, item)
        self.table.scrollToBottom()
        unknown = out.get("unknown_label_texts")
        self.status.setText(f"{out.get('model')} on {cells[1]}: {cells[3]}"
                            + (f" ({unknown:,} texts have labels the model does not know)" if unknown else ""))

    def failed(self, message: str) -> None:
        if message != "cancelled":
            self.status.setText(message)

    def show_message(self, message: str) -> None:
        self.status.setText(message)
