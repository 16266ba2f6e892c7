"""MainWindow: one tab per demo, the menus, the engine indicator, remembered settings."""
from __future__ import annotations

import importlib
import importlib.util
import math
import traceback
from typing import Optional

from PySide6.QtCore import QByteArray, QSettings, Qt, QThread, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QApplication, QDialog, QDialogButtonBox, QFileDialog, QFrame,
                               QLabel, QMainWindow, QMessageBox, QScrollArea, QTabWidget,
                               QVBoxLayout)

from desktop import export, theme
from desktop.bridge import EngineBridge
from desktop.tabs.base import DemoTab, PlaceholderTab
from desktop.widgets.model_card_view import card_html
from engine import __version__, device as devices, tasks
from engine.runtime import BACKGROUND

ZOOM_STEPS = (0.8, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5)


def has_tab(task: str) -> bool:
    """Both halves of the demo exist (found without importing them: importing a task pulls in
    torch, which must load off the GUI thread first)."""
    return tasks.has_package(task) and importlib.util.find_spec(f"desktop.tabs.{task}") is not None


def load_tab(task: str, bridge: EngineBridge) -> DemoTab:
    """The task's tab if both its engine package and desktop/tabs/<task>.py exist, else a
    placeholder; a tab that fails to build shows the error instead of taking the app down."""
    title = tasks.TITLES[task]
    if not tasks.is_built(task):
        return PlaceholderTab(bridge, task, title)
    try:
        module = importlib.import_module(f"desktop.tabs.{task}")
    except ModuleNotFoundError as exc:
        if exc.name == f"desktop.tabs.{task}":
            return PlaceholderTab(bridge, task, title)
        raise
    try:
        return module.Tab(bridge)
    except Exception as exc:  # noqa: BLE001 - one broken tab must not stop the others
        traceback.print_exc()
        tab = PlaceholderTab(bridge, task, title)
        tab.layout().addWidget(QLabel(f"This tab could not start: {exc}"))
        return tab


def stored_zoom(settings: QSettings) -> float:
    """The remembered zoom; 1.0 when the settings file holds no number (edited or damaged)."""
    try:
        zoom = float(settings.value("zoom", 1.0))
    except (TypeError, ValueError):
        return 1.0
    return min(max(zoom, ZOOM_STEPS[0]), ZOOM_STEPS[-1]) if math.isfinite(zoom) else 1.0


def scrolling_page(tab: DemoTab) -> QScrollArea:
    """The tab inside a frameless scroll area. A tab fills the page when the window is large
    enough and scrolls when it is not, so the window's minimum size is not the largest tab's:
    a 1280x720 projector or a 1366x768 laptop at 150% zoom still shows the whole window."""
    page = QScrollArea()
    page.setFrameShape(QFrame.Shape.NoFrame)
    page.setWidgetResizable(True)
    page.setWidget(tab)
    return page


class LoadingTab(PlaceholderTab):
    """Stands in for a built demo while torch warms up."""

    def __init__(self, bridge: EngineBridge, task: str, title: str):
        super().__init__(bridge, task, title, note="Loading the models… (the engine is warming up)")


