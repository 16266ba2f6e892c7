"""The OCR tab's "Reading" page: the Viterbi reading, its alternatives, the true amount and its loss.

Only widgets and the words on them: the tab (desktop/tabs/ocr.py) runs the jobs and wires the
clicks; this page says what a reading and a GTN loss mean, in the lecture's terms.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QPushButton, QVBoxLayout, QWidget

from desktop.tabs.ocr_drawing import segments_text
from desktop.widgets.capped_label import CappedLabel


class ReadingPage(QWidget):
    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 1.3)
        self.amount_label = QLabel("—")
        f = QFont(self.font())
        f.setPointSizeF(f.pointSizeF() * 2.6)
        f.setBold(True)
        self.amount_label.setFont(f)
        self.amount_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # (wrapped labels that ask for the lines they need: at 200% zoom plain ones were clipped)
        self.info_label = CappedLabel("", max_lines=6)
        self.alternatives = QListWidget()
        self.alternatives.setFont(big)
        self.truth_edit = QLineEdit()
        self.truth_edit.setPlaceholderText("type the true amount, e.g. 1,250.70")
        self.truth_edit.setFont(big)
        self.loss_label = CappedLabel("", max_lines=4)
        self.loss_label.setFont(big)
        self.train_this = QPushButton("Train on this (one GTN step)")
        self.train_this.setEnabled(False)
        layout = QVBoxLayout(self)
        self.title = QLabel("Viterbi reading")
        layout.addWidget(self.title)
        layout.addWidget(self.amount_label)
        layout.addWidget(self.info_label)
        layout.addWidget(QLabel("Top alternatives (click to see the path)"))
        layout.addWidget(self.alternatives, 1)
        layout.addWidget(QLabel("True amount → constrained graph, GTN loss, per-arc gradient"))
        layout.addWidget(self.truth_edit)
        layout.addWidget(self.loss_label)
        layout.addWidget(self.train_this)

    def show_nothing(self, message: str) -> None:
        self.amount_label.setText("—")
        self.info_label.setText(message)
        self.alternatives.clear()
        self.loss_label.setText("")
        self.train_this.setEnabled(False)

    def show_reading(self, reading) -> None:
        """An engine.ocr.graph.Reading: the amount, how it scored, and its alternatives (row 0: itself)."""
        self.amount_label.setText(reading.amount or "∅")
        warning = "low confidence: this may not be a handwritten amount · " if reading.doubtful else ""
        # a reading that left a mark out (the best path was no amount: engine/ocr/grammar.py) is no
        # path of the lattice, so it has no posterior there
        from engine.ocr.grammar import SKIP_COST
        self.title.setText("Best reading in the form of an amount" if reading.skipped else "Viterbi reading")
        how = (f"{len(reading.skipped)} mark(s) left out as pieces of ink, −{SKIP_COST:g} each (the best "
               f"path, {reading.alternatives[0][0] if reading.alternatives else '?'}, is no amount)"
               if reading.skipped else f"P(amount | image) = {reading.posterior:.1%}")
        self.info_label.setText(
            f"{warning}score {reading.score:.2f} (sum of log-probabilities on the path) · "
            f"{how} · {segments_text(reading.cands)}, "
            f"{len(reading.cands.spans)} candidate characters · {reading.ms:.0f} ms")
        self.alternatives.blockSignals(True)
        self.alternatives.clear()
        self.alternatives.addItem(f"{reading.amount}    {reading.score:.2f}   "
                                  f"({'best amount form' if reading.skipped else 'Viterbi'})")
        for amount, score, _ in reading.alternatives:
            self.alternatives.addItem(f"{amount}    {score:.2f}")
        self.alternatives.setCurrentRow(0)
        self.alternatives.blockSignals(False)

    def show_loss(self, view) -> None:
        """The GTN loss of the typed amount (a truth view of desktop/tabs/ocr_jobs.py), or why there
        is none; "train on this" is offered only when there is one."""
        if view is None:
            self.loss_label.setText("")
        elif not view.spans:
            self.loss_label.setText(f"no path of this lattice reads “{view.text}”: the segmenter "
                                    "missed a cut (or the amount has other characters)")
        else:
            self.loss_label.setText(f"GTN loss = −log P(“{view.text}” | image) = {view.loss:.3f}   "
                                    f"(P = {np.exp(-view.loss):.1%})")
        self.train_this.setEnabled(view is not None and bool(view.spans))


def arc_text(reading, span: int) -> str:
    """One clicked lattice arc in words: which segments it groups and its three likeliest labels."""
    from engine.ocr.checks import CHARSET
    lp = reading.logp[span].exp()
    best = sorted(range(len(CHARSET) + 1), key=lambda i: -float(lp[i]))[:3]
    names = [CHARSET[i] if i < len(CHARSET) else "not a character" for i in best]
    c = reading.cands
    _, k, m = c.segments_of(span)
    which = f"segmentation {c.origin[span][0] + 1}, " if c.origin else ""
    return f"{which}segments {k}..{m - 1}: " + ", ".join(f"{n} {float(lp[i]):.1%}" for n, i in zip(names, best))
