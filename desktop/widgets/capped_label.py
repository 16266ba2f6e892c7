"""CappedLabel: a word-wrapped label at most `max_lines` lines tall (the rest is clipped).

A word-wrapped label asks its layout for the height its whole text needs at the current width,
and Qt's minimum size of the window ignores that: a long text then pushed the widgets below it on
top of each other (the translation tab with five verses drew its matrix over the n-best list).
The cap follows the font, so it holds at every zoom."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QLabel, QWidget


class CappedLabel(QLabel):
    def __init__(self, text: str = "", max_lines: int = 4, parent: Optional[QWidget] = None):
        super().__init__(text, parent)
        self.max_lines = max_lines
        self.setWordWrap(True)
        self._cap()

    def _cap(self) -> None:
        margins = self.contentsMargins()
        self.setMaximumHeight(self.fontMetrics().lineSpacing() * self.max_lines + 4
                              + margins.top() + margins.bottom())

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:       # zoom: the cap is in lines, not pixels
            self._cap()
            self._fit()

    def setText(self, text: str) -> None:
        super().setText(text)
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Ask for the lines the text needs (up to the cap) as the minimum height, so that a
        window too small for them scrolls instead of drawing widgets over each other."""
        # QLabel's heightForWidth never answers less than the minimum height: measure without it,
        # or a long text (or a larger zoom) would leave its height behind for every shorter one
        self.setMinimumHeight(0)
        self.setMinimumHeight(max(0, min(self.heightForWidth(max(self.width(), 1)), self.maximumHeight())))
