"""TopKBars: the k most probable labels/words as horizontal bars with their probabilities."""
from __future__ import annotations

from typing import Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QWidget


class TopKBars(QWidget):
    def __init__(self, k: int = 5, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._rows: list[tuple[QLabel, QProgressBar]] = []
        self.set_k(k)

    def set_k(self, k: int) -> None:
        while len(self._rows) < k:
            label, bar = QLabel(), QProgressBar()
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            bar.setRange(0, 1000)
            bar.setTextVisible(True)
            row = len(self._rows)
            self._grid.addWidget(label, row, 0)
            self._grid.addWidget(bar, row, 1)
            self._rows.append((label, bar))
        self._grid.setColumnStretch(1, 1)

    def set_items(self, items: Sequence[tuple[str, float]]) -> None:
        """items: (label, probability in 0..1), best first; extra rows are blanked."""
        self.set_k(len(items))
        for i, (label, bar) in enumerate(self._rows):
            if i < len(items):
                name, p = items[i]
                label.setText(str(name))
                bar.setValue(int(round(max(0.0, min(1.0, float(p))) * 1000)))
                bar.setFormat(f"{float(p):.1%}" if p >= 0.001 else f"{float(p):.1e}" if p > 0 else "0%")
                label.setVisible(True)
                bar.setVisible(True)
            else:
                label.setVisible(False)
                bar.setVisible(False)

    def items(self) -> list[tuple[str, float]]:
        return [(lab.text(), bar.value() / 1000) for lab, bar in self._rows if not lab.isHidden()]
