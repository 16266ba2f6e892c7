"""The Text classification tab's compression panel: FastText.zip as its own idea, apart from the tab.

Choose the floats per sub-vector (dsub), the rows kept (cutoff), norms / output-layer options;
"Compress & measure" quantizes the model in use (product quantization of the input rows, optionally
the output layer) and plots its size against its accuracy on a log-KB axis, beside the dense model
(the lecture's "Memory in Kb (log scale)" figure). The compressed model can go live, and be saved
as ``<name>-q``.

The panel only asks and shows: it emits ``compressRequested`` / ``saveRequested`` /
``liveToggled``, and the tab (desktop/tabs/classify.py, which owns the models and the live slot)
runs ``compress_job`` / ``save_compressed_job`` below on the background lane through the
EngineBridge; the bridge's @Slots then call the panel's methods on the GUI thread. The jobs touch
no widget and import the engine inside, so building the window never imports torch.
"""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)


# -- engine-side jobs (run on the engine lanes: no widgets touched here) --------------------------
def compress_job(model, card, dsub: int, cutoff: int, qnorm: bool, retrain: bool, qout: bool = False) -> dict:
    from engine.classify import pipeline
    from engine.classify.compress import CompressConfig, size_bytes
    data = card.data.get("dataset") or card.data.get("file") or "sentiment"
    if dsub < 1 or model.config.dim % dsub:
        raise ValueError(f"dsub must divide the model's dimension {model.config.dim}")
    # a calibrated model (--calibrate) is calibrated again after its output layer is retrained
    calibrated = retrain and bool(card.metrics.get("calibration"))
    cfg = CompressConfig(dsub=dsub, cutoff=cutoff, qnorm=qnorm, retrain=retrain, qout=qout, calibrate=calibrated)
    out = pipeline.compress_and_score(model, cfg, data)
    dense = pipeline.evaluate_split(model, pipeline.datasets.load(data).test)["accuracy"]
    label = f"dsub {dsub}" + (f", cutoff {cutoff:,}" if cutoff else "") + (", qout" if qout else "") \
        + (", recalibrated" if calibrated else "")
    return {**out, "dense_bytes": size_bytes(model), "dense_accuracy": dense, "label": label,
            "config": cfg, "card": card}


def save_compressed_job(out: dict):
    from engine.classify import pipeline
    return pipeline.save_compressed(out["model"], out["card"], out["config"], out["accuracy"])


# -- the panel ---------------------------------------------------------------------------------------

def kb_ticks(lo_kb: float, hi_kb: float) -> list[tuple[float, str]]:
    """(log10 position, label) ticks at 1, 2, 5 × 10^k KB from the last one at or below lo_kb to
    the first one at or above hi_kb; only the powers of ten when the data span over 3 decades."""
    lo_kb, hi_kb = max(lo_kb, 1e-3), max(hi_kb, 1e-3)
    lo, hi = math.floor(math.log10(lo_kb)), math.ceil(math.log10(hi_kb))
    steps = (1, 2, 5) if hi - lo <= 3 else (1,)
    values = [m * 10.0 ** k for k in range(lo, hi + 1) for m in steps]
    first = max(i for i, v in enumerate(values) if v <= lo_kb * (1 + 1e-9))
    last = min(i for i, v in enumerate(values) if v >= hi_kb * (1 - 1e-9))
    return [(math.log10(v), f"{v:,.0f}" if v >= 1 else f"{v:g}") for v in values[first:last + 1]]


