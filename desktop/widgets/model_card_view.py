"""ModelCardView: what a model is, how it was trained and how well it does (its card)."""
from __future__ import annotations

import html
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QWidget


def card_html(card) -> str:
    rows = [("model", f"{card.task}/{card.name}"), ("architecture", card.arch),
            ("parameters", f"{card.params:,}"), ("size", f"{card.bytes / 1e6:.2f} MB"),
            ("metrics", ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                  for k, v in card.metrics.items())),
            ("data", ", ".join(f"{k}: {v}" for k, v in card.data.items())),
            ("trained", f"{card.seconds:.0f} s on {card.device}, {card.date}"),
            ("reproduce", card.train_command)]
    body = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows if v)
    return f"<table cellspacing='4'>{body}</table>"


class ModelCardView(QScrollArea):
    """The card as a table, in a frameless scroll area: a card is taller than a side panel at
    150% zoom on a small screen, and a bare label cut its last rows ("reproduce") off."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)   # not mid-panel
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.set_card(None)

    def text(self) -> str:
        """What the card shows (rich text), as a QLabel's text() would."""
        return self.label.text()

    def set_card(self, card, error: str = "") -> None:
        if error:
            self.label.setText(f"<span style='color:#d62728'>{html.escape(error)}</span>")
        elif card is None:
            self.label.setText("<i>no model loaded</i>")
        else:
            self.label.setText(card_html(card))
