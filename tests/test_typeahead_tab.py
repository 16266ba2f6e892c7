"""The type-ahead tab: models load off the GUI thread, predictions race per keystroke, Tab accepts
the ghost text, the self-test runs a real prediction, training on your own file lands a model."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from desktop.bridge import EngineBridge  # noqa: E402
from engine.runtime import Engine  # noqa: E402


@pytest.fixture
def tab(qtbot):
    from desktop.tabs.typeahead import Tab
    engine = Engine("cpu")
    t = Tab(EngineBridge(engine))
    qtbot.addWidget(t)
    t.resize(1300, 800)
    t.show()
    yield t
    t.shutdown()
    engine.shutdown()


def test_typing_shows_kn_predictions_and_tab_accepts_ghost(tab, qtbot):
    qtbot.waitUntil(lambda: tab.slots["kn"].get() is not None, timeout=90_000)
    tab.ghost_model.setCurrentIndex(0)                        # ghost text from the n-gram
    tab.editor.setPlainText("The State of the ")
    tab.editor.moveCursor(tab.editor.textCursor().MoveOperation.End)
    qtbot.waitUntil(lambda: tab.last.get("kn", {}).get("next", [{}])[0].get("word") == "Union",
                    timeout=30_000)
    assert tab.columns["kn"].bars.items()[0][0] == "Union"
    assert "ms this keystroke" in tab.columns["kn"].latency.text()
    qtbot.waitUntil(lambda: tab.editor.ghost().startswith("Union"), timeout=10_000)
    qtbot.keyClick(tab.editor, Qt.Key.Key_Tab)
    assert tab.editor.toPlainText().startswith("The State of the Union")
    # order 1: the Markov assumption at its extreme, the context no longer matters
    tab.order.setValue(1)
    qtbot.waitUntil(lambda: tab.last["kn"]["next"][0]["word"] in ("the", ",", "."), timeout=30_000)
    assert tab.table.rowCount() >= 1 and tab.table.item(0, 1).text()
    # the self-test runs one real prediction through the bridge
    results = []
    tab.self_test(lambda ok, msg: results.append((ok, msg)))
    qtbot.waitUntil(lambda: bool(results), timeout=90_000)
    assert results[0][0], results[0][1]


def test_training_on_own_file_lands_a_model(tab, qtbot, tmp_path):
    own = tmp_path / "mine.txt"
    own.write_text("I will veto any bill that raises taxes on the middle class.\n\n" * 60, encoding="utf-8")
    qtbot.waitUntil(lambda: tab.slots["kn"].get() is not None, timeout=90_000)
    tab.panel.set_own_file(str(own))
    tab.panel.set_value("arch", "kn")
    tab.panel.set_value("order", 3)
    tab.panel.train_button.click()
    qtbot.waitUntil(lambda: "saved" in tab.panel.status.text(), timeout=60_000)
    qtbot.waitUntil(lambda: tab.cards.get("kn") is not None and tab.cards["kn"].name == "kn-my-mine",
                    timeout=30_000)
    tab.editor.setPlainText("any bill that raises ")
    qtbot.waitUntil(lambda: tab.last.get("kn", {}).get("next", [{}])[0].get("word") == "taxes",
                    timeout=30_000)


def test_generate_streams_words_into_the_editor(tab, qtbot):
    qtbot.waitUntil(lambda: tab.slots["kn"].get() is not None, timeout=90_000)
    tab.editor.setPlainText("The State of the ")
    tab.generate_model.setCurrentIndex(0)                     # the n-gram model
    tab.n_words.setValue(8)
    tab.generate_button.click()
    qtbot.waitUntil(lambda: tab.generate_button.isEnabled(), timeout=30_000)
    added = tab.editor.toPlainText()[len("The State of the "):]
    assert len(added.split()) >= 4                             # 8 tokens, punctuation glued on


def test_generate_runs_while_a_training_holds_the_background_lane(tab, qtbot):
    """It once waited, silently, for the whole training (tens of minutes for an LSTM)."""
    import threading
    qtbot.waitUntil(lambda: tab.slots["kn"].get() is not None, timeout=90_000)
    release = threading.Event()
    busy = tab.bridge.engine.submit(release.wait, 60, lane="background")   # stands in for a training
    try:
        tab.editor.setPlainText("The State of the ")
        tab.generate_model.setCurrentIndex(0)
        tab.n_words.setValue(4)
        tab.generate_button.click()
        qtbot.waitUntil(lambda: tab.generate_button.isEnabled(), timeout=30_000)
        assert len(tab.editor.toPlainText()) > len("The State of the ")
        assert busy.state in ("queued", "running")        # the lane is still held
    finally:
        release.set()


def test_cancelled_training_keeps_the_previous_model(tab, qtbot, tmp_path):
    own = tmp_path / "mine.txt"
    own.write_text("The budget is balanced and the economy is growing again.\n\n" * 80, encoding="utf-8")
    qtbot.waitUntil(lambda: tab.slots["lstm"].get() is not None, timeout=90_000)
    before = tab.cards["lstm"].name
    tab.panel.set_own_file(str(own))
    tab.panel.set_value("arch", "lstm")
    tab.panel.set_value("steps", 5000)
    tab.panel.train_button.click()
    qtbot.waitUntil(lambda: "step" in tab.panel.status.text(), timeout=60_000)
    tab.panel.cancel_button.click()
    qtbot.waitUntil(lambda: "cancelled" in tab.panel.status.text(), timeout=30_000)
    qtbot.waitUntil(lambda: tab.cards["lstm"].name == before and tab.slots["lstm"].get() is not None
                    and tab.slots["lstm"].get().predictor.card is not None, timeout=30_000)
    from engine import paths
    assert not (paths.user_models() / "typeahead" / "lstm-my-mine.safetensors").exists()
