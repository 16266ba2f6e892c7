"""Heatmap: a labelled matrix (rows × columns) with a colorbar and a hover readout.

Used for attention/alignment matrices and confusion tables. Data in via ``set_matrix``; hover
out via the ``cellHovered`` signal. pyqtgraph is told to use row-major image order so that
values[r, c] is drawn at row r (top to bottom), column c (left to right).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)


class Heatmap(QWidget):
    # row, column under the mouse; (-1, -1) when it leaves the matrix
    cellHovered = Signal(int, int)

    def __init__(self, parent: Optional[QWidget] = None, colormap: str = "viridis"):
        super().__init__(parent)
        self._values = np.zeros((0, 0))
        self._rows: list[str] = []
        self._cols: list[str] = []
        self._hover = (-1, -1)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.invertY(True)                      # row 0 at the top, like a matrix
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=pg.colormap.get(colormap), interactive=False,
                                        width=14)
        self.colorbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.readout = QLabel(" ")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.readout)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def set_matrix(self, values, row_labels: Sequence[str], col_labels: Sequence[str],
                   title: str = "", levels: Optional[tuple[float, float]] = None) -> None:
        values = np.asarray(values, dtype=float)
        if values.ndim != 2:
            raise ValueError(f"a heatmap needs a 2-D matrix, got shape {values.shape}")
        self._values = values
        self._rows = [str(r) for r in row_labels]
        self._cols = [str(c) for c in col_labels]
        if values.size:
            self.image.setImage(values, autoLevels=False)
        else:                       # nothing to show: an empty plot, not one cell of the lowest colour
            self.image.clear()
        if levels is None:
            lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
            levels = (lo, hi if hi > lo else lo + 1e-9)
        self.colorbar.setLevels(levels)
        self.plot.setTitle(title)
        self._label_axes()
        # Ticks sit at integer positions: shift the image so cell (r, c) is centred on (c, r).
        if values.size:
            self.image.setRect(-0.5, -0.5, values.shape[1], values.shape[0])
        self.plot.setXRange(-0.5, max(values.shape[1], 1) - 0.5, padding=0)
        self.plot.setYRange(-0.5, max(values.shape[0], 1) - 0.5, padding=0)
        self.readout.setText(" ")

    def values(self) -> np.ndarray:
        return self._values

    def _label_axes(self) -> None:
        """Every row and column labelled while they fit; past that every k-th one (a long input
        drew 90 row labels on top of each other). The hover readout names any cell."""
        item = self.plot.getPlotItem()
        line = self.fontMetrics().height()
        rows_fit = max(1, int(item.vb.height() // (line * 0.85)) or len(self._rows))   # (labels may touch)
        cols_fit = max(1, int(item.vb.width() // (line * 2.5)) or len(self._cols))
        item.getAxis("left").setTicks([every_kth(self._rows, rows_fit)])
        item.getAxis("bottom").setTicks([every_kth(self._cols, cols_fit)])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._label_axes()

    def _on_mouse_moved(self, pos) -> None:
        point = self.plot.getPlotItem().vb.mapSceneToView(pos)
        r, c = int(round(point.y())), int(round(point.x()))
        inside = 0 <= r < self._values.shape[0] and 0 <= c < self._values.shape[1]
        cell = (r, c) if inside else (-1, -1)
        if cell != self._hover:
            self._hover = cell
            if inside:
                self.readout.setText(f"{self._rows[r]} × {self._cols[c]}: {self._values[r, c]:.3f}")
            else:
                self.readout.setText(" ")
            self.cellHovered.emit(*cell)


def every_kth(labels: Sequence[str], room: int) -> list[tuple[int, str]]:
    """(position, label) ticks: all of them if at most `room`, else every k-th so `room` fit."""
    k = max(1, -(-len(labels) // max(room, 1)))
    return [(i, label) for i, label in enumerate(labels) if i % k == 0]
