"""DemoTab: what every tab has in common, and the placeholder for demos not built yet.

A tab is a QWidget that talks to the engine only through the EngineBridge (desktop/bridge.py):
predictions on the interactive lane with a latest-wins channel, training on the background lane.
Widgets never call the engine; the tab pushes data into them.

Subclasses set ``task`` and ``title`` and may override:
    self_test(done)      run one real prediction; call done(ok: bool, message: str) when finished
    demo_input()         put a scripted example on screen (for --screenshot)
    figure_widget()      the widget that File > Export saves (default: the whole tab)
    device_changed(dev)  the user picked another device: move models (in an engine job)
    shutdown()           cancel jobs (the default cancels every ticket kept in self.tickets)
"""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QSplitter, QTabWidget, QVBoxLayout,
                               QWidget)

from desktop.bridge import BACKGROUND, EngineBridge
from desktop.widgets.capped_label import CappedLabel


class DemoTab(QWidget):
    task = ""            # engine task name, e.g. "classify"
    title = ""           # tab label
    built = True         # False for PlaceholderTab

    def __init__(self, bridge: EngineBridge, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.bridge = bridge
        self.tickets: dict[str, object] = {}   # channel -> latest Ticket, cancelled on shutdown

    def submit(self, key: str, fn, *args, lane: str = "interactive", **callbacks):
        """Submit on channel '<task>.<key>' (latest wins) and remember the ticket."""
        ticket = self.bridge.submit(fn, *args, lane=lane, channel=f"{self.task}.{key}", **callbacks)
        self.tickets[key] = ticket
        return ticket

    @staticmethod
    def heading(text: str, font) -> QLabel:
        """The tab's one-line statement of the lecture's idea, bold and 1.2× the tab's font."""
        label = CappedLabel(text, max_lines=3)       # wraps, and asks for the lines it needs
        f = QFont(font)
        f.setBold(True)
        f.setPointSizeF(font.pointSizeF() * 1.2)
        label.setFont(f)
        return label

    def waiting_note(self) -> str:
        """What a training about to start must say when it will wait: one background lane runs
        every tab's trainings and loads, one at a time (a training once sat silent for minutes
        behind another tab's)."""
        if self.bridge.engine.busy(BACKGROUND):
            return " · waiting for the engine's current job (another tab's training?) to end first"
        return ""

    def cancel_training(self) -> None:
        """Cancel the training job (submitted with key "train"); the tab's error handler then
        puts back the model that was live before, as every tab promises."""
        ticket = self.tickets.get("train")
        if ticket is not None:
            ticket.cancel()

    @staticmethod
    def training_failed_text(message: str) -> str:
        """What the training panel says when a training job ends without a model."""
        return "cancelled: the previous model is kept" if message == "cancelled" else message

    def side_by_side(self, main: QWidget, side_tabs: list[tuple[QWidget, str]]) -> QTabWidget:
        """The layout every demo shares: the live demo on the left (3/5), a side notebook on the
        right (2/5: training, model card, ...). Returns the side notebook."""
        side = QTabWidget()
        for widget, title in side_tabs:
            side.addTab(widget, title)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(main)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        return side

    def self_test(self, done: Callable[[bool, str], None]) -> None:
        done(True, "no prediction to test")

    def demo_input(self) -> None:
        pass

    def figure_widget(self) -> QWidget:
        return self

    def device_changed(self, device: str) -> None:
        """The engine moved to `device`: reload or move loaded models (on the background lane)."""

    def shutdown(self) -> None:
        for ticket in self.tickets.values():
            self.bridge.forget(ticket)
        self.tickets.clear()


# What each demo will be, shown until it is built: one paragraph and the lecture slide's idea.
PLANNED = {
    "typeahead": ("Type-ahead: predict the next word as you type",
                  "“Neural networks or connectionist systems are a computational ???” — a count-based "
                  "Kneser-Ney n-gram model, an LSTM and a gated convolutional network each estimate "
                  "p(w_t | w_<t). n-grams make the Markov assumption; RNNs generalize through "
                  "embeddings and longer context; CNNs see a fixed window in parallel."),
    "classify": ("Text classification: sequence → one label",
                 "fastText: embed words, average, apply a linear classifier. Word order is lost, "
                 "partially remedied by embedding n-grams; hashing, hierarchical softmax and product "
                 "quantization make it fast and small."),
    "action": ("Action recognition from the webcam",
               "Two streams — RGB frames and optical flow — each classified by a CNN, pooled over "
               "time: a video is a sequence of frames, and motion carries the action."),
    "caption": ("Image captioning with attention",
                "A CNN encodes the image into a grid of features; an RNN decoder emits one word at a "
                "time and, for each word, attends to the image regions it is about (the heatmap)."),
    "translate": ("Translation: Italian → English",
                  "“Il gatto si è seduto sul tappetino.” → “The cat sat on the mat.” One RNN encodes "
                  "the source, another predicts the target and learns to align softly through "
                  "attention; beam search keeps several hypotheses."),
    "ocr": ("Check-amount OCR: sequence → sequence without segmentation",
            "Read “200” from a check: over-segment the ink, build a lattice of interpretations, score "
            "each piece with a CNN, find the best path with Viterbi, and train the whole graph with a "
            "sequence-level loss (graph transformer networks)."),
    "vqa": ("Visual question answering (CLEVR-style)",
            "A program generator turns the question into a sequence of modules; a neural module "
            "network executes them on the scene to produce the answer."),
}


class PlaceholderTab(DemoTab):
    """Shown for a demo whose engine package is not built yet: what it will be, not an error."""
    built = False

    def __init__(self, bridge: EngineBridge, task: str, title: str, parent=None,
                 note: str = "This demo is coming in a later version of Sequence Lab."):
        super().__init__(bridge, parent)
        self.task, self.title = task, title
        heading, idea = PLANNED.get(task, (title, ""))
        # Word-wrapped labels in a fixed-width column: alignment flags on wrapped labels make Qt
        # mis-measure their height (they overlapped).
        column = QWidget()
        column.setMaximumWidth(900)
        inner = QVBoxLayout(column)
        inner.setSpacing(18)
        for text, role in [(heading, "heading"), (idea, "idea"),
                           (note, "note")]:
            label = QLabel(text)
            label.setObjectName(f"placeholder-{role}")
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            font = label.font()
            font.setPointSizeF(font.pointSizeF() * {"heading": 2.0, "idea": 1.3, "note": 1.0}[role])
            font.setBold(role == "heading")
            font.setItalic(role == "note")
            label.setFont(font)
            inner.addWidget(label)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(column, 4)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(2)
