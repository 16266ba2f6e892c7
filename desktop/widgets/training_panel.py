"""TrainingPanel: pick a data set (or your own file), set key hyper-parameters, Train / Cancel,
and watch progress: bar, ETA, live loss + metric plot, and a log.

The panel never trains anything itself: it emits ``trainRequested(dict)`` and the tab submits the
job; the tab feeds ``started``, ``on_progress`` and ``finished`` back.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Optional, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton,
                               QSpinBox, QVBoxLayout, QWidget)

from desktop.widgets.live_plot import LivePlot

OWN_FILE = "your own file…"
TEXT_FILES = "Text files (*.txt *.csv *.tsv);;All files (*)"      # the own-file dialog's default filter


@dataclasses.dataclass
class Param:
    name: str                 # key in the trainRequested dict
    label: str                # shown to the user
    kind: str                 # "int", "float", "choice" or "bool"
    default: Any
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    choices: Optional[Sequence[str]] = None


def _format_eta(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600} h {seconds % 3600 // 60} min"


class TrainingPanel(QWidget):
    # the chosen settings: {"dataset", "own_file" (path or None), <param name>: value, ...}
    trainRequested = Signal(dict)
    # the user pressed Cancel
    cancelRequested = Signal()

    def __init__(self, datasets: Sequence[str], params: Sequence[Param],
                 file_filter: str = TEXT_FILES,
                 parent: Optional[QWidget] = None):
        super().__init__(parent)
        self._file_filter = file_filter
        self._own_file: Optional[str] = None
        self._t0 = 0.0
        self._editors: dict[str, QWidget] = {}
        self.dataset = QComboBox()
        self.dataset.addItems(list(datasets) + [OWN_FILE])
        self.dataset.activated.connect(self._on_dataset_chosen)
        form = QFormLayout()
        form.addRow("Data set", self.dataset)
        for p in params:
            editor = self._editor(p)
            self._editors[p.name] = editor
            form.addRow(p.label, editor)
        self.train_button = QPushButton("Train")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.train_button.clicked.connect(self._on_train)
        self.cancel_button.clicked.connect(self.cancelRequested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("idle")
        self.status.setWordWrap(True)          # a long result line must not widen the panel
        self.plot = LivePlot("training", "step", "loss")
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(500)
        self.log_view.setMaximumHeight(110)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.log_view)

    # -- building ----------------------------------------------------------------------------
    @staticmethod
    def _editor(p: Param) -> QWidget:
        if p.kind == "int":
            w = QSpinBox()
            w.setRange(int(p.minimum if p.minimum is not None else 0),
                       int(p.maximum if p.maximum is not None else 10**9))
            w.setValue(int(p.default))
        elif p.kind == "float":
            w = QDoubleSpinBox()
            w.setDecimals(4)
            w.setRange(float(p.minimum if p.minimum is not None else 0.0),
                       float(p.maximum if p.maximum is not None else 1e9))
            w.setSingleStep(max(abs(float(p.default)) / 10, 1e-4))
            w.setValue(float(p.default))
        elif p.kind == "choice":
            w = QComboBox()
            w.addItems([str(c) for c in (p.choices or [])])
            w.setCurrentText(str(p.default))
        elif p.kind == "bool":
            w = QCheckBox()
            w.setChecked(bool(p.default))
        else:
            raise ValueError(f"unknown parameter kind {p.kind!r}")
        return w

    def values(self) -> dict:
        out: dict[str, Any] = {"dataset": self.dataset.currentText(), "own_file": None}
        if out["dataset"] == OWN_FILE:
            out["own_file"] = self._own_file
        for name, w in self._editors.items():
            if isinstance(w, QSpinBox):
                out[name] = w.value()
            elif isinstance(w, QDoubleSpinBox):
                out[name] = w.value()
            elif isinstance(w, QComboBox):
                out[name] = w.currentText()
            elif isinstance(w, QCheckBox):
                out[name] = w.isChecked()
        return out

    def editor(self, name: str) -> QWidget:
        """The widget that edits parameter `name` (a tab may enable it only when it applies)."""
        return self._editors[name]

    def set_value(self, name: str, value: Any) -> None:
        w = self._editors[name]
        if isinstance(w, (QSpinBox, QDoubleSpinBox)):
            w.setValue(value)
        elif isinstance(w, QComboBox):
            w.setCurrentText(str(value))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))

    def set_own_file(self, path: Optional[str]) -> None:
        """Select 'your own file…' with this path (what the file dialog does; tests call it)."""
        self._own_file = path
        self.dataset.setCurrentText(OWN_FILE)
        if path:
            self.log(f"data: {path}")

    # -- user actions --------------------------------------------------------------------------
    def _on_dataset_chosen(self, _index: int) -> None:
        if self.dataset.currentText() == OWN_FILE:
            path, _ = QFileDialog.getOpenFileName(self, "Train on your own file", "", self._file_filter)
            if path:
                self.set_own_file(path)
            else:
                self.dataset.setCurrentIndex(0)

    def _on_train(self) -> None:
        values = self.values()
        if values["dataset"] == OWN_FILE and not values["own_file"]:
            self.finished("choose a file first", ok=False)
            return
        self.trainRequested.emit(values)

    # -- fed by the tab --------------------------------------------------------------------------
    def started(self, message: str = "") -> None:
        self._t0 = time.monotonic()
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.plot.clear()
        self.status.setText(message or "training…")
        if message:
            self.log(message)

    def on_progress(self, event) -> None:
        self.progress.setValue(int(round(event.fraction * 1000)))
        elapsed = time.monotonic() - self._t0
        eta = elapsed / event.fraction * (1 - event.fraction) if event.fraction > 0 else 0
        parts = [f"step {event.step}/{event.total}", f"ETA {_format_eta(eta)}"]
        if event.loss is not None:
            parts.append(f"loss {event.loss:.4f}")
            self.plot.add_point("loss", event.step, event.loss)
        for k, v in (event.metrics or {}).items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            parts.append(f"{k} {v:.4g}")
            if isinstance(v, float):         # a measure (ppl, accuracy, BLEU), not a counter (epoch)
                self.plot.add_point(k, event.step, v, right=True)
        if event.message:                    # the phase ("evaluating on …") says why the bar waits
            parts.append(event.message)
            self.log(event.message)
        self.status.setText(" · ".join(parts))

    def finished(self, message: str, ok: bool = True) -> None:
        self.train_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if ok:
            self.progress.setValue(1000)
        self.status.setText(message)
        self.log(message)

    def log(self, text: str) -> None:
        self.log_view.appendPlainText(text)
