"""Does the installed PySide6 keep Python's reference counts straight across signals and slots?

PySide6 6.12.0 does not, under Python 3.10/3.11 (where True and None are counted like any
object; 3.12 made them immortal): every `Signal.emit()` from Python drops one reference to True,
and every call of a Python slot from C++ drops one to None. The app emits once per engine
result and progress event, so it aborted with "Fatal Python error: none_dealloc" after a few
hundred keystrokes in the classify tab (measured: 300 were enough). pyproject.toml excludes
6.12 below Python 3.12; this check makes a build that still has such a binding say so instead of dying later.
"""
from __future__ import annotations

import sys

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import QObject, Signal, Slot

# few: under a leaking binding the check itself costs 2 x ROUNDS references (True has ~600 in a
# bare interpreter, ~11,000 once torch is imported)
ROUNDS = 50


class _Probe(QObject):
    ping = Signal(object)

    @Slot(object)
    def on_ping(self, _value) -> None:
        pass

    @Slot(str)
    def on_name(self, _name) -> None:
        pass


def refcount_leaks(rounds: int = ROUNDS) -> list[str]:
    """What the binding loses per signal, as readable lines; empty when nothing leaks."""
    probe = _Probe()
    probe.ping.connect(probe.on_ping)
    probe.objectNameChanged.connect(probe.on_name)      # emitted by Qt's C++, not by Python
    checks = {"Signal.emit() from Python": lambda: probe.ping.emit(1),
              "a C++ signal calling a Python slot": lambda: probe.setObjectName(
                  "b" if probe.objectName() == "a" else "a")}
    leaks = []
    for name, call in checks.items():
        before = {"True": sys.getrefcount(True), "None": sys.getrefcount(None)}
        for _ in range(rounds):
            call()
        for obj, count in before.items():
            lost = count - sys.getrefcount(True if obj == "True" else None)
            if lost >= rounds // 2:          # other code may take or drop a few meanwhile
                leaks.append(f"{name} drops a reference to {obj} each time")
    return leaks


def problem() -> str:
    """One line for the user when the binding leaks, else ''."""
    leaks = refcount_leaks()
    if not leaks:
        return ""
    return (f"PySide6 {PYSIDE_VERSION} has a reference-count bug ({leaks[0]}): the app will abort "
            f"after a few hundred events. Install another version: pip install 'PySide6-Essentials<6.12'")
