"""The Check OCR tab with pytest-qt (offscreen): write, read, lattice, truth + GTN step, self-test."""
import numpy as np
import pytest

from desktop.bridge import EngineBridge
from desktop.widgets.drawing_canvas import DrawingCanvas
from desktop.widgets.lattice_view import LatticeView
from engine.runtime import Engine

pytestmark = pytest.mark.skipif(
    not __import__("pathlib").Path(__file__).resolve().parent.parent.joinpath(
        "assets/models/ocr/amounts.safetensors").exists(), reason="the shipped OCR model is missing")


@pytest.fixture
def tab(qtbot):
    from desktop.tabs.ocr import Tab
    engine = Engine("cpu")
    t = Tab(EngineBridge(engine))
    qtbot.addWidget(t)
    t.resize(1400, 900)
    t.show()
    qtbot.waitUntil(lambda: t.models is not None, timeout=30000)
    yield t
    t.shutdown()
    engine.shutdown(wait=5.0)


def test_canvas_strokes_undo_and_image(qtbot):
    c = DrawingCanvas()
    qtbot.addWidget(c)
    assert c.is_blank() and c.image().min() == 255
    with qtbot.waitSignal(c.drawingChanged):
        c.add_stroke([(100, 50), (100, 200)], width=12)
    img = c.image()
    assert img.shape == (240, 900) and img[120, 100] < 80 and img[120, 300] == 255
    c.undo()
    assert c.is_blank() and c.image().min() == 255
    c.set_image(np.full((50, 120), 200, np.uint8))
    assert c.image().shape == (50, 120) and not c.is_blank()


def test_lattice_view_highlights_and_clicks(qtbot):
    v = LatticeView()
    qtbot.addWidget(v)
    v.resize(600, 320)
    v.show()
    v.set_lattice(3, [(0, 1), (1, 2), (0, 2)], np.zeros((3, 28, 28)), ["1", "2", "7"])
    v.set_highlight({2: "7"})
    v.set_constrained([0, 1], {0: 0.3, 1: -0.2}, "grad")
    assert v.highlighted() == {2: "7"}
    v.grab()                                        # paints without error
    with qtbot.waitSignal(v.arcClicked) as sig:
        from PySide6.QtCore import QPoint, Qt
        r = v._rects[0]
        qtbot.mouseClick(v, Qt.MouseButton.LeftButton, pos=QPoint(int(r.center().x()), int(r.center().y())))
    assert sig.args == [0]


def test_writing_reads_and_truth_trains(qtbot, tab):
    tab.write("250")
    qtbot.waitUntil(lambda: tab.reading is not None, timeout=20000)
    assert tab.amount_label.text() not in ("", "—")
    assert tab.alternatives.count() >= 2
    assert tab.lattice._states == tab.reading.cands.num_states
    tab.alternatives.setCurrentRow(1)               # highlight an alternative's path
    alt_path = tab.reading.alternatives[0][2]
    from desktop.tabs.ocr_drawing import path_labels
    assert tab.lattice.highlighted() == path_labels(tab.reading, alt_path)[0]
    tab.truth_edit.setText("250")
    qtbot.waitUntil(lambda: tab.truth_view is not None, timeout=20000)
    if tab.truth_view.spans:                        # the segmenter found a path reading "250"
        assert "GTN loss" in tab.loss_label.text()
        version = tab.slot.version
        tab.train_on_this()
        qtbot.waitUntil(lambda: tab.slot.version > version, timeout=20000)
        assert "→" in tab.loss_label.text() or "GTN loss" in tab.loss_label.text()
        tab.heuristic_cuts.toggle()                 # back to the model's own weights: said, not silent
        qtbot.waitUntil(lambda: "'Train on this' undone" in tab.info_label.text(), timeout=20000)
    tab.canvas.clear()
    assert tab.info_label.text() == "draw an amount"


def test_heuristic_cuts_join_the_lattice_when_asked(qtbot, tab):
    assert tab.heuristic_cuts.isChecked() == bool(tab.models.gtn.config.alt_heuristic)
    tab.heuristic_cuts.setChecked(False)
    tab.write("70")
    qtbot.waitUntil(lambda: tab.reading is not None and not tab.reading.cands.segs, timeout=20000)
    tab.heuristic_cuts.setChecked(True)             # the same weights, two segmentations merged
    qtbot.waitUntil(lambda: tab.reading is not None and len(tab.reading.cands.segs) == 2, timeout=20000)
    assert "2 segmentations" in tab.info_label.text()


