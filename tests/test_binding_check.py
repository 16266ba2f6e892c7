"""The installed PySide6 must not lose references across signals and slots: 6.12.0 did, and the
app aborted after a few hundred keystrokes (desktop/binding_check.py)."""
import sys

from desktop import binding_check


def test_the_installed_pyside6_keeps_reference_counts(qapp):
    assert binding_check.refcount_leaks() == []
    assert binding_check.problem() == ""


def test_a_leaking_binding_is_named_in_one_line(qapp, monkeypatch):
    # what 6.12.0 does to True on every Python emit, played by a wrapper around getrefcount
    real, calls = sys.getrefcount, {"n": 0}

    def leaking_getrefcount(obj):
        calls["n"] += 1
        return real(obj) - (calls["n"] * 1000 if obj is True else 0)
    monkeypatch.setattr(binding_check.sys, "getrefcount", leaking_getrefcount)
    message = binding_check.problem()
    assert "reference-count bug" in message and "PySide6-Essentials<6.12" in message
    assert "\n" not in message