class MainWindow(QMainWindow):
    def __init__(self, bridge: EngineBridge, settings: QSettings):
        super().__init__()
        self.bridge = bridge
        self.settings = settings
        self.setWindowTitle("Sequence Lab")
        self.tabs_widget = QTabWidget()
        self.tabs_widget.setDocumentMode(True)
        self.setCentralWidget(self.tabs_widget)
        # Built demos start as "loading" tabs and become real ones once torch is warm
        # (load_tabs): the window is up before any model code is imported.
        self.tabs: list[DemoTab] = []
        for task in tasks.TASK_NAMES:
            title = tasks.TITLES[task]
            tab = LoadingTab(bridge, task, title) if has_tab(task) else PlaceholderTab(bridge, task, title)
            self.tabs.append(tab)
            self.tabs_widget.addTab(scrolling_page(tab), title)
        self.tabs_ready = False
        self.engine_label = QLabel("engine: warming up")
        self.statusBar().addPermanentWidget(self.engine_label)
        self._zoom = stored_zoom(settings)
        self._base_point_size = QApplication.font().pointSizeF()
        self._build_menus()
        bridge.engineState.connect(self.on_engine_state)
        bridge.deviceChanged.connect(self.on_device_changed)
        self._restore()

    # -- menus -----------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._add(file_menu, "Export figure as &PNG…", self.export_png, "Ctrl+E")
        self._add(file_menu, "Export figure as &SVG…", self.export_svg, "Ctrl+Shift+E")
        file_menu.addSeparator()
        self._add(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        # Listing devices needs torch, which loads in the warm-up job: the menu starts with
        # what always exists and gains cuda/mps when the warm-up reports them.
        self.device_menu = bar.addMenu("&Device")
        # off until the warm-up has loaded torch: choosing a device before that imported torch
        # on the GUI thread (the window froze for ~1.7 s)
        self.device_menu.setEnabled(False)
        self.device_group = QActionGroup(self)
        self.device_group.setExclusive(True)
        self.device_group.triggered.connect(self.on_device_chosen)
        self.set_available_devices(["cpu"])

        view = bar.addMenu("&View")
        self.presenter_action = self._add(view, "&Presenter mode (full screen)",
                                          self.toggle_presenter, "F11")
        self.presenter_action.setCheckable(True)
        self._add(view, "Zoom &in", self.zoom_in, QKeySequence.StandardKey.ZoomIn)
        self._add(view, "Zoom in", self.zoom_in, "Ctrl+=")
        self._add(view, "Zoom &out", self.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self._add(view, "&Reset zoom", self.zoom_reset, "Ctrl+0")
        view.addSeparator()
        self.dark_action = self._add(view, "&Dark theme", self.toggle_theme, "Ctrl+Shift+D")
        self.dark_action.setCheckable(True)

        help_menu = bar.addMenu("&Help")
        self._add(help_menu, "&About Sequence Lab", self.show_about)
        self._add(help_menu, "&Model cards", self.show_model_cards)

    def set_available_devices(self, names: list[str]) -> None:
        have = {a.data() for a in self.device_group.actions()}
        for name in ["auto"] + [n for n in names if n != "auto"]:
            if name not in have:
                action = QAction(name, self, checkable=True)
                action.setData(name)
                self.device_group.addAction(action)
                self.device_menu.addAction(action)
        chosen = str(self.settings.value("device", "auto"))
        for action in self.device_group.actions():
            action.setChecked(action.data() == chosen)
        if not self.device_group.checkedAction():
            self.device_group.actions()[0].setChecked(True)

    def _add(self, menu, text, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # -- settings ---------------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("geometry")
        restored = isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)
        if not restored or self.width() < 640 or self.height() < 400:
            # first start, or a geometry Qt could not restore (saved on another screen setup):
            # 1400x900, or 90% of a smaller screen. (With the tabs in scroll areas the window's
            # own size hint is tiny, so "no size" would open a 500x400 window.)
            available = self.screen().availableGeometry()
            self.resize(min(1400, int(available.width() * 0.9)),
                        min(900, int(available.height() * 0.9)))
        dark = self.settings.value("theme", "light") == "dark"
        self.dark_action.setChecked(dark)
        theme.apply(dark)
        self.apply_zoom(self._zoom)

    def closeEvent(self, event) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.sync()
        for tab in self.tabs:
            tab.shutdown()
        super().closeEvent(event)

    # -- engine state -------------------------------------------------------------------------
    def on_warmed_up(self, info: dict) -> None:
        self.set_available_devices(info["available"])
        self.device_menu.setEnabled(True)
        if info.get("note"):
            self.statusBar().showMessage(info["note"], 8000)
        self.load_tabs()
        self.bridge.engineState.emit("ready")

    def load_tabs(self) -> None:
        """Replace each loading tab by the real one (torch is imported by now)."""
        current = self.tabs_widget.currentIndex()
        for index, tab in enumerate(self.tabs):
            if isinstance(tab, LoadingTab):
                real = load_tab(tab.task, self.bridge)
                self.tabs[index] = real
                old_page = self.tabs_widget.widget(index)     # the loading tab's scroll area
                self.tabs_widget.removeTab(index)
                self.tabs_widget.insertTab(index, scrolling_page(real), tasks.TITLES[tab.task])
                old_page.deleteLater()                        # (and the loading tab inside it)
        self.tabs_widget.setCurrentIndex(max(current, 0))
        self.apply_zoom(self._zoom)          # new widgets take the current zoom
        self.tabs_ready = True

    def on_warm_up_failed(self, message: str) -> None:
        self.bridge.engineState.emit(f"failed to start torch: {message}")

    @Slot(str)
    def on_engine_state(self, state: str) -> None:
        # engine.device is resolved by now (the warm-up did it), so reading it is cheap.
        self.engine_label.setText(f"engine: {state} ({self.bridge.engine.device})"
                                  if state == "ready" else f"engine: {state}")

    @Slot(str)
    def on_device_changed(self, device: str) -> None:
        self.engine_label.setText(f"engine: ready ({device})")
        for tab in self.tabs:
            tab.device_changed(device)

    def on_device_chosen(self, action: QAction) -> None:
        name = action.data()
        try:
            device = self.bridge.engine.set_device(name)
        except ValueError as exc:
            QMessageBox.warning(self, "Device", str(exc))
            return
        self.settings.setValue("device", name)
        self.bridge.deviceChanged.emit(device)

    # -- view ---------------------------------------------------------------------------------
    def toggle_presenter(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()
        self.presenter_action.setChecked(self.isFullScreen())

    def apply_zoom(self, zoom: float) -> None:
        """Scale every widget's font by `zoom`, keeping their relative sizes (headings stay big)."""
        previous = getattr(self, "_applied_zoom", 1.0)
        self._zoom = min(max(zoom, ZOOM_STEPS[0]), ZOOM_STEPS[-1])
        font = QApplication.font()
        font.setPointSizeF(self._base_point_size * self._zoom)
        QApplication.setFont(font)
        for widget in QApplication.allWidgets():
            base = widget.property("seqlab_base_pt")
            if base is None:                 # first seen: it was created at the previous zoom
                base = widget.font().pointSizeF() / previous
                widget.setProperty("seqlab_base_pt", base)
            f = widget.font()
            f.setPointSizeF(float(base) * self._zoom)
            widget.setFont(f)
        self._applied_zoom = self._zoom
        self.settings.setValue("zoom", self._zoom)

    def _zoom_to(self, zoom: float) -> None:
        """A zoom the user asked for: applied and shown (the start-up zoom is applied silently,
        so that it does not cover a start-up note in the status bar)."""
        self.apply_zoom(zoom)
        self.statusBar().showMessage(f"zoom {self._zoom:.0%}", 1500)

    def zoom(self) -> float:
        return self._zoom

    def zoom_in(self) -> None:
        self._zoom_to(next((z for z in ZOOM_STEPS if z > self._zoom + 1e-6), ZOOM_STEPS[-1]))

    def zoom_out(self) -> None:
        self._zoom_to(next((z for z in reversed(ZOOM_STEPS) if z < self._zoom - 1e-6), ZOOM_STEPS[0]))

    def zoom_reset(self) -> None:
        self._zoom_to(1.0)

    def toggle_theme(self) -> None:
        dark = self.dark_action.isChecked()
        theme.apply(dark)
        self.settings.setValue("theme", "dark" if dark else "light")

    # -- export ---------------------------------------------------------------------------------
    def current_tab(self) -> DemoTab:
        return self.tabs[self.tabs_widget.currentIndex()]

    def export_png(self, path: Optional[str] = None) -> Optional[str]:
        tab = self.current_tab()
        path = path or QFileDialog.getSaveFileName(self, "Export figure", f"{tab.task}.png",
                                                   "PNG image (*.png)")[0]
        return self._export(export.save_png, path)

    def export_svg(self, path: Optional[str] = None) -> Optional[str]:
        tab = self.current_tab()
        path = path or QFileDialog.getSaveFileName(self, "Export figure", f"{tab.task}.svg",
                                                   "SVG image (*.svg)")[0]
        return self._export(export.save_svg, path)

    def _export(self, saver, path: str) -> Optional[str]:
        if not path:
            return None
        try:
            saver(self.current_tab().figure_widget(), path)
        except OSError as exc:
            QMessageBox.warning(self, "Export", f"Could not save {path}: {exc.strerror or exc}")
            return None
        self.statusBar().showMessage(f"saved {path}", 4000)
        return path

    # -- help -------------------------------------------------------------------------------------
    def about_text(self) -> str:
        import torch
        return (f"<h2>Sequence Lab {__version__}</h2><p>The lecture “Deep learning for sequences”, "
                f"live.</p><p>device: {self.bridge.engine.device}<br>torch: {torch.__version__}<br>"
                f"demos built: {', '.join(tasks.built()) or 'none yet'}</p>")

    def show_about(self) -> None:
        QMessageBox.about(self, "About Sequence Lab", self.about_text())

    def show_model_cards(self) -> None:
        from engine import cards
        found = cards.list_models()
        body = "".join(f"<h3>{c.task}/{c.name}</h3>{card_html(c)}" for c in found) \
            or "<p>No models are shipped or trained yet.</p>"
        dialog = QDialog(self)
        dialog.setWindowTitle("Model cards")
        label = QLabel(body)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(True)
        scroll = QScrollArea()
        scroll.setWidget(label)
        scroll.setWidgetResizable(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(scroll)
        layout.addWidget(buttons)
        dialog.resize(800, 600)
        dialog.exec()


def warm_up(engine) -> dict:
    """Import torch, resolve the device and run a first forward + optimizer step (that pulls in
    torch._dynamo, ~1.5 s) on the background lane, so the first real job does not stall."""
    note = ""
    try:
        devices.apply_thread_setting()
    except ValueError as exc:
        note = f"{exc}; using torch's default"
    try:
        device = engine.device
    except ValueError as exc:            # e.g. a remembered 'cuda' on a machine without one
        device = engine.set_device("auto")
        note = f"{exc}; using {device}"
    import torch
    model = torch.nn.Linear(8, 2).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = model(torch.randn(4, 8, device=device)).pow(2).mean()
    loss.backward()
    opt.step()
    return {"device": device, "available": devices.available(), "note": note}


def start_warm_up(window: MainWindow) -> None:
    assert QThread.currentThread() is window.thread()
    window.bridge.submit(warm_up, window.bridge.engine, lane=BACKGROUND, channel="app.warmup",
                         on_done=window.on_warmed_up, on_error=window.on_warm_up_failed)

