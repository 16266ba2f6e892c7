"""LivePlot: curves that grow point by point while a job runs (loss, accuracy, perplexity).

A series goes on the left axis, or on a right axis of its own scale: a loss near 5 and a
perplexity near 300 (or an accuracy near 0.7) on one axis would flatten one of them."""
from __future__ import annotations

from typing import Optional

import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


class LivePlot(QWidget):
    def __init__(self, title: str = "", x_label: str = "step", y_label: str = "",
                 log_y: bool = False, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget(title=title)
        self._fit_to_font()
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
        self._right: Optional[pg.ViewBox] = None      # made when the first right-axis series comes
        self._right_names: list[str] = []             # the series on it, for its label
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def _fit_to_font(self) -> None:
        # squeezed below ~9 lines of text the curves are unreadable and, at 200% zoom, the axis
        # labels were drawn over each other: the minimum follows the zoom
        self.plot.setMinimumHeight(max(160, int(9.5 * self.fontMetrics().height())))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_to_font()

    def _curve(self, series: str, right: bool = False) -> pg.PlotDataItem:
        if series not in self._curves:
            color = PALETTE[len(self._curves) % len(PALETTE)]
            style = dict(pen=pg.mkPen(color, width=2.5), symbol="o", symbolSize=4, symbolBrush=color)
            if right:
                curve = pg.PlotDataItem([], [], **style)
                self._right_axis().addItem(curve)
                self.plot.getPlotItem().legend.addItem(curve, series)
                self._right_names.append(series)
                self.plot.setLabel("right", ", ".join(self._right_names))
            else:
                curve = self.plot.plot([], [], name=series, **style)
            self._curves[series] = curve
            self._data[series] = ([], [])
        return self._curves[series]

    def _right_axis(self) -> pg.ViewBox:
        """A second view box over the plot, sharing its x range, drawn against the right axis."""
        if self._right is None:
            item = self.plot.getPlotItem()
            self._right = pg.ViewBox()
            item.showAxis("right")
            item.getAxis("right").enableAutoSIPrefix(False)
            item.scene().addItem(self._right)
            item.getAxis("right").linkToView(self._right)
            self._right.setXLink(item)
            item.vb.sigResized.connect(self._follow_main_view)
            self._follow_main_view()
        return self._right

    def _follow_main_view(self) -> None:
        main = self.plot.getPlotItem().vb
        self._right.setGeometry(main.sceneBoundingRect())
        self._right.linkedViewChanged(main, self._right.XAxis)

    def add_point(self, series: str, x: float, y: float, right: bool = False) -> None:
        """Append (x, y) to `series`; `right` puts a new series on the right axis."""
        curve = self._curve(series, right)
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
            if self._right is not None and curve in self._right.addedItems:
                self._right.removeItem(curve)
            else:
                self.plot.removeItem(curve)
        if self._right_names:
            self._right_names.clear()
            self.plot.setLabel("right", "")
        self.plot.getPlotItem().legend.clear()
        self._curves.clear()
        self._data.clear()
