"""The Translation tab with pytest-qt: loads a model off the GUI thread, translates on pause,
shows the alignment, n-best follows the beam slider, hover links the two sentences, cancel keeps
the model. Uses a tiny model trained in a few seconds (installed in the test's SEQLAB_HOME)."""
import os
import shutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from engine import paths  # noqa: E402
from engine.runtime import Engine  # noqa: E402
from engine.translate.train import TrainConfig, train  # noqa: E402


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-tab")
    torch.set_num_threads(1)
    gen = train(TrainConfig(name="tiny-tab", limit=120, epochs=1, batch_size=40, hidden=16, emb=16,
                            src_vocab=200, tgt_vocab=200, test_bleu=False), out)
    for _ in gen:
        pass
    return out


@pytest.fixture
def tab(qtbot, tiny_dir):
    dest = paths.user_models() / "translate"
    dest.mkdir(parents=True, exist_ok=True)
    for suffix in (".safetensors", ".json"):
        shutil.copy(tiny_dir / f"tiny-tab{suffix}", dest / f"tiny-tab{suffix}")
    from desktop.bridge import EngineBridge
    from desktop.tabs.translate import Tab
    engine = Engine("cpu")
    bridge = EngineBridge(engine)
    t = Tab(bridge)
    qtbot.addWidget(t)
    qtbot.waitUntil(lambda: "tiny-tab" in t.models, timeout=30000)
    t._use("tiny-tab")
    yield t
    t.shutdown()
    engine.shutdown()


def test_self_test_runs_a_real_translation(tab, qtbot):
    got = []
    tab.self_test(lambda ok, msg: got.append((ok, msg)))
    qtbot.waitUntil(lambda: bool(got), timeout=20000)
    assert got[0][0], got[0][1]
    assert "→" in got[0][1]


def test_typing_translates_and_shows_alignment_and_nbest(tab, qtbot):
    tab.beam.setValue(3)
    tab.editor.setPlainText("Il re parla al popolo.")
    qtbot.waitUntil(lambda: tab.result is not None and tab.result["source_tokens"][:2] == ["Il", "re"],
                    timeout=20000)
    r = tab.result
    assert tab.heatmap.values().shape == (len(r["target_tokens"]), len(r["source_tokens"]))
    assert 1 <= tab.nbest.count() <= 3
    assert tab.translation.text() == (r["translation"] or "—")
    assert "ms" in tab.status.text()
    tab.beam.setValue(1)
    qtbot.waitUntil(lambda: tab.nbest.count() == 1, timeout=20000)


def test_hover_links_target_and_source_words(tab, qtbot):
    tab.editor.setPlainText("Il gatto dorme.")
    qtbot.waitUntil(lambda: tab.result is not None and tab.result["source_tokens"][:2] == ["Il", "gatto"],
                    timeout=20000)
    A = np.asarray(tab.result["alignment"])
    if not len(A):
        pytest.skip("the tiny model produced an empty translation")
    tab._on_word_hovered("tgt:0")
    assert np.allclose(tab.src_words.weights, A[0]) and tab.tgt_words.focus == 0
    tab.heatmap.cellHovered.emit(0, 1)
    assert np.allclose(tab.tgt_words.weights, A[:, 1]) and tab.src_words.focus == 1
    tab._on_word_hovered("")
    assert not tab.src_words.weights.any()


def test_several_sentences_show_an_nbest_list_each_and_binary_input_clears(tab, qtbot):
    tab.beam.setValue(2)
    tab.editor.setPlainText("Il re parla al popolo. Il popolo ascolta.")
    qtbot.waitUntil(lambda: tab.result is not None and "sentences" in tab.result, timeout=20000)
    rows = [tab.nbest.item(i).text() for i in range(tab.nbest.count())]
    assert rows[0] == "sentence 1: Il re parla al popolo." and "sentence 2: Il popolo ascolta." in rows
    tab.editor.setPlainText("\x00\x01 gatto")
    qtbot.waitUntil(lambda: "binary" in tab.status.text(), timeout=20000)
    assert tab.translation.text() == "—" and tab.nbest.count() == 0 and tab.result is None


def test_empty_input_clears(tab, qtbot):
    tab.editor.setPlainText("   ")
    qtbot.waitUntil(lambda: tab.translation.text() == "—", timeout=5000)
    assert tab.nbest.count() == 0


def test_cancelling_training_keeps_the_model(tab, qtbot):
    before = tab.slot.get()
    tab.training.trainRequested.emit(tab.training.values())
    assert not tab.model_combo.isEnabled()               # its snapshots are live meanwhile
    tab.training.cancel_button.click()
    qtbot.waitUntil(lambda: "cancelled" in tab.training.status.text(), timeout=30000)
    assert tab.slot.get() is before and tab.model_combo.isEnabled()
