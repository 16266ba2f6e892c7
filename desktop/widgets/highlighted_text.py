"""HighlightedText: text spans coloured by a signed weight (green pushes toward, red against)."""
from __future__ import annotations

import html
from typing import Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


def _color(weight: float, scale: float) -> str:
    a = min(1.0, abs(weight) / scale) if scale > 0 else 0.0
    rgb = (44, 160, 44) if weight >= 0 else (214, 39, 40)
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{0.15 + 0.7 * a:.2f})" if a > 0.02 else "transparent"


class HighlightedText(QLabel):
    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self._spans: list[tuple[str, float]] = []

    def set_spans(self, spans: Sequence[tuple[str, float]]) -> None:
        self._spans = [(str(t), float(w)) for t, w in spans]
        scale = max((abs(w) for _, w in self._spans), default=0.0)
        parts = [f'<span style="background-color:{_color(w, scale)}; padding:2px" '
                 f'title="{w:+.3f}">{html.escape(t)}</span>' for t, w in self._spans]
        self.setText(" ".join(parts))

    def spans(self) -> list[tuple[str, float]]:
        return list(self._spans)
