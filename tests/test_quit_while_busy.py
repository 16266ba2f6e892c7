"""Quitting while a job runs torch code that no cancel reaches (a training's final evaluation):
the process once aborted ("terminate called without an active exception", exit 134) as Python
finalized under the worker thread."""
import os
import subprocess
import sys
import textwrap
import time

SCRIPT = textwrap.dedent('''
    import sys, time
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from desktop.gui import run_gui
    from desktop.main_window import MainWindow

    def busy():                     # a job that never yields, so a cancel cannot stop it
        import torch
        end, a = time.monotonic() + 300, torch.randn(300, 300)
        while time.monotonic() < end:
            a = torch.tanh(a @ a)

    app = QApplication(sys.argv[:1])
    state = {}

    def tick():
        w = next((x for x in app.topLevelWidgets() if isinstance(x, MainWindow)), None)
        if w is None or not w.tabs_ready:
            return
        if "t" not in state:
            w.bridge.engine.submit(busy, lane="background")
            state["t"] = time.monotonic()
        elif time.monotonic() - state["t"] > 1:
            w.close()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(100)
    sys.exit(run_gui([]))
''')


def test_quitting_while_the_engine_is_busy_exits_cleanly(seqlab_home):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SEQLAB_HOME=str(seqlab_home))
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "terminate called" not in r.stderr and "Traceback" not in r.stderr
    assert time.monotonic() - t0 < 120          # the 300 s job was not waited for
