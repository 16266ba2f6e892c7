"""The GUI: QApplication, engine + bridge, warm-up, MainWindow; also --self-test and --screenshot."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from engine import __version__


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message):
        print(f"error: seqlab: {message} (see seqlab --help)", file=sys.stderr)
        raise SystemExit(2)


def _parse(argv: list[str]) -> argparse.Namespace:
    p = _OneLineParser(prog="seqlab", description="Sequence Lab (GUI). Headless commands: "
                                "seqlab info|data|train|eval|predict|bench --help")
    p.add_argument("--self-test", action="store_true",
                   help="open every tab offscreen, run one prediction in each, exit 0/1")
    p.add_argument("--screenshot", metavar="DIR",
                   help="save one PNG per tab after a scripted demo input, then exit")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or mps")
    p.add_argument("--version", action="version", version=f"seqlab {__version__}")
    return p.parse_args(argv)


def settings():
    """QSettings: the platform's usual place, or $SEQLAB_HOME/settings.ini (tests, portable use)."""
    from PySide6.QtCore import QSettings
    home = os.environ.get("SEQLAB_HOME")
    if home:
        return QSettings(str(Path(home) / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings("seqlab", "Sequence Lab")


def choose_engine(requested, store):
    """(Engine, note). A device asked for now (--device, SEQLAB_DEVICE) must be a valid name:
    a ValueError. A remembered one that is not (a hand-edited or damaged settings file) must not
    keep the app from starting: it is forgotten, and the note says so."""
    from engine.runtime import Engine
    if requested:
        return Engine(requested), ""     # cheap: the device is resolved in the warm-up job
    remembered = str(store.value("device", "auto"))
    try:
        return Engine(remembered), ""
    except ValueError as exc:
        store.setValue("device", "auto")
        return Engine("auto"), f"the remembered device is not valid ({exc}): using auto"


def run_gui(argv: list[str]) -> int:
    args = _parse(argv)
    if (args.self_test or args.screenshot) and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")):
        print("error: no display found: start seqlab from a desktop session (or use "
              "`seqlab --self-test` / the headless commands: seqlab info|train|predict ...)",
              file=sys.stderr)
        return 1
    from PySide6.QtWidgets import QApplication

    from desktop import binding_check
    from desktop.bridge import EngineBridge
    from desktop.main_window import MainWindow, start_warm_up

    t_start = time.monotonic()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Sequence Lab")
    app.setOrganizationName("seqlab")
    store = settings()
    try:
        engine, note = choose_engine(args.device or os.environ.get("SEQLAB_DEVICE"), store)
    except ValueError as exc:            # a misspelt --device or SEQLAB_DEVICE
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if note:
        print(f"warning: {note}", file=sys.stderr)
    binding_problem = binding_check.problem()
    if binding_problem:
        print(f"warning: {binding_problem}", file=sys.stderr)
        if args.self_test:
            print(f"self-test failed: {binding_problem}")
            return 1
    bridge = EngineBridge(engine)
    window = MainWindow(bridge, store)
    window.show()
    app.processEvents()
    window.shown_after_s = time.monotonic() - t_start
    if binding_problem or note:
        window.statusBar().showMessage(binding_problem or note)
    start_warm_up(window)
    code = 1
    on_main_thread = threading.current_thread() is threading.main_thread()   # (signals need it)
    if on_main_thread:
        _quit_on_ctrl_c(app)
    try:
        if args.self_test:
            code = self_test(app, window)
        elif args.screenshot:
            code = screenshots(app, window, Path(args.screenshot))
        else:
            code = app.exec()
    except _Interrupted:
        pass
    finally:
        window.close()
        stopped = engine.shutdown(wait=5.0)
    if _CTRL_C.is_set():
        print("interrupted", file=sys.stderr)
        code = 130
    if on_main_thread:                   # the handler as it was, for a second run_gui
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _CTRL_C.clear()
    if not stopped:
        # A job still runs torch code that no cancel reaches (e.g. a training's final evaluation):
        # finalizing the interpreter under it aborts the process. Every model write is atomic
        # (temp file + rename) and the settings are synced on close, so ending here loses nothing.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


_CTRL_C = threading.Event()


class _Interrupted(Exception):
    """Ctrl-C in the terminal, seen by a waiting loop (--self-test, --screenshot)."""


def _quit_on_ctrl_c(app) -> None:
    """Ctrl-C quits like closing the window, with one line and exit 130. Python's own handler
    raised KeyboardInterrupt inside whichever Qt slot ran next: a traceback, and the app went on."""
    from PySide6.QtCore import QTimer

    def on_sigint(_signum, _frame):
        _CTRL_C.set()
        app.quit()
    signal.signal(signal.SIGINT, on_sigint)
    app._ctrl_c_timer = QTimer(app)               # Python sees a signal only when it runs: tick
    app._ctrl_c_timer.timeout.connect(_do_nothing)
    app._ctrl_c_timer.start(200)


def _do_nothing() -> None:
    pass


def _wait(app, predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _CTRL_C.is_set():
            raise _Interrupted
        app.processEvents()
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def self_test(app, window, timeout: float = 120.0) -> int:
    """Every tab: show it, run one real prediction through the engine; print a line each."""
    t0 = time.monotonic()
    if not _wait(app, lambda: window.tabs_ready, timeout):
        print(f"self-test failed: the engine did not warm up within {timeout:.0f} s "
              f"({window.engine_label.text()})")
        return 1
    print(f"window shown {getattr(window, 'shown_after_s', 0):.2f} s after start; engine ready "
          f"and tabs loaded {time.monotonic() - t0:.2f} s later")
    failures = 0
    for index, tab in enumerate(window.tabs):
        window.tabs_widget.setCurrentIndex(index)
        app.processEvents()
        if not tab.built:
            print(f"{tab.task:10s} placeholder (not built yet)")
            continue
        result: dict = {}
        t0 = time.monotonic()
        try:
            tab.self_test(lambda ok, message: result.update(ok=ok, message=message))
        except Exception as exc:  # noqa: BLE001 - a failing tab is a failed self-test, not a crash
            result.update(ok=False, message=f"{type(exc).__name__}: {exc}")
        if not _wait(app, lambda: bool(result), timeout):
            result.update(ok=False, message=f"no answer within {timeout:.0f} s")
        ok = bool(result.get("ok"))
        failures += not ok
        print(f"{tab.task:10s} {'ok  ' if ok else 'FAIL'} {time.monotonic() - t0:5.1f} s  {result.get('message', '')}")
    print("self-test passed" if failures == 0 else f"self-test failed: {failures} tab(s)")
    return 0 if failures == 0 else 1


def screenshots(app, window, folder: Path, settle: float = 30.0) -> int:
    """One PNG per tab after its scripted demo input, for the README."""
    folder.mkdir(parents=True, exist_ok=True)
    window.resize(1500, 950)
    _wait(app, lambda: window.tabs_ready, 120)
    for index, tab in enumerate(window.tabs):
        window.tabs_widget.setCurrentIndex(index)
        tab.demo_input()
        _wait(app, lambda: all(getattr(t, "finished", True) for t in tab.tickets.values()), settle)
        _wait(app, lambda: False, 0.5)       # let the last results paint
        path = folder / f"{index + 1:02d}_{tab.task}.png"
        window.grab().save(str(path))
        print(path)
    return 0
