"""LatticeView: a segmentation lattice drawn left to right, one arc per candidate character.

Nodes are the cuts between segments, left to right. An arc k→m is "segments k..m-1 form one
character": one segment arcs run along the axis, two-segment arcs bow above it, three-segment arcs
below, four-segment arcs higher above; each with the thumbnail the CNN saw and its best label and
log-probability. Pair spans (two touching digits read together, engine/ocr/pairs.py), when
given, hang lowest, in purple, with the double-width image the pair reader saw and its best pair.
On top of that the tab can highlight a path (the Viterbi reading or a clicked
alternative: thick, with the label that path reads), the constrained graph (arcs on some path that
reads the typed amount, in green) and a per-arc number (the gradient of the GTN loss).
The widget only draws what it is given.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

PATH_COLOR = QColor(255, 127, 14)          # the highlighted reading
CONSTRAINED_COLOR = QColor(44, 160, 44)    # arcs that can read the true amount
PAIR_COLOR = QColor(148, 103, 189)         # pair spans
ARC_COLOR = QColor(150, 150, 150)


class LatticeView(QWidget):
    # the user clicked the thumbnail of arc (span) i
    arcClicked = Signal(int)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self._states = 0
        self._spans: list[tuple[int, int]] = []
        self._thumbs: list[QImage] = []
        self._labels: list[str] = []
        self._highlight: dict[int, str] = {}      # span -> label read there by the highlighted path
        self._constrained: set[int] = set()
        self._numbers: dict[int, float] = {}      # span -> value shown under it (gradient)
        self._number_name = ""
        self._rects: list[QRectF] = []
        self._pairs: list[tuple] = []               # (span, thumbnail, label, shown unless on a path)
        self._pair_highlight: dict[int, str] = {}   # pair span -> the two digits the path reads
        self.setMinimumHeight(300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # -- data in --------------------------------------------------------------------------------
    def set_lattice(self, num_states: int, spans: Sequence[tuple[int, int]], thumbs: np.ndarray,
                    labels: Sequence[str], pairs: Sequence[tuple] = ()) -> None:
        """thumbs: (N, 28, 28) floats in [0, 1], ink high; labels: text under each arc; pairs:
        [((k, m), (28, 56) image, label, shown)] of the pair spans (not shown: drawn only when highlighted)."""
        self._states, self._spans, self._labels = num_states, list(spans), list(labels)
        self._thumbs = [_image(t) for t in thumbs]
        self._pairs = [(span, _image(t), label, shown) for span, t, label, shown in pairs]
        self._highlight, self._constrained, self._numbers, self._pair_highlight = {}, set(), {}, {}
        self.setMinimumWidth(int(max(0, num_states - 1) * 64 + 80))
        self.update()

    def set_highlight(self, span_labels: dict[int, str], pair_labels: Optional[dict[int, str]] = None) -> None:
        self._highlight, self._pair_highlight = dict(span_labels), dict(pair_labels or {})
        self.update()

    def set_constrained(self, spans: Sequence[int], numbers: Optional[dict[int, float]] = None,
                        name: str = "") -> None:
        self._constrained = set(spans)
        self._numbers, self._number_name = dict(numbers or {}), name
        self.update()

    def clear(self) -> None:
        self.set_lattice(0, [], np.zeros((0, 28, 28)), [])

    def highlighted(self) -> dict[int, str]:
        return dict(self._highlight)

    # -- drawing --------------------------------------------------------------------------------
    def _geometry(self):
        margin = 40.0
        n = max(self._states - 1, 1)
        step = (self.width() - 2 * margin) / n
        mid = self.height() * 0.5
        return margin, step, mid

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        if self._states == 0:
            p.setPen(self.palette().text().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "the lattice appears when you write")
            p.end()
            return
        margin, step, mid = self._geometry()
        x = lambda k: margin + k * step                                       # noqa: E731
        size = max(18.0, min(46.0, step * 0.72))
        bow = {1: 0.0, 2: -self.height() * 0.30, 3: self.height() * 0.30, 4: -self.height() * 0.44}
        font = QFont(self.font())
        font.setPointSizeF(max(9.0, size / 3.6))
        p.setFont(font)
        self._rects = []
        order = sorted(range(len(self._spans)), key=lambda i: (i in self._highlight, i in self._constrained))
        rects = {}
        for i in order:                               # highlighted arcs last, on top
            k, m = self._spans[i]
            on_path, ok = i in self._highlight, i in self._constrained
            color = PATH_COLOR if on_path else CONSTRAINED_COLOR if ok else ARC_COLOR
            pen = QPen(color, 5 if on_path else 3 if ok else 1.2)
            p.setPen(pen)
            a, b = QPointF(x(k), mid), QPointF(x(m), mid)
            c = QPointF((a.x() + b.x()) / 2, mid + 2 * bow.get(m - k, 0.0))
            path = QPainterPath(a)
            path.quadTo(c, b)
            p.drawPath(path)
            centre = QPointF((a.x() + b.x()) / 2, mid + bow.get(m - k, 0.0))
            rects[i] = (QRectF(centre.x() - size / 2, centre.y() - size / 2, size, size), color,
                        on_path, ok)
        for i in order:
            r, color, on_path, ok = rects[i]
            p.drawImage(r, self._thumbs[i])
            p.setPen(QPen(color, 3 if on_path or ok else 1))
            p.drawRect(r)
            text = self._highlight.get(i) or self._labels[i]
            p.setPen(color if (on_path or ok) else self.palette().text().color())
            k, m = self._spans[i]
            if m - k == 4:        # the top row: a label below would sit on the two-segment row's boxes
                p.drawText(QRectF(r.right() + 3, r.y(), 80, r.height()),
                           Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
            else:
                p.drawText(QRectF(r.x() - 20, r.bottom(), r.width() + 40, size * 0.45),
                           Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, text)
            if i in self._numbers:
                v = self._numbers[i]
                p.setPen(QColor(214, 39, 40) if v > 0 else QColor(31, 119, 180))
                if m - k == 4:    # likewise: left of the box instead of above it
                    p.drawText(QRectF(r.x() - 83, r.y(), 80, r.height()),
                               Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{v:+.2f}")
                else:
                    p.drawText(QRectF(r.x() - 20, r.y() - size * 0.45, r.width() + 40, size * 0.45),
                               Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, f"{v:+.2f}")
        self._rects = [rects[i][0] for i in range(len(self._spans))]
        self._paint_pairs(p, x, mid, size)
        p.setPen(QPen(self.palette().text().color(), 1.5))
        p.setBrush(self.palette().window())
        for k in range(self._states):
            p.drawEllipse(QPointF(x(k), mid), 5, 5)
        if self._number_name:
            p.drawText(QRectF(4, 2, self.width() - 8, 20), Qt.AlignmentFlag.AlignLeft, self._number_name)
        p.end()

    def _paint_pairs(self, p: QPainter, x, mid: float, size: float) -> None:
        """The pair spans, bowing lowest; the highlighted path's on top."""
        low = self.height() * 0.42
        order = sorted(range(len(self._pairs)), key=lambda j: j in self._pair_highlight)
        for j in order:
            (k, m), thumb, label, shown = self._pairs[j]
            on_path = j in self._pair_highlight
            if not (shown or on_path):
                continue
            color = PATH_COLOR if on_path else PAIR_COLOR
            p.setPen(QPen(color, 5 if on_path else 1.2, Qt.PenStyle.SolidLine if on_path else Qt.PenStyle.DashLine))
            a, b = QPointF(x(k), mid), QPointF(x(m), mid)
            path = QPainterPath(a)
            path.quadTo(QPointF((a.x() + b.x()) / 2, mid + 2 * low), b)
            p.drawPath(path)
            r = QRectF((a.x() + b.x()) / 2 - size, mid + low - size / 2, 2 * size, size)
            p.drawImage(r, thumb)
            p.setPen(QPen(color, 3 if on_path else 1))
            p.drawRect(r)
            p.drawText(QRectF(r.right() + 3, r.y(), 80, r.height()),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       self._pair_highlight.get(j) or label)

    def mousePressEvent(self, event) -> None:
        for i, r in enumerate(self._rects):
            if r.contains(event.position()):
                self.arcClicked.emit(i)
                return


def _image(t: np.ndarray) -> QImage:
    """A (h, w) float image in [0, 1], ink high, as dark ink on white."""
    g = np.ascontiguousarray(255 - np.clip(t * 255, 0, 255).astype(np.uint8))
    return QImage(g.data, g.shape[1], g.shape[0], g.shape[1], QImage.Format.Format_Grayscale8).copy()
