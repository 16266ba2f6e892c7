"""Shared widgets: data in, what the user sees out."""
import numpy as np
import pytest

from desktop.widgets.heatmap import Heatmap
from desktop.widgets.highlighted_text import HighlightedText
from desktop.widgets.live_plot import LivePlot
from desktop.widgets.model_card_view import ModelCardView
from desktop.widgets.topk_bars import TopKBars
from desktop.widgets.training_panel import OWN_FILE, Param, TrainingPanel
from engine.cards import ModelCard
from engine.runtime import Progress


def test_heatmap_hover_reports_the_cell(qtbot):
    h = Heatmap()
    qtbot.addWidget(h)
    h.resize(500, 400)
    h.show()
    m = np.arange(6, dtype=float).reshape(2, 3)
    h.set_matrix(m, ["the", "cat"], ["il", "gatto", "."])
    vb = h.plot.getPlotItem().vb
    scene_pos = vb.mapViewToScene(vb.mapToView(vb.mapFromView(__import__("PySide6.QtCore", fromlist=["QPointF"]).QPointF(2, 1))))
    with qtbot.waitSignal(h.cellHovered) as sig:
        h._on_mouse_moved(scene_pos)
    assert sig.args == [1, 2]
    assert "cat × .: 5.000" in h.readout.text()
    with pytest.raises(ValueError):
        h.set_matrix(np.zeros(3), [], [])


def test_an_empty_heatmap_draws_no_cell(qtbot):
    """An empty translation once left one cell of the colour map's lowest colour on screen."""
    h = Heatmap()
    qtbot.addWidget(h)
    h.set_matrix(np.ones((2, 2)), ["a", "b"], ["c", "d"])
    h.set_matrix(np.zeros((0, 0)), [], [])
    assert h.image.image is None and h.values().size == 0


def test_training_panel_collects_settings_and_shows_progress(qtbot):
    panel = TrainingPanel(["sentiment"], [Param("lr", "learning rate", "float", 0.5, 0.0, 5.0),
                                          Param("epochs", "epochs", "int", 5, 1, 100),
                                          Param("loss", "loss", "choice", "softmax", choices=["softmax", "hs"]),
                                          Param("bigrams", "bigrams", "bool", True)])
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.trainRequested) as sig:
        panel.train_button.click()
    assert sig.args[0] == {"dataset": "sentiment", "own_file": None, "lr": 0.5, "epochs": 5,
                           "loss": "softmax", "bigrams": True}
    panel.started("go")
    assert not panel.train_button.isEnabled() and panel.cancel_button.isEnabled()
    panel.on_progress(Progress(5, 10, loss=0.7, metrics={"accuracy": 0.8}))
    assert panel.progress.value() == 500 and "loss 0.7000" in panel.status.text()
    assert panel.plot.series("accuracy") == ([5.0], [0.8])
    with qtbot.waitSignal(panel.cancelRequested):
        panel.cancel_button.click()
    panel.finished("cancelled; previous model kept", ok=False)
    assert panel.train_button.isEnabled()


def test_training_panel_puts_measures_on_their_own_axis_and_leaves_counters_out(qtbot):
    panel = TrainingPanel(["a"], [])
    qtbot.addWidget(panel)
    panel.resize(500, 500)
    panel.show()
    panel.started()
    for step, (loss, ppl) in enumerate([(6.0, 400.0), (5.0, 150.0), (4.5, 90.0)], 1):
        panel.on_progress(Progress(step, 3, loss=loss, metrics={"ppl": ppl, "epoch": 1}))
    qtbot.wait(50)
    item = panel.plot.plot.getPlotItem()
    assert panel.plot.series("epoch") == ([], []) and "epoch 1" in panel.status.text()
    assert item.getAxis("left").labelString().count("loss") and item.getAxis("right").labelString().count("ppl")
    # each axis spans its own values: the loss is not flattened against a perplexity of 400
    left, right = item.vb.viewRange()[1], panel.plot._right.viewRange()[1]
    assert left[0] >= 3 and left[1] <= 7.5 and right[0] >= 0 and right[1] >= 400
    panel.started()                          # a new training starts from empty axes
    assert panel.plot.series("ppl") == ([], []) and not panel.plot._right.addedItems
    assert "ppl" not in item.getAxis("right").labelString()


