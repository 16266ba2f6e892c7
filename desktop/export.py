"""Save a widget as a figure: PNG (pixels, at 2× for projectors and slides) or SVG (vector)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget


def save_png(widget: QWidget, path: str, scale: float = 2.0) -> None:
    size = widget.size()
    pixmap = QPixmap(QSize(int(size.width() * scale), int(size.height() * scale)))
    pixmap.setDevicePixelRatio(scale)
    pixmap.fill(widget.palette().window().color())
    widget.render(pixmap)
    if not pixmap.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")


def save_svg(widget: QWidget, path: str) -> None:
    with open(path, "wb"):               # an unwritable place: one OSError here, before Qt's
        pass                             # SVG engine prints its own warnings on stderr
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(widget.size())
    generator.setViewBox(QRect(0, 0, widget.width(), widget.height()))
    generator.setTitle(widget.windowTitle() or "Sequence Lab figure")
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"could not write {path}")
    try:
        widget.render(painter, QPoint(0, 0))
    finally:
        painter.end()
    if not Path(path).exists():
        raise OSError(f"could not write {path}")
