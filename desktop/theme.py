"""Light and dark themes: a Fusion palette for Qt widgets, matching colours for pyqtgraph plots."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def _dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor(37, 37, 40), QColor(26, 26, 28), QColor(230, 230, 230)
    for role, color in [(QPalette.ColorRole.Window, window), (QPalette.ColorRole.WindowText, text),
                        (QPalette.ColorRole.Base, base), (QPalette.ColorRole.AlternateBase, window),
                        (QPalette.ColorRole.Text, text), (QPalette.ColorRole.Button, window),
                        (QPalette.ColorRole.ButtonText, text), (QPalette.ColorRole.ToolTipBase, base),
                        (QPalette.ColorRole.ToolTipText, text),
                        (QPalette.ColorRole.Highlight, QColor(42, 130, 218)),
                        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))]:
        p.setColor(role, color)
    # disabled text: the enabled colour made Train/Cancel and Generate/Stop impossible to tell apart
    grey = QColor(120, 120, 124)
    for role in (QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText, QPalette.ColorRole.Text):
        p.setColor(QPalette.ColorGroup.Disabled, role, grey)
    return p


def apply(dark: bool) -> None:
    app = QApplication.instance()
    app.setStyle("Fusion")
    app.setPalette(_dark_palette() if dark else app.style().standardPalette())
    background, foreground = ("#1a1a1c", "#e6e6e6") if dark else ("w", "k")
    pg.setConfigOption("background", background)
    pg.setConfigOption("foreground", foreground)
    for widget in app.allWidgets():          # plots that already exist
        if isinstance(widget, pg.PlotWidget):
            widget.setBackground(background)
            for name in ("left", "bottom", "right", "top"):
                axis = widget.getPlotItem().getAxis(name)
                axis.setPen(foreground)
                axis.setTextPen(foreground)
            for item in widget.getPlotItem().items:      # point labels (the compression plot's)
                if isinstance(item, pg.TextItem):
                    item.setColor(foreground)
            plot_item = widget.getPlotItem()
            if plot_item.titleLabel.text:                # the title and the legend kept the old colour
                plot_item.setTitle(plot_item.titleLabel.text, color=foreground)
            if plot_item.legend is not None:
                plot_item.legend.setLabelTextColor(foreground)


def is_dark() -> bool:
    return QApplication.instance().palette().window().color().lightness() < 128
