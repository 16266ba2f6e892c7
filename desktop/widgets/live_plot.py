"""LivePlot: curves that grow point by point while a job runs (loss, accuracy, perplexity)."""
from __future__ import annotations

from typing import Optional

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


class LivePlot(QWidget):
    def __init__(self, title: str = "", x_label: str = "step", y_label: str = "",
                 log_y: bool = False, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(title=title)
        self.plot.setLabel("bottom", x_label)
        self.plot.setLabel("left", y_label)
        # losses and accuracies near each other (0.50-0.69) made pyqtgraph relabel the axis
        # "loss (x0.001)" with ticks at 500-700: keep the values as they are
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.setLogMode(y=log_y)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.addLegend(offset=(-10, 10))
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._data: dict[str, tuple[list, list]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def _curve(self, series: str) -> pg.PlotDataItem:
        if series not in self._curves:
            color = PALETTE[len(self._curves) % len(PALETTE)]
            self._curves[series] = self.plot.plot([], [], name=series,
                                                  pen=pg.mkPen(color, width=2.5),
                                                  symbol="o", symbolSize=4, symbolBrush=color)
            self._data[series] = ([], [])
        return self._curves[series]

    def add_point(self, series: str, x: float, y: float) -> None:
        curve = self._curve(series)
        xs, ys = self._data[series]
        xs.append(float(x))
        ys.append(float(y))
        curve.setData(xs, ys)

    def set_series(self, series: str, xs, ys) -> None:
        curve = self._curve(series)
        self._data[series] = (list(map(float, xs)), list(map(float, ys)))
        curve.setData(*self._data[series])

    def series(self, name: str) -> tuple[list, list]:
        return self._data.get(name, ([], []))

    def clear(self) -> None:
        for curve in self._curves.values():
            self.plot.removeItem(curve)
        self.plot.getPlotItem().legend.clear()
        self._curves.clear()
        self._data.clear()