def test_a_thin_pen_reads_and_a_photo_gets_a_message(qtbot, tab):
    tab.canvas.set_stroke_width(2)                  # the thinnest pen: its strokes used to vanish
    tab.write("70")
    qtbot.waitUntil(lambda: tab.reading is not None, timeout=20000)
    assert tab.amount_label.text() == "70"
    face = np.full((480, 640), 200, np.uint8)       # filled shapes, not pen strokes
    face[40:440, 170:470] = 90
    tab.canvas.set_image(face)
    qtbot.waitUntil(lambda: tab.reading is None, timeout=20000)
    assert "filled shapes" in tab.info_label.text()


def test_self_test_reads_through_the_bridge(qtbot, tab):
    result = {}
    tab.self_test(lambda ok, msg: result.update(ok=ok, msg=msg))
    qtbot.waitUntil(lambda: "ok" in result, timeout=30000)
    assert result["ok"], result["msg"]
    assert result["msg"].startswith("read ")


def test_gtn_training_from_the_pretrained_cnn_lands_a_model(qtbot, tab, seqlab_home):
    # the training panel's default start: GTN steps only, from the loaded model's pre-trained CNN
    # (~17 s: ~1,400 amounts read, validation before and after the step and the card's eval)
    import json
    from desktop.tabs.ocr import START_PRETRAINED
    shipped = tab.models.card.sha256
    values = {**tab.panel.values(), "gtn_steps": 1}
    assert values["start"] == START_PRETRAINED
    tab.panel.trainRequested.emit(values)
    assert not tab.recognizer.isEnabled() and not tab.model_combo.isEnabled()   # its snapshots read meanwhile
    qtbot.waitUntil(lambda: "saved my-amounts" in tab.panel.status.text(), timeout=180000)
    assert tab.recognizer.isEnabled() and tab.model_combo.isEnabled()
    models = seqlab_home / "data" / "models" / "ocr"
    assert not (models / "amounts.json").exists()          # the shipped model is not shadowed
    card = json.loads((models / "my-amounts.json").read_text())
    assert card["train_command"].startswith("seqlab train ocr --init amounts --gtn-steps 1")
    assert card["extra"]["init"]["sha256"] == shipped
    qtbot.waitUntil(lambda: tab.models.card.sha256 == card["sha256"], timeout=30000)   # the new one is read with
    assert tab.model_combo.currentText() == "my-amounts"
    # and the shipped one is one choice away
    choose(tab, "amounts")
    qtbot.waitUntil(lambda: tab.models.card.sha256 == shipped, timeout=30000)


def test_a_model_that_fails_to_load_leaves_the_current_one(qtbot, tab, seqlab_home):
    shipped_copy(seqlab_home, "broken")
    (seqlab_home / "data" / "models" / "ocr" / "broken.safetensors").write_bytes(b"not a weights file")
    before = tab.models
    choose(tab, "broken")
    qtbot.waitUntil(lambda: "still reading with amounts" in tab.info_label.text(), timeout=30000)
    assert tab.models is before and tab.model_combo.currentText() == "amounts"


def test_pretraining_settings_apply_only_from_scratch(tab):
    from desktop.tabs.ocr import START_PRETRAINED, START_SCRATCH
    fields = tab.panel.editor("fields")
    assert tab.panel.values()["start"] == START_PRETRAINED and not fields.isEnabled()
    tab.panel.set_value("start", START_SCRATCH)
    assert fields.isEnabled() and tab.panel.editor("epochs").isEnabled()
    tab.panel.set_value("start", START_PRETRAINED)
    assert not fields.isEnabled()