def test_training_panel_own_file_needs_a_file(qtbot):
    panel = TrainingPanel(["a"], [])
    qtbot.addWidget(panel)
    panel.set_own_file(None)
    with qtbot.assertNotEmitted(panel.trainRequested):
        panel.train_button.click()
    assert "choose a file" in panel.status.text()
    panel.set_own_file("/tmp/mine.txt")
    with qtbot.waitSignal(panel.trainRequested) as sig:
        panel.train_button.click()
    assert sig.args[0]["dataset"] == OWN_FILE and sig.args[0]["own_file"] == "/tmp/mine.txt"


def test_topk_bars_show_items_in_order(qtbot):
    bars = TopKBars(k=3)
    qtbot.addWidget(bars)
    bars.set_items([("positive", 0.93), ("negative", 0.07)])
    assert bars.items() == [("positive", 0.93), ("negative", 0.07)]


def test_highlighted_text_colours_by_sign(qtbot):
    t = HighlightedText()
    qtbot.addWidget(t)
    t.set_spans([("good", 0.9), ("not", -0.4), ("<b>", 0.0)])
    html = t.text()
    assert "rgba(44,160,44" in html and "rgba(214,39,40" in html and "&lt;b&gt;" in html


def test_live_plot_and_card_view(qtbot):
    p = LivePlot("t", "step", "loss")
    qtbot.addWidget(p)
    p.add_point("loss", 1, 2.0)
    p.add_point("loss", 2, 1.0)
    assert p.series("loss") == ([1.0, 2.0], [2.0, 1.0])
    p.clear()
    p.resize(400, 300)
    p.show()
    p.add_point("loss", 1, 0.69)                          # close values: no "(x0.001)" rescaling
    p.add_point("valid_accuracy", 1, 0.5)
    p.add_point("loss", 2, 0.68)
    qtbot.wait(50)
    assert p.plot.getAxis("left").labelString().count("x0.001") == 0
    p.clear()
    assert p.series("loss") == ([], [])
    v = ModelCardView()
    qtbot.addWidget(v)
    v.set_card(ModelCard("classify", "sentiment", "fasttext", {}, metrics={"accuracy": 0.78},
                         train_command="seqlab train classify"))
    assert "accuracy 0.78" in v.text() and "seqlab train classify" in v.text()
    v.set_card(None, error="weights corrupt")
    assert "weights corrupt" in v.text()


def test_heatmap_labels_thin_out_only_when_they_do_not_fit():
    """90 target words drew 90 row labels on top of each other."""
    from desktop.widgets.heatmap import every_kth
    words = [f"w{i}" for i in range(10)]
    assert every_kth(words, 20) == list(enumerate(words))               # room for all: all of them
    assert every_kth(words, 5) == [(i, f"w{i}") for i in (0, 2, 4, 6, 8)]
    assert len(every_kth(words, 3)) <= 3


def test_capped_label_grows_with_its_text_up_to_the_cap_and_shrinks_back(qtbot):
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from desktop.widgets.capped_label import CappedLabel
    box = QWidget()
    qtbot.addWidget(box)
    layout = QVBoxLayout(box)
    label = CappedLabel("short", max_lines=4)
    layout.addWidget(label)
    layout.addStretch(1)
    box.resize(400, 400)
    box.show()
    one_line = label.minimumHeight()
    label.setText("a long translation " * 40)
    assert label.minimumHeight() == label.maximumHeight() > 3 * one_line      # capped at 4 lines
    label.setText("short")                               # (it once kept the long text's height)
    assert label.minimumHeight() == one_line
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * 2)
    label.setFont(font)                                  # zoom: the cap and the fit follow the font
    assert label.minimumHeight() > one_line and label.maximumHeight() > 4 * one_line
    font.setPointSizeF(font.pointSizeF() / 2)
    label.setFont(font)
    assert label.minimumHeight() == one_line
