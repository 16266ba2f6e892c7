"""The app shell with pytest-qt (offscreen): tabs, menus, zoom, theme, export, settings, bridge."""
import subprocess
import sys
import threading
import time

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QScrollArea

from desktop.bridge import EngineBridge
from desktop.gui import choose_engine, settings
from desktop.main_window import MainWindow, start_warm_up, stored_zoom
from engine import tasks
from engine.runtime import BACKGROUND, Engine, Progress


@pytest.fixture
def bridge(qtbot):
    engine = Engine("cpu")
    yield EngineBridge(engine)
    engine.shutdown(wait=5.0)


@pytest.fixture
def window(qtbot, bridge):
    w = MainWindow(bridge, settings())
    qtbot.addWidget(w)
    w.show()
    return w


def test_window_has_one_tab_per_demo_in_lecture_order(qtbot, window):
    assert window.windowTitle() == "Sequence Lab"
    titles = [window.tabs_widget.tabText(i) for i in range(window.tabs_widget.count())]
    assert titles == [tasks.TITLES[t] for t in tasks.TASK_NAMES]
    start_warm_up(window)
    qtbot.waitUntil(lambda: window.tabs_ready, timeout=60000)
    import importlib.util
    titles = [window.tabs_widget.tabText(i) for i in range(window.tabs_widget.count())]
    assert titles == [tasks.TITLES[t] for t in tasks.TASK_NAMES]
    for index, tab in enumerate(window.tabs):
        has_tab_file = importlib.util.find_spec(f"desktop.tabs.{tab.task}") is not None
        assert tab.built == (tasks.is_built(tab.task) and has_tab_file)
        assert window.tabs_widget.widget(index).widget() is tab


def test_the_window_fits_a_small_screen_at_150_percent(qtbot, window):
    """A 1280x720 projector or a 1366x768 laptop, zoomed in for the room: the window can be made
    that small (it once could not go below 1286x879), and a tab that needs more room scrolls."""
    start_warm_up(window)
    qtbot.waitUntil(lambda: window.tabs_ready, timeout=60000)
    window.apply_zoom(1.5)
    qtbot.wait(50)
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: window.size().toTuple() == (1024, 640), timeout=5000)
    for index, tab in enumerate(window.tabs):
        page = window.tabs_widget.widget(index)
        assert isinstance(page, QScrollArea) and page.widget() is tab
    window.apply_zoom(1.0)


def test_the_window_is_built_without_importing_torch():
    code = ("import os, sys; os.environ['QT_QPA_PLATFORM'] = 'offscreen'\n"
            "from PySide6.QtWidgets import QApplication; app = QApplication([])\n"
            "from desktop.bridge import EngineBridge; from desktop.gui import settings\n"
            "from desktop.main_window import MainWindow; from engine.runtime import Engine\n"
            "w = MainWindow(EngineBridge(Engine()), settings()); w.show(); app.processEvents()\n"
            "print('torch' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip().splitlines()[-1] == "False", r.stdout + r.stderr


def test_placeholder_explains_the_demo(window):
    from PySide6.QtWidgets import QLabel
    vqa = window.tabs[tasks.TASK_NAMES.index("vqa")]
    assert not vqa.built
    texts = " ".join(label.text() for label in vqa.findChildren(QLabel))
    assert "program generator" in texts and "module network" in texts


def test_warm_up_turns_the_indicator_ready(qtbot, window):
    assert window.engine_label.text() == "engine: warming up"
    start_warm_up(window)
    qtbot.waitUntil(lambda: window.engine_label.text() == "engine: ready (cpu)", timeout=30000)


def test_zoom_scales_fonts_and_is_remembered(qtbot, bridge, window):
    label = window.engine_label
    before = label.font().pointSizeF()
    window.zoom_in()
    window.zoom_in()
    assert window.zoom() > 1.0
    assert label.font().pointSizeF() == pytest.approx(before * window.zoom(), rel=0.02)
    window.zoom_reset()
    assert label.font().pointSizeF() == pytest.approx(before, rel=0.02)
    window.zoom_out()
    zoom = window.zoom()
    window.close()
    again = MainWindow(bridge, settings())
    qtbot.addWidget(again)
    assert again.zoom() == pytest.approx(zoom)


def test_a_geometry_qt_cannot_restore_still_opens_a_usable_window(qtbot, bridge):
    """With the tabs in scroll areas the window's own size hint is tiny: a stored geometry from
    another screen setup, which Qt does not restore, opened a 508x407 window."""
    from PySide6.QtCore import QByteArray
    store = settings()
    store.setValue("geometry", QByteArray(b"\x01\xd9\xd0\xcb not a geometry"))
    w = MainWindow(bridge, store)
    qtbot.addWidget(w)
    w.show()                       # (an unsized window takes its size hint when shown)
    qtbot.waitExposed(w)
    assert w.width() >= 640 and w.height() >= 400


def test_a_zoom_the_user_asks_for_is_shown_and_the_start_up_zoom_is_not(window):
    window.statusBar().showMessage("the remembered device is not valid: using auto")
    window.apply_zoom(1.15)              # what start-up and loading the tabs do
    assert window.statusBar().currentMessage().startswith("the remembered device")
    window.zoom_reset()
    assert window.statusBar().currentMessage() == "zoom 100%"


@pytest.mark.parametrize("stored, expected", [("abc", 1.0), ("nan", 1.0), ("1e9", 2.5),
                                              ("1.5", 1.5), (None, 1.0)])
def test_a_damaged_zoom_setting_falls_back_to_100_percent(stored, expected):
    store = settings()
    store.remove("zoom") if stored is None else store.setValue("zoom", stored)
    assert stored_zoom(store) == expected


def test_a_damaged_device_setting_is_forgotten_but_a_bad_device_flag_is_refused():
    store = settings()
    store.setValue("device", "quantum")
    engine, note = choose_engine(None, store)
    assert "quantum" in note and "using auto" in note
    assert store.value("device") == "auto"
    with pytest.raises(ValueError, match="quantum"):
        choose_engine("quantum", store)
    engine.shutdown(wait=5.0)


def test_dark_theme_is_applied_and_remembered(qtbot, bridge, window):
    from desktop import theme
    window.dark_action.setChecked(True)
    window.toggle_theme()
    assert theme.is_dark()
    window.close()
    again = MainWindow(bridge, settings())
    qtbot.addWidget(again)
    assert again.dark_action.isChecked() and theme.is_dark()
    again.dark_action.setChecked(False)
    again.toggle_theme()
    assert not theme.is_dark()


def test_plot_labels_follow_the_theme(qtbot):
    import pyqtgraph as pg

    from desktop import theme
    from desktop.tabs.classify_compress import CompressionPanel
    theme.apply(dark=False)
    panel = CompressionPanel()
    qtbot.addWidget(panel)
    panel.add_point(8000, 0.78, "dense", dense=True)
    label = next(i for i in panel.plot.getPlotItem().items if isinstance(i, pg.TextItem))
    assert label.color.lightness() < 60                   # dark text on the light background
    theme.apply(dark=True)
    assert label.color.lightness() > 200
    title = panel.plot.getPlotItem().titleLabel        # (the title and legend stayed black on dark)
    assert pg.mkColor(title.opts["color"]).lightness() > 200
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication
    palette = QApplication.instance().palette()
    enabled = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.ButtonText)
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    assert abs(enabled.lightness() - disabled.lightness()) > 60   # a disabled button looks disabled
    theme.apply(dark=False)


