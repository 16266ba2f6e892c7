"""ModelCardView: what a model is, how it was trained and how well it does (its card)."""
from __future__ import annotations

import html
from typing import Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


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


class ModelCardView(QLabel):
    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)   # not mid-panel
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.set_card(None)

    def set_card(self, card, error: str = "") -> None:
        if error:
            self.setText(f"<span style='color:#d62728'>{html.escape(error)}</span>")
        elif card is None:
            self.setText("<i>no model loaded</i>")
        else:
            self.setText(card_html(card))