class CompressionPanel(QWidget):
    # {"dsub", "cutoff", "qnorm", "retrain", "qout"} — "Compress & measure" was clicked
    compressRequested = Signal(dict)
    # the user ticked (True) or cleared (False) "use the compressed model live"
    liveToggled = Signal(bool)
    # "Save the compressed model" was clicked (the button stays off until the next result)
    saveRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.dsub = QComboBox()
        self.dsub.addItems(["1", "2", "5", "10"])
        self.dsub.setCurrentText("2")
        self.cutoff = QSpinBox()
        self.cutoff.setRange(0, 5_000_000)
        self.cutoff.setSingleStep(10_000)
        self.cutoff.setSpecialValueText("keep all rows")
        self.cutoff.setValue(50_000)
        self.qnorm = QCheckBox("quantize norms separately")
        self.qnorm.setChecked(True)
        self.retrain = QCheckBox("retrain the output layer")
        self.retrain.setChecked(True)
        self.qout = QCheckBox("quantize the output layer too (qout)")
        self.run_button = QPushButton("Compress && measure")
        self.use_live = QCheckBox("use the compressed model live")
        self.use_live.setEnabled(False)
        self.save_button = QPushButton("Save the compressed model")
        self.save_button.setEnabled(False)
        self.status = QLabel("Quantize the input matrix (k = 256 centroids per sub-vector).")
        self.status.setWordWrap(True)
        self.plot = pg.PlotWidget(title="Accuracy vs memory")
        self.plot.setLogMode(x=True)
        self.plot.setLabel("bottom", "Memory in KB (log scale)")
        self.plot.setLabel("left", "accuracy (%)")
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.points = pg.ScatterPlotItem(size=14, pen=pg.mkPen("k"))
        self.plot.addItem(self.points)
        self._spots: list[dict] = []
        self._dense_point_for = ""                # the model whose dense point is on the plot
        form = QFormLayout()
        form.addRow("floats per sub-vector (dsub)", self.dsub)
        form.addRow("cutoff (rows kept)", self.cutoff)
        form.addRow(self.qnorm)
        form.addRow(self.retrain)
        form.addRow(self.qout)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.run_button)
        layout.addWidget(self.use_live)
        layout.addWidget(self.save_button)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        self.run_button.clicked.connect(self._on_run)
        self.use_live.toggled.connect(self.liveToggled)
        self.save_button.clicked.connect(self._on_save)

    # -- user actions (GUI thread) -----------------------------------------------------------
    @Slot()
    def _on_run(self) -> None:
        self.compressRequested.emit({"dsub": int(self.dsub.currentText()), "cutoff": self.cutoff.value(),
                                     "qnorm": self.qnorm.isChecked(), "retrain": self.retrain.isChecked(),
                                     "qout": self.qout.isChecked()})

    @Slot()
    def _on_save(self) -> None:
        self.save_button.setEnabled(False)
        self.saveRequested.emit()

    # -- what the tab pushes in (GUI thread) ---------------------------------------------------
    @Slot(str)
    def show_message(self, text: str) -> None:
        self.status.setText(text)

    @Slot(str)
    def started(self, name: str) -> None:
        self.run_button.setEnabled(False)
        self.status.setText(f"compressing {name}… (k-means on the input rows)")

    @Slot(object, str)
    def show_result(self, out: dict, current: str, live_ok: bool = True) -> None:
        """A compress_job result for the model `current`: its point (and the dense one) on the plot.
        `live_ok` is False when another model went live meanwhile: it cannot stand in for that one."""
        self.run_button.setEnabled(True)
        if self._dense_point_for != current:
            self.clear()
            self.add_point(out["dense_bytes"] / 1024, out["dense_accuracy"], "dense", dense=True)
            self._dense_point_for = current
        self.add_point(out["bytes"] / 1024, out["accuracy"], out["label"])
        self.use_live.setEnabled(live_ok)
        self.save_button.setEnabled(True)
        retrained = ""
        if "accuracy_before_retrain" in out:
            retrained = f"; {100 * out['accuracy_before_retrain']:.1f}% before retraining the output layer"
        self.status.setText(
            f"{out['label']}: {out['bytes'] / 1024:,.0f} KB ({out['dense_bytes'] / out['bytes']:.0f}× smaller), "
            f"accuracy {100 * out['accuracy']:.1f}% (dense {100 * out['dense_accuracy']:.1f}%{retrained})")

    @Slot(str)
    def failed(self, message: str) -> None:
        """A compress or save job failed ("cancelled" leaves the status as it was)."""
        self.run_button.setEnabled(True)
        if message != "cancelled":
            self.status.setText(message)

    @Slot(object)
    def saved(self, card) -> None:
        self.status.setText(f"saved as “{card.name}” ({card.bytes / 1024:,.0f} KB on disk): "
                            f"seqlab predict classify --model {card.name}")

    @Slot()
    def reset_live(self, can_use: bool = True) -> None:
        """Another model went live: untick "use the compressed model live" without emitting; it
        can be ticked again only if `can_use` (the compressed model is that model's, and no
        training is running; a compressed model of another one can still be saved)."""
        self.use_live.blockSignals(True)
        self.use_live.setChecked(False)
        self.use_live.blockSignals(False)
        self.use_live.setEnabled(can_use)

    # -- the plot --------------------------------------------------------------------------
    def add_point(self, kb: float, accuracy: float, label: str, dense: bool = False) -> None:
        self._spots.append({"pos": (math.log10(max(kb, 1e-3)), 100 * accuracy),
                            "brush": pg.mkBrush("#1f77b4" if dense else "#d62728"), "data": label})
        self.points.setData(self._spots)
        self.plot.getPlotItem().getViewBox().setDefaultPadding(0.15)
        # in the theme's text colour: pyqtgraph's default light grey vanished on the light theme
        text = pg.TextItem(f"{label}\n{kb:,.0f} KB, {100 * accuracy:.1f}%", anchor=(1, 1) if dense else (0, 1),
                           color=pg.getConfigOption("foreground"))
        text.setPos(math.log10(max(kb, 1e-3)), 100 * accuracy)
        self.plot.addItem(text)
        # our own labels at 1-2-5 steps: pyqtgraph's log axis labels every minor tick of a
        # range under a few decades, and "5·10¹6·10¹7·10¹…" ran into each other
        kbs = [10 ** s["pos"][0] for s in self._spots]
        self.plot.getAxis("bottom").setTicks([kb_ticks(min(kbs), max(kbs)), []])

    def clear(self) -> None:
        self._spots.clear()
        self.points.setData([])
        self.plot.getAxis("bottom").setTicks(None)
        for item in list(self.plot.items()):
            if isinstance(item, pg.TextItem):
                self.plot.removeItem(item)
