"""Experiment (not part of the app): a long session in one tab, offscreen.

Types N edits into the tab's text box (one word more each time, waiting ~10 ms between edits so
each one reaches the engine; the OCR tab draws a new random check each time, ~50 ms apart), then reports the process's resident memory after edit 200 and at
the end, and the reference counts of True and None. It found the PySide6 6.12.0 bug
(desktop/binding_check.py): there the classify tab aborted within 300 edits.

    python experiments/soak.py classify 3000
    python experiments/soak.py typeahead 3000
    python experiments/soak.py translate 1000
    python experiments/soak.py ocr 500
"""
from __future__ import annotations

import importlib
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SEQLAB_HOME", tempfile.mkdtemp(prefix="seqlab-soak-"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

WORDS = "the plot is not good but the acting is great and the story of the union is strong tonight".split()


def rss_mb() -> float:
    """Resident memory (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(task: str, edits: int) -> None:
    from PySide6 import __version__ as pyside
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from desktop.bridge import EngineBridge
    from engine.runtime import Engine
    tab = importlib.import_module(f"desktop.tabs.{task}").Tab(EngineBridge(Engine("cpu")))
    tab.show()

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.002)
    pump(8)                                   # the tab loads its models
    t0, at_200 = time.monotonic(), None
    for i in range(edits):
        if task == "ocr":                     # a new generated check, segmented and read
            tab.new_check()
            pump(0.05)
        else:
            tab.editor.setPlainText(" ".join(WORDS[: i % len(WORDS) + 1]))
            pump(0.01)
        if i == 200:
            at_200 = rss_mb()
        if i % 500 == 0:
            print(f"  edit {i}: {rss_mb():.0f} MB", flush=True)
    pump(2)
    print(f"PySide6 {pyside}, {task}: {edits} edits in {time.monotonic() - t0:.0f} s; resident memory "
          f"{at_200:.0f} MB after edit 200, {rss_mb():.0f} MB at the end; references to True "
          f"{sys.getrefcount(True)}, None {sys.getrefcount(None)}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3000)
