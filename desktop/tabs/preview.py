"""Run one tab alone in a window (``python -m desktop.tabs.<task>``), like Orange's WidgetPreview:
handy while building a tab, and for screen.sh screenshots of a single demo."""
from __future__ import annotations

import sys


def run_preview(tab_class, demo_after_ms: int = 1500) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.bridge import EngineBridge
    from engine.runtime import Engine

    app = QApplication.instance() or QApplication(sys.argv[:1])
    engine = Engine()
    tab = tab_class(EngineBridge(engine))
    tab.resize(1500, 950)
    tab.show()
    QTimer.singleShot(demo_after_ms, tab.demo_input)
    try:
        return app.exec()
    finally:
        tab.shutdown()
        engine.shutdown()
