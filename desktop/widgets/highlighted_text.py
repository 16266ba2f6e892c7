"""HighlightedText: text spans coloured by a signed weight (green pushes toward, red against)."""
from __future__ import annotations

import html
from typing import Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from desktop.widgets.capped_label import CappedLabel


def _short(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1] + "…"


def _color(weight: float, scale: float) -> str:
    a = min(1.0, abs(weight) / scale) if scale > 0 else 0.0
    rgb = (44, 160, 44) if weight >= 0 else (214, 39, 40)
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{0.15 + 0.7 * a:.2f})" if a > 0.02 else "transparent"


MAX_SPANS = 300       # drawn (a pasted book is explained in its first 300 terms, the rest counted)
MAX_CHARS = 40        # per span: one unbreakable 50,000-letter "word" widened the whole tab


class HighlightedText(CappedLabel):
    def __init__(self, parent: Optional[QWidget] = None, max_lines: int = 6):
        super().__init__(max_lines=max_lines, parent=parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self._spans: list[tuple[str, float]] = []

    def set_spans(self, spans: Sequence[tuple[str, float]]) -> None:
        self._spans = [(str(t), float(w)) for t, w in spans]
        scale = max((abs(w) for _, w in self._spans), default=0.0)
        parts = [f'<span style="background-color:{_color(w, scale)}; padding:2px" '
                 f'title="{w:+.3f}">{html.escape(_short(t))}</span>' for t, w in self._spans[:MAX_SPANS]]
        if len(self._spans) > MAX_SPANS:
            parts.append(f"… and {len(self._spans) - MAX_SPANS:,} more")
        self.setText(" ".join(parts))

    def spans(self) -> list[tuple[str, float]]:
        return list(self._spans)
