"""The Translation tab's alignment: one translation's attention, hover-linked, as its own idea.

The source and target words as two strips of hoverable words above the attention matrix (target
words × source words). Hovering a target word (or a matrix cell) shades the source words it
attended to, its row; hovering a source word shades the target words that attended to it, its
column.

``AlignmentLink`` owns the two strips and the matrix and the links between them; it only shows.
The tab (desktop/tabs/translate.py, which owns the models and every engine submission) pushes each
decode result in with ``set_result`` / ``clear`` on the GUI thread; the hover signals come from the
link's own widgets, so every slot here runs on the GUI thread. The tab lays the three widgets out in
its column: in one container widget the word-wrapped strips would pin the matrix to its full height
(a height-for-width block is never shrunk), squeezing the editor and the n-best list instead.
"""
from __future__ import annotations

import html
from typing import Optional

import numpy as np
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

from desktop.widgets.capped_label import CappedLabel
from desktop.widgets.heatmap import Heatmap


# -- a sentence whose words can be hovered ----------------------------------------------------------
class WordStrip(CappedLabel):
    """Words shown as hoverable links, each shaded by a weight in 0..1 (attention); at most five
    lines (a long input is read in the matrix, not here)."""

    def __init__(self, side: str, parent: Optional[QWidget] = None):
        super().__init__(max_lines=5, parent=parent)
        self.side = side                       # "src" or "tgt": the link prefix
        self.words: list[str] = []
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.setMouseTracking(True)
        self.weights = np.zeros(0)
        self.focus = -1

    def set_words(self, words, weights=None, focus: int = -1) -> None:
        self.words = list(words)
        self.weights = np.zeros(len(self.words)) if weights is None else np.asarray(weights, float)
        self.focus = focus
        parts = []
        for i, w in enumerate(self.words):
            a = float(self.weights[i]) if i < len(self.weights) else 0.0
            bg = f"rgba(255,140,0,{0.15 + 0.75 * min(1.0, a):.2f})" if a > 0.03 else "transparent"
            border = "border-bottom:3px solid #1f77b4;" if i == focus else ""
            parts.append(f'<a href="{self.side}:{i}" style="color:palette(text); text-decoration:none;">'
                         f'<span style="background-color:{bg};{border}">{html.escape(w)}</span></a>')
        self.setText(" ".join(parts))


# -- the link -----------------------------------------------------------------------------------------
class AlignmentLink(QObject):
    """Source words, target words and the attention matrix of one translation, hover-linked."""

    def __init__(self, words_font: QFont, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.result: Optional[dict] = None        # the decode result shown (None: nothing to link)
        self.src_words = WordStrip("src")
        self.tgt_words = WordStrip("tgt")
        for strip in (self.src_words, self.tgt_words):
            strip.setFont(words_font)
            strip.linkHovered.connect(self.on_word_hovered)
        self.heatmap = Heatmap()
        self.heatmap.setMinimumHeight(260)
        self.heatmap.cellHovered.connect(self.on_cell_hovered)

    # -- what the tab pushes in (GUI thread) ---------------------------------------------------
    @Slot(object)
    def set_result(self, out: dict) -> None:
        """A predict_job result: its words and its attention (alignment) matrix."""
        self.result = out
        self.src_words.set_words(out["source_tokens"])
        self.tgt_words.set_words(out["target_tokens"])
        A = np.asarray(out["alignment"], float).reshape(len(out["target_tokens"]), len(out["source_tokens"]))
        self.heatmap.set_matrix(A, out["target_tokens"], out["source_tokens"],
                                title="attention: target word × source word", levels=(0.0, 1.0))

    @Slot()
    def clear(self) -> None:
        self.result = None
        self.src_words.set_words([])
        self.tgt_words.set_words([])
        self.heatmap.set_matrix(np.zeros((0, 0)), [], [])

    # -- hover linking --------------------------------------------------------------------
    @Slot(str)
    def on_word_hovered(self, link: str) -> None:
        if not link or self.result is None:
            self.highlight(-1, -1)
            return
        side, _, index = link.partition(":")
        i = int(index)
        self.highlight(i, -1) if side == "tgt" else self.highlight(-1, i)

    @Slot(int, int)
    def on_cell_hovered(self, row: int, col: int) -> None:
        self.highlight(row, col)

    def highlight(self, row: int, col: int) -> None:
        """Target word `row` lights up its source words (its attention row); source word `col`
        lights up the target words that attended to it (its column)."""
        if self.result is None:
            return
        src, tgt = self.result["source_tokens"], self.result["target_tokens"]
        A = np.asarray(self.result["alignment"], float).reshape(len(tgt), len(src))
        src_w = A[row] if 0 <= row < len(tgt) else np.zeros(len(src))
        tgt_w = A[:, col] if 0 <= col < len(src) else np.zeros(len(tgt))
        if 0 <= col < len(src) and row < 0:
            src_w = np.eye(len(src))[col]
        if 0 <= row < len(tgt) and col < 0:
            tgt_w = np.eye(len(tgt))[row]
        self.src_words.set_words(src, src_w, focus=col)
        self.tgt_words.set_words(tgt, tgt_w, focus=row)
