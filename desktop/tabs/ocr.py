"""Check-amount OCR tab: write an amount, watch it over-segmented, the lattice, Viterbi, and GTN.

Each stroke re-reads the amount (interactive lane): the over-segmentation with its cuts, the
lattice of candidate characters (every group of 1-4 consecutive segments, its thumbnail, best
label and log-probability), the Viterbi path in orange, and the top alternatives — click one to
see its path. Typing the true amount shows the constrained graph (in green: every arc on some
path that reads it), the GTN loss -log P(truth | image) and, per arc, the gradient of that loss
(red: the loss wants it less likely, blue: more). "Train on this" takes one GTN step on this very
image and reads again. The recognizer can be switched between the CNN after isolated
pre-training and after GTN training — the lecture's point. The Training page saves `my-amounts`,
so the shipped `amounts` stays in the model list beside it.
"""
from __future__ import annotations

from typing import Callable, Optional

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QScrollArea, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from desktop.bridge import EngineBridge
from desktop.tabs.base import DemoTab
from desktop.tabs.ocr_drawing import DEMO_AMOUNT, pair_thumbs, path_labels, scripted_strokes, segmentation_pixmap
from desktop.tabs.ocr_jobs import (list_job, load_job, open_image_job, random_check_job, read_job, self_test_job,
                                   train_job, train_options, train_step_job, truth_job)
from desktop.tabs.ocr_reading import ReadingPage, arc_text
from desktop.tabs.ocr_toolbar import Toolbar
from desktop.widgets.drawing_canvas import DrawingCanvas
from desktop.widgets.lattice_view import LatticeView
from desktop.widgets.model_card_view import ModelCardView
from desktop.widgets.training_panel import Param, TrainingPanel
from engine.runtime import ModelSlot

GTN, ISOLATED = "GTN-trained CNN", "isolated CNN only"
START_PRETRAINED, START_SCRATCH = "pre-trained CNN: GTN only", "scratch: pre-training + GTN"
N_LABELS = 12                    # arcs per span in the recognition graph (0-9 . ,)