def test_new_check_and_open_image_work_while_a_training_runs(qtbot, tab, tmp_path):
    """Both once waited, silently, behind a training on the background lane."""
    import threading
    release = threading.Event()
    busy = tab.bridge.engine.submit(release.wait, 60, lane="background")   # stands in for a training
    try:
        tab.new_check()
        qtbot.waitUntil(lambda: not tab.canvas.is_blank() and tab.truth_edit.text() != "", timeout=30_000)
        qtbot.waitUntil(lambda: tab.reading is not None, timeout=30_000)
        drawn = tab.canvas.image().copy()
        not_an_image = tmp_path / "notes.png"
        not_an_image.write_text("not an image")
        tab.open_image(str(not_an_image))
        qtbot.waitUntil(lambda: "drawing is unchanged" in tab.info_label.text(), timeout=30_000)
        assert (tab.canvas.image() == drawn).all() and tab.reading is not None
        assert busy.state in ("queued", "running")        # the lane is still held
    finally:
        release.set()


def test_clear_leaves_no_gtn_loss_behind(qtbot, tab):
    tab.demo_input()
    qtbot.waitUntil(lambda: "GTN loss" in tab.loss_label.text(), timeout=30_000)
    tab.canvas.clear()
    qtbot.waitUntil(lambda: tab.loss_label.text() == "", timeout=10_000)


def test_a_training_waits_for_the_chosen_model_and_says_what_reads(qtbot, tab):
    """Train pressed while a chosen model was loading trained from the previous one; and during a
    training the disabled settings named a recognizer that was not the one reading."""
    tab._loading = "my-amounts"                        # as between a choice and its load
    tab.panel.trainRequested.emit({**tab.panel.values(), "gtn_steps": 1})
    assert "still loading" in tab.panel.status.text() and "train" not in tab.tickets
    tab._loading = ""
    tab.write("70")
    qtbot.waitUntil(lambda: tab.reading is not None, timeout=20000)
    from engine.runtime import Progress
    tab._on_train_progress(Progress(50, 400, checkpoint=tab.models.gtn))
    qtbot.waitUntil(lambda: "training's snapshot at step 50" in tab.info_label.text(), timeout=20000)
    tab._on_train_error("cancelled")
    qtbot.waitUntil(lambda: "snapshot" not in tab.info_label.text() and tab.reading is not None, timeout=20000)


def test_a_chosen_model_loads_while_another_tab_trains(qtbot, tab, seqlab_home):
    """The load once queued behind the other tab's training on the background lane, for minutes,
    while the list already named the new model."""
    import threading
    shipped_copy(seqlab_home, "copy")
    release = threading.Event()
    busy = tab.bridge.engine.submit(release.wait, 60, lane="background")   # stands in for a training
    try:
        assert "waiting for the engine" in tab.waiting_note()      # what a training started now says
        choose(tab, "copy")
        qtbot.waitUntil(lambda: tab.models.card.name == "copy", timeout=30_000)
        assert busy.state in ("queued", "running") and tab.card_view.text().count("copy") >= 1
    finally:
        release.set()


def test_choosing_back_the_model_in_use_calls_off_a_pending_choice(qtbot, tab, seqlab_home):
    import threading
    shipped_copy(seqlab_home, "copy")
    release = threading.Event()
    tab.bridge.engine.submit(release.wait, 60)            # holds the interactive lane: the load waits
    for name in ("copy", "amounts"):
        choose(tab, name)
    assert tab._loading == ""
    release.set()
    qtbot.waitUntil(lambda: tab.tickets["choose"].finished, timeout=30_000)
    qtbot.wait(200)
    assert tab.models.card.name == "amounts" and tab.model_combo.currentText() == "amounts"


def shipped_copy(seqlab_home, name: str) -> None:
    """The shipped OCR model copied into the user's models folder as `name`."""
    import shutil
    from pathlib import Path
    folder = seqlab_home / "data" / "models" / "ocr"
    folder.mkdir(parents=True, exist_ok=True)
    shipped = Path(__file__).resolve().parent.parent / "assets" / "models" / "ocr"
    for suffix in (".json", ".safetensors"):
        shutil.copy(shipped / f"amounts{suffix}", folder / f"{name}{suffix}")


def choose(tab, name: str) -> None:
    """Pick `name` in the tab's model list, as a click does (added to the list if missing)."""
    if tab.model_combo.findText(name) < 0:
        tab.model_combo.addItem(name)
    tab.model_combo.setCurrentText(name)
    tab.model_combo.activated.emit(tab.model_combo.currentIndex())
