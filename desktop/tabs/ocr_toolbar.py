"""The OCR tab's toolbar: the pen and the inputs on one row, the model and its recognizer on another.

Only widgets: the tab (desktop/tabs/ocr.py) wires them. Two rows, so that the tab fits a narrow
window (a projector at 150% zoom).
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)


class Toolbar(QWidget):
    def __init__(self, *recognizers: str, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.width_box = QSpinBox()
        self.width_box.setRange(2, 60)
        self.width_box.setValue(14)
        self.width_box.setPrefix("stroke ")
        self.undo_button = QPushButton("Undo")
        self.clear_button = QPushButton("Clear")
        self.check_button = QPushButton("New random check")
        self.open_button = QPushButton("Open image…")
        self.model_combo = QComboBox()          # the shipped model and the ones trained here
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_combo.setMinimumContentsLength(10)
        self.model_combo.setToolTip("amounts: the shipped model; my-amounts: what this tab's Training page saved")
        self.recognizer = QComboBox()           # the CNN after isolated pre-training, or after GTN training
        self.recognizer.addItems(list(recognizers))
        self.heuristic_cuts = QCheckBox("+ heuristic cuts")
        self.heuristic_cuts.setToolTip(
            "also cut the components at least 1.5 digit heights wide at the projection minima, into "
            "the same lattice: the recognizer chooses among crossing cuts, component by component "
            "(docs/OCR_NOTEBOOK.md, stops 18-19: +0.3 points on 6,000 validation amounts, ~1 ms "
            "more per reading)")
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        for widgets in ((self.width_box, self.undo_button, self.clear_button, self.check_button, self.open_button),
                        (QLabel("model:"), self.model_combo, QLabel("recognizer:"), self.recognizer,
                         self.heuristic_cuts)):
            row = QHBoxLayout()
            for w in widgets:
                row.addWidget(w)
            row.addStretch(1)
            rows.addLayout(row)