def test_device_menu_lists_only_available_devices(qtbot, window):
    from engine import device
    assert not window.device_menu.isEnabled()            # torch is not loaded yet (see on_warmed_up)
    start_warm_up(window)
    qtbot.waitUntil(lambda: window.tabs_ready, timeout=60000)
    assert window.device_menu.isEnabled()
    names = [a.data() for a in window.device_group.actions()]
    assert names == ["auto"] + device.available()
    cpu = next(a for a in window.device_group.actions() if a.data() == "cpu")
    cpu.trigger()
    assert window.bridge.engine.device == "cpu"
    assert window.settings.value("device") == "cpu"


def test_export_png_and_svg(tmp_path, window):
    png = window.export_png(str(tmp_path / "fig.png"))
    svg = window.export_svg(str(tmp_path / "fig.svg"))
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in open(svg, "rb").read(2000)


def test_export_to_an_unwritable_place_is_a_message_not_a_crash(monkeypatch, window):
    from PySide6.QtWidgets import QMessageBox
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: shown.append(a[2]))
    assert window.export_png("/nonexistent-dir/fig.png") is None
    assert shown and "Could not save" in shown[0]


def test_about_names_version_device_and_torch(window):
    text = window.about_text()
    assert "Sequence Lab 0.1.0" in text and "device: cpu" in text and "torch:" in text


def test_bridge_calls_back_on_the_gui_thread(qtbot, bridge):
    threads, results = [], []

    def on_done(result):
        threads.append(QThread.currentThread() is QApplication.instance().thread())
        results.append(result)
    bridge.submit(lambda: threading.current_thread().name, on_done=on_done)
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert results == ["seqlab-interactive"] and threads == [True]


def test_bridge_throttles_progress_but_delivers_the_last_event(qtbot, bridge):
    events, done = [], []

    def train():
        for i in range(1, 2001):
            yield Progress(i, 2000)
            time.sleep(0.0001)
        return "ok"
    bridge.submit(train, lane=BACKGROUND, on_progress=events.append, on_done=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=20000)
    assert done == ["ok"]
    assert 1 <= len(events) < 2000 and events[-1].step == 2000


def test_bridge_shows_the_start_of_a_phase_even_right_after_the_last_step(qtbot, bridge):
    """A training's last step and its "evaluating…" came within the throttle's 50 ms, so the
    panel said "step N/N" for the whole evaluation (40 s in translation)."""
    events, done = [], []

    def train():
        for i in range(1, 201):
            yield Progress(i, 200, message=f"item {i}")      # a message that changes every step
        yield Progress(0, 1, message="evaluating on the held-out text")
        time.sleep(0.3)                                      # the evaluation, with no event
        return "ok"
    bridge.submit(train, lane=BACKGROUND, on_progress=events.append, on_done=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=20000)
    messages = [e.message for e in events]
    assert messages.count("evaluating on the held-out text") == 1 and len(events) < 50
    assert events[[e.message for e in events].index("evaluating on the held-out text") - 1].step == 200


def test_bridge_reports_failure_and_cancel(qtbot, bridge):
    errors = []
    bridge.submit(lambda: int("x"), on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert "invalid literal" in errors[0]

    def forever():
        while True:
            time.sleep(0.01)
            yield Progress(0, 1)
    cancelled = []
    t = bridge.submit(forever, lane=BACKGROUND, on_error=cancelled.append, on_progress=lambda e: None)
    t.cancel()
    qtbot.waitUntil(lambda: bool(cancelled), timeout=5000)
    assert cancelled == ["cancelled"]


def test_self_test_command_exits_zero():
    r = subprocess.run([sys.executable, "-m", "desktop.app", "--self-test"], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "self-test passed" in r.stdout