class Tab(DemoTab):
    task = "ocr"
    title = "Check OCR"

    def __init__(self, bridge: EngineBridge, parent: Optional[QWidget] = None):
        super().__init__(bridge, parent)
        self.slot = ModelSlot()
        self.models = None                     # engine.ocr.task.Recognizers once loaded
        self.reading = None
        self.truth_view = None
        self._seed = 0
        self._notice = ""                # a failed "Open image…", said with the next reading
        self._loading = ""               # the model chosen in the list, until it is read
        self._snapshot_step = None       # while training: the step of the snapshot that reads
        self._stepped = False            # "Train on this" changed the weights that read
        self._self_test_done: Optional[Callable] = None

        bar = Toolbar(GTN, ISOLATED)
        self.width_box, self.undo_button, self.clear_button = bar.width_box, bar.undo_button, bar.clear_button
        self.check_button, self.open_button, self.model_combo = bar.check_button, bar.open_button, bar.model_combo
        self.recognizer, self.heuristic_cuts = bar.recognizer, bar.heuristic_cuts

        # left: canvas, segmentation, lattice
        self.canvas = DrawingCanvas()
        self.segmentation = QLabel("the over-segmentation appears here")
        self.segmentation.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.segmentation.setMinimumHeight(90)
        self.segmentation.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.lattice = LatticeView()
        scroll = QScrollArea()
        scroll.setWidget(self.lattice)
        scroll.setWidgetResizable(True)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.canvas)
        left.addWidget(self.segmentation)
        left.addWidget(scroll)
        left.setSizes([260, 150, 480])
        self.figure = left

        # right: reading, truth + GTN, training, card
        reading = ReadingPage()
        self.amount_label, self.info_label = reading.amount_label, reading.info_label
        self.alternatives = reading.alternatives
        self.truth_edit, self.loss_label, self.train_this = reading.truth_edit, reading.loss_label, reading.train_this
        self.reading_page = reading
        self.panel = TrainingPanel(["MNIST digits + generated checks"], [
            Param("start", "start from", "choice", START_PRETRAINED, choices=[START_PRETRAINED, START_SCRATCH]),
            Param("fields", "generated amounts for pre-training", "int", 3000, 50, 50000),
            Param("epochs", "pre-training epochs", "int", 10, 1, 100),
            Param("gtn_steps", "GTN steps", "int", 400, 0, 100000),
            Param("gtn_lr", "GTN learning rate", "float", 2e-4, 1e-6, 1.0),
        ])
        self.card_view = ModelCardView()
        container = QWidget()
        cl = QVBoxLayout(container)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(bar)
        cl.addWidget(left, 1)
        side = self.side_by_side(container, [(reading, "Reading"), (self.panel, "Training"),
                                             (self.card_view, "Model card")])
        side.setMinimumWidth(380)

        # wiring
        self.width_box.valueChanged.connect(self.canvas.set_stroke_width)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.clear_button.clicked.connect(self.canvas.clear)
        self.check_button.clicked.connect(self.new_check)
        self.open_button.clicked.connect(self._open_dialog)
        self.model_combo.activated.connect(self._on_model_chosen)
        self.recognizer.currentTextChanged.connect(self._on_recognizer)
        self.heuristic_cuts.toggled.connect(self._on_recognizer)
        self.canvas.drawingChanged.connect(self.read)
        self.alternatives.currentRowChanged.connect(self._on_alternative)
        self.lattice.arcClicked.connect(self._on_arc_clicked)
        self.truth_edit.textChanged.connect(self._on_truth)
        self.train_this.clicked.connect(self.train_on_this)
        self.panel.trainRequested.connect(self._on_train_requested)
        self.panel.cancelRequested.connect(self.cancel_training)
        self.panel.editor("start").currentTextChanged.connect(self._on_start_changed)
        self._on_start_changed(self.panel.values()["start"])
        self.canvas.set_stroke_width(self.width_box.value())

        self.submit("load", load_job, lane="background", on_done=self._on_models, on_error=self._on_load_error)
        # (if listing fails, the list still shows the loaded model)
        self.submit("list", list_job, lane="background", on_done=self._on_model_list)

    # -- models -----------------------------------------------------------------------------------
    def _on_model_list(self, names: list) -> None:
        for name in names:
            if self.model_combo.findText(name) < 0:
                self.model_combo.addItem(name)
        if self.models is not None:
            self.model_combo.setCurrentText(self.models.card.name)

    def _on_model_chosen(self, index: int) -> None:
        name = self.model_combo.itemText(index)
        if self.models is not None and name == self.models.card.name:
            if self._loading:                  # back to the model in use: the pending choice is off
                self.tickets["choose"].cancel()
                self._loading = ""
                self.read()
            return
        self._loading = name
        self.info_label.setText(f"loading {name}…")
        # (the interactive lane: another tab's training holds the background one for minutes)
        self.submit("choose", load_job, name, on_done=self._on_models, on_error=self._on_load_error)

    def _on_models(self, models) -> None:
        self.models, self._loading = models, ""
        if self.model_combo.findText(models.card.name) < 0:
            self.model_combo.addItem(models.card.name)
        self.model_combo.setCurrentText(models.card.name)
        self.card_view.set_card(models.card)
        with QSignalBlocker(self.heuristic_cuts):   # as the model decodes by default
            self.heuristic_cuts.setChecked(bool(models.gtn.config.alt_heuristic))
        self._on_recognizer()

    def _on_load_error(self, message: str) -> None:
        if message == "cancelled":
            return
        self._loading = ""
        if self.models is None:
            self.card_view.set_card(None, error=message)
            self.info_label.setText(f"no recognizer: {message}")
        else:                                  # a chosen model failed: the one in use stays
            self.model_combo.setCurrentText(self.models.card.name)
            self.info_label.setText(f"{message} · still reading with {self.models.card.name}")

    def _on_recognizer(self, _changed=None) -> None:
        """Publish the chosen recognizer of the loaded model, with or without heuristic cuts."""
        if self.models is not None:
            if self._stepped:                  # say so: the reading (and its loss) changes back
                self._notice = f"'Train on this' undone: {self.models.card.name}'s own weights read again"
                self._stepped = False
            model = self.models.gtn if self.recognizer.currentText() == GTN else self.models.isolated
            self.slot.publish(model.with_heuristic_cuts(self.heuristic_cuts.isChecked()))
            self.read()

    # -- reading ----------------------------------------------------------------------------------
    def read(self) -> None:
        if self.canvas.is_blank():
            self._show_nothing("draw an amount")
            return
        if self.slot.get() is None:
            self.info_label.setText("loading the recognizer…")
            return
        self.submit("predict", read_job, self.slot.get(), self.canvas.image(),
                    self.truth_edit.text().strip(), on_done=self._on_reading, on_error=self._on_read_error)

    def _show_nothing(self, message: str) -> None:
        self.reading = None
        message, self._notice = (f"{self._notice} · {message}" if self._notice else message), ""
        self.reading_page.show_nothing(message)
        self.lattice.clear()
        self.segmentation.setText(message)

    def _on_read_error(self, message: str) -> None:
        if message != "cancelled":
            self._show_nothing(message)

    def _on_reading(self, result) -> None:
        reading, view = result
        self.reading = reading
        self.reading_page.show_reading(reading)
        if self._snapshot_step is not None:     # the settings above wait for the training's end
            self._notice = f"read by the training's snapshot at step {self._snapshot_step}"
        if self._notice:
            self.info_label.setText(f"{self._notice} · {self.info_label.text()}")
            self._notice = ""
        c = reading.cands
        top = reading.logp[:, :N_LABELS].max(1)
        from engine.ocr.checks import CHARSET
        labels = [f"{CHARSET[int(i)]} {float(v):.1f}" for v, i in zip(top.values, top.indices)]
        self.lattice.set_lattice(c.num_states, c.spans, c.images, labels, pair_thumbs(reading))
        self._highlight_path(reading.path)
        self._show_truth(view)

    def _highlight_path(self, path) -> None:
        spans, pairs = path_labels(self.reading, path)
        self.lattice.set_highlight(spans, {j: t for j, _, t in pairs})
        self._draw_segmentation(spans, [(box, t) for _, box, t in pairs])

    def _on_alternative(self, row: int) -> None:
        if self.reading is None or row < 0:
            return
        path = self.reading.path if row == 0 else self.reading.alternatives[row - 1][2]
        self._highlight_path(path)

    def _on_arc_clicked(self, span: int) -> None:
        if self.reading is not None:
            self.info_label.setText(arc_text(self.reading, span))

    def _draw_segmentation(self, path_spans: dict[int, str], pair_boxes: list = ()) -> None:
        if self.reading is None:
            return
        pix = segmentation_pixmap(self.reading.cands, path_spans, self.font(), pair_boxes)
        target = self.segmentation.size()
        self.segmentation.setPixmap(pix.scaled(target, Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))

    # -- the true amount, GTN ------------------------------------------------------------------------
    def _on_truth(self, text: str) -> None:
        text = text.strip()
        if self.reading is None:             # no reading yet: read again, with the truth this time
            self.read()
            return
        if not text:
            self._show_truth(None)
            return
        from engine.ocr.checks import CHARSET
        if any(c not in CHARSET for c in text):
            self.loss_label.setText(f"an amount uses only {CHARSET}")
            self.train_this.setEnabled(False)
            return
        self.submit("truth", truth_job, self.reading, text, on_done=self._show_truth,
                    on_error=self._on_truth_error)

    def _on_truth_error(self, message: str) -> None:
        if message != "cancelled":
            self.loss_label.setText(message)

    def _show_truth(self, view) -> None:
        self.truth_view = view
        self.reading_page.show_loss(view)
        if view is None or not view.spans:
            self.lattice.set_constrained([], None)
            return
        # green arcs: the gradient on the arc that reads the truth (negative: GTN pushes it up);
        # other arcs: summed over their labels (positive: GTN pushes them down)
        grads = {i: float(g) for i, g in enumerate(view.span_grad) if abs(g) >= 0.01}
        grads.update({i: g for i, g in view.truth_grad.items() if abs(g) >= 0.01})
        self.lattice.set_constrained(view.spans, grads, "numbers: ∂loss/∂w = P(arc) − P(arc | truth)   "
                                     "(blue: training raises the arc, red: lowers it)")

    def train_on_this(self) -> None:
        truth = self.truth_edit.text().strip()
        if not truth or self.slot.get() is None or self.canvas.is_blank():
            return
        self.train_this.setEnabled(False)
        self.submit("gtn_step", train_step_job, self.slot.get(), self.canvas.image(), truth,
                    on_done=self._on_trained_step, on_error=self._on_truth_error)

    def _on_trained_step(self, result) -> None:
        model, before, after = result
        self.slot.publish(model)
        self._stepped = True
        self.panel.log(f"one GTN step on this image: loss {before:.3f} → {after:.3f}")
        self.loss_label.setText(f"one GTN step: loss {before:.3f} → {after:.3f}")
        self.read()

    # -- training ---------------------------------------------------------------------------------
    def _on_train_requested(self, values: dict) -> None:
        refusal = ("this demo trains on MNIST digits and generated checks only" if values.get("own_file") else
                   f"{self._loading} is still loading: train once it reads" if self._loading else "")
        if refusal:
            self.panel.finished(refusal, ok=False)
            return
        if values["start"] == START_PRETRAINED:
            # GTN training alone, from the current model's pre-trained CNN and cut finders: minutes,
            # and the point of the lecture (isolated-trained → GTN-trained)
            init = self.models.card.name if self.models is not None else "amounts"
            self.panel.started(f"GTN training from {init}'s pre-trained CNN" + self.waiting_note())
        else:
            init = None
            self.panel.started("pre-training on digits and labelled spans, then GTN training" + self.waiting_note())
        options = train_options(values, init)
        self._allow_recognizer_choice(False)
        self.submit("train", train_job, options, lane="background", on_progress=self._on_train_progress,
                    on_done=self._on_train_done, on_error=self._on_train_error)

    def _allow_recognizer_choice(self, allowed: bool) -> None:
        """Off while training: the training's snapshots are what reads the drawing then."""
        for widget in (self.model_combo, self.recognizer, self.heuristic_cuts):
            widget.setEnabled(allowed)

    def _on_start_changed(self, start: str) -> None:
        """Pre-training's settings apply only when training starts from scratch."""
        for name in ("fields", "epochs"):
            self.panel.editor(name).setEnabled(start == START_SCRATCH)

    def _on_train_progress(self, event) -> None:
        self.panel.on_progress(event)
        if event.checkpoint is not None:
            self.slot.publish(event.checkpoint)
            self._snapshot_step, self._stepped = event.step, False     # (its weights replace any step)
            self.read()

    def _on_train_done(self, card) -> None:
        self._allow_recognizer_choice(True)
        self._snapshot_step = None
        figures = ", ".join(f"{k} {v}" for k, v in card.metrics.items() if not isinstance(v, dict))  # no breakdowns
        self.panel.finished(f"saved {card.name}: {figures}")
        self.submit("load", load_job, card.name, lane="background", on_done=self._on_models,
                    on_error=self._on_load_error)

    def _on_train_error(self, message: str) -> None:
        self._allow_recognizer_choice(True)
        self._snapshot_step = None
        self.panel.finished(self.training_failed_text(message), ok=False)
        if self.models is not None:
            self._on_recognizer()

    # -- inputs -----------------------------------------------------------------------------------
    def new_check(self) -> None:
        self._seed += 1
        # (the interactive lane: a training on the background lane must not hold it up)
        self.submit("check", random_check_job, self._seed, on_done=self._on_check, on_error=self._on_read_error)

    def _on_check(self, result) -> None:
        image, text = result
        self.truth_edit.blockSignals(True)
        self.truth_edit.setText(text)
        self.truth_edit.blockSignals(False)
        self.canvas.set_image(image)

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an amount or a check", "",
                                              "Images (*.png *.jpg *.jpeg)")
        if path:
            self.open_image(path)

    def open_image(self, path: str) -> None:
        self.submit("open", open_image_job, path, on_done=self.canvas.set_image, on_error=self._on_open_error)

    def _on_open_error(self, message: str) -> None:
        """Not an image: say so, and keep the drawing with its reading."""
        if message != "cancelled":
            self._notice = f"{message} (the drawing is unchanged)"
            self.read()

    def write(self, text: str) -> None:
        """Write `text` on the canvas with scripted strokes (demo and self-test, no data needed)."""
        self.canvas.clear()
        for points, pen in scripted_strokes(text, self.canvas.stroke_width):
            self.canvas.add_stroke(points, pen)

    # -- DemoTab --------------------------------------------------------------------------------------
    def demo_input(self) -> None:
        self.write(DEMO_AMOUNT)
        self.truth_edit.setText(DEMO_AMOUNT)

    def self_test(self, done: Callable[[bool, str], None]) -> None:
        self._self_test_done = done
        self.write("250")
        self.submit("selftest", self_test_job, self.canvas.image(), lane="background",
                    on_done=self._on_self_test, on_error=self._on_self_test)

    def _on_self_test(self, result) -> None:
        """(reading, truth view), or the job's error message."""
        done, self._self_test_done = self._self_test_done, None
        if done is not None:
            ok = not isinstance(result, str)
            done(ok, f"read {result[0].amount!r} in {result[0].ms:.0f} ms" if ok else result)

    def figure_widget(self) -> QWidget:
        return self.figure


if __name__ == "__main__":
    import sys

    from desktop.tabs.preview import run_preview
    sys.exit(run_preview(Tab))
