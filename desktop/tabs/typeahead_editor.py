"""The Type-ahead tab's editor: a plain text editor that shows a completion as grey ghost text.

The ghost is drawn after the cursor (only when the cursor is at the end of the text) and Tab
accepts it; the editor never inserts tab characters. It only shows: the tab
(desktop/tabs/typeahead.py, which owns the models and every engine submission) pushes the chosen
model's completion in with ``set_ghost`` on the GUI thread, after each prediction arrives.
"""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QColor, QPainter, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget


class GhostEditor(QPlainTextEdit):
    """A plain text editor that draws a grey completion after the cursor; Tab accepts it."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self._ghost = ""
        self.setTabChangesFocus(False)

    @Slot(str)
    def set_ghost(self, text: str) -> None:
        if text != self._ghost:
            self._ghost = text
            self.viewport().update()

    def ghost(self) -> str:
        return self._ghost

    def accept_ghost(self) -> bool:
        if not self._ghost:
            return False
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(self._ghost + " ")
        self.setTextCursor(cursor)
        return True

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Tab and self._ghost and self._cursor_at_end():
            self.accept_ghost()
            return
        if event.key() == Qt.Key.Key_Tab:
            return                      # no tab characters in a type-ahead editor
        super().keyPressEvent(event)

    def _cursor_at_end(self) -> bool:
        return self.textCursor().atEnd()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if not self._ghost or not self._cursor_at_end() or self.document().isEmpty():
            return                                  # (empty: the placeholder text is showing)
        rect = self.cursorRect()
        painter = QPainter(self.viewport())
        painter.setFont(self.font())
        painter.setPen(QColor(150, 150, 150))
        painter.drawText(rect.right() + 1, rect.top() + self.fontMetrics().ascent(), self._ghost)
        painter.end()
