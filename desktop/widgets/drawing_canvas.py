"""DrawingCanvas: write with the mouse or a pen on paper (or over a loaded image); undo, clear.

Strokes are kept in document coordinates (the paper's pixels), so the drawing survives resizing
and ``image()`` renders exactly what is shown as a gray uint8 array, dark ink on light paper —
the input the OCR engine reads. The widget only draws; the tab decides what to do when
``drawingChanged`` fires (a stroke ended, undo, clear, a new background).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

DEFAULT_SIZE = (900, 240)          # paper width, height in document pixels


class DrawingCanvas(QWidget):
    # the drawing changed: a stroke ended, undo, clear, or a new background image
    drawingChanged = Signal()

    def __init__(self, parent: Optional[QWidget] = None, paper: tuple[int, int] = DEFAULT_SIZE):
        super().__init__(parent)
        self._paper = paper
        self._background: Optional[QImage] = None
        self._strokes: list[tuple[float, list[QPointF]]] = []     # (width, points)
        self._current: Optional[list[QPointF]] = None
        self.stroke_width = 14.0
        self.setMinimumSize(360, 110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)

    # -- what the tab calls -----------------------------------------------------------------------
    def set_stroke_width(self, width: float) -> None:
        self.stroke_width = float(width)

    def clear(self) -> None:
        self._strokes.clear()
        self._background = None
        self._paper = DEFAULT_SIZE
        self.update()
        self.drawingChanged.emit()

    def undo(self) -> None:
        if self._strokes:
            self._strokes.pop()
            self.update()
            self.drawingChanged.emit()

    def set_image(self, gray: np.ndarray) -> None:
        """Show `gray` (uint8, dark ink on light paper) as the paper; strokes are cleared."""
        gray = np.ascontiguousarray(gray, dtype=np.uint8)
        h, w = gray.shape
        self._background = QImage(gray.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        self._paper = (w, h)
        self._strokes.clear()
        self.update()
        self.drawingChanged.emit()

    def add_stroke(self, points: list[tuple[float, float]], width: Optional[float] = None) -> None:
        """A scripted stroke in document coordinates (demos, tests)."""
        self._strokes.append((width or self.stroke_width, [QPointF(x, y) for x, y in points]))
        self.update()
        self.drawingChanged.emit()

    def is_blank(self) -> bool:
        return not self._strokes and self._background is None

    def stroke_count(self) -> int:
        return len(self._strokes)

    def image(self) -> np.ndarray:
        """What is on the paper, as gray uint8 (H, W), dark ink on light paper."""
        w, h = self._paper
        img = QImage(w, h, QImage.Format.Format_Grayscale8)
        img.fill(255)
        painter = QPainter(img)
        self._paint_document(painter)
        painter.end()
        ptr = img.constBits()
        arr = np.frombuffer(ptr, np.uint8, count=img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
        return arr[:, :w].copy()

    # -- drawing --------------------------------------------------------------------------------
    def _scale(self) -> tuple[float, float, float]:
        w, h = self._paper
        s = min(self.width() / w, self.height() / h)
        return s, (self.width() - w * s) / 2, (self.height() - h * s) / 2

    def _to_doc(self, pos) -> QPointF:
        s, ox, oy = self._scale()
        return QPointF((pos.x() - ox) / s, (pos.y() - oy) / s)

    def _paint_document(self, painter: QPainter) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self._paper
        painter.fillRect(QRectF(0, 0, w, h), QColor(255, 255, 255))
        if self._background is not None:
            painter.drawImage(QRectF(0, 0, w, h), self._background)
        strokes = self._strokes + ([(self.stroke_width, self._current)] if self._current else [])
        for width, pts in strokes:
            pen = QPen(QColor(20, 20, 30), width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                       Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            if len(pts) == 1:
                painter.drawPoint(pts[0])
                continue
            path = QPainterPath(pts[0])
            for p in pts[1:]:
                path.lineTo(p)
            painter.drawPath(path)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        s, ox, oy = self._scale()
        painter.translate(ox, oy)
        painter.scale(s, s)
        self._paint_document(painter)
        painter.setPen(QPen(QColor(150, 150, 150), 1 / s))
        painter.drawRect(QRectF(0, 0, *self._paper))
        if self.is_blank() and self._current is None:
            painter.setPen(QColor(160, 160, 160))
            f = painter.font()
            f.setPointSizeF(28)
            painter.setFont(f)
            painter.drawText(QRectF(0, 0, *self._paper), Qt.AlignmentFlag.AlignCenter,
                             "write an amount here, e.g. 1,250.00")
        painter.end()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._current = [self._to_doc(event.position())]
            self.update()

    def mouseMoveEvent(self, event) -> None:
        if self._current is not None:
            self._current.append(self._to_doc(event.position()))
            self.update()

    def mouseReleaseEvent(self, event) -> None:
        if self._current is not None and event.button() == Qt.MouseButton.LeftButton:
            self._strokes.append((self.stroke_width, self._current))
            self._current = None
            self.update()
            self.drawingChanged.emit()

    # pens and tablets arrive as mouse events too (Qt synthesizes them), so nothing else is needed
