"""The Text classification tab with pytest-qt (offscreen), on the shipped models."""
import pytest

from desktop.bridge import EngineBridge
from desktop.tabs.classify import BIGRAMS, BOW, Tab
from engine.runtime import Engine


@pytest.fixture
def tab(qtbot):
    engine = Engine("cpu")
    t = Tab(EngineBridge(engine))
    qtbot.addWidget(t)
    qtbot.waitUntil(lambda: BIGRAMS in t.models and BOW in t.models, timeout=20000)
    yield t
    t.shutdown()
    engine.shutdown()


def test_typing_predicts_live_with_bars_and_highlights(qtbot, tab):
    tab.editor.setPlainText("a wonderful, moving film")
    qtbot.waitUntil(lambda: tab.result.text().startswith("positive"), timeout=10000)
    assert tab.bars.items()[0][0] == "positive"
    words = dict(tab.words.spans())
    assert words["wonderful"] > 0
    tab.editor.setPlainText("   ")
    qtbot.waitUntil(lambda: "Type a sentence" in tab.hint.text(), timeout=5000)


def test_toggle_switches_between_bag_of_words_and_bigrams(qtbot, tab):
    tab.bow_button.setChecked(True)
    assert tab.current == BOW and tab.slot.get() is tab.models[BOW][0]
    tab.editor.setPlainText("not good")
    qtbot.waitUntil(lambda: bool(tab.words.spans()), timeout=10000)
    assert tab.ngrams.spans() == []                      # no bigram features in this model
    tab.bigram_button.setChecked(True)
    assert tab.current == BIGRAMS
    qtbot.waitUntil(lambda: ("not good" in dict(tab.ngrams.spans())), timeout=10000)


def test_huge_paste_is_truncated_with_a_notice(qtbot, tab):
    tab.editor.setPlainText("great fun " * 120_000)        # ~1.2 MB
    qtbot.waitUntil(lambda: "first" in tab.hint.text(), timeout=15000)
    assert tab.result.text().startswith("positive")


def test_self_test_runs_a_real_prediction(qtbot, tab):
    results = []
    tab.self_test(lambda ok, msg: results.append((ok, msg)))
    qtbot.waitUntil(lambda: bool(results), timeout=15000)
    assert results[0][0], results[0][1]


def test_training_on_own_file_then_cancel_keeps_previous_model(qtbot, tab, tmp_path):
    f = tmp_path / "spam.txt"
    f.write_text("".join(f"__label__spam buy cheap pills {i}\n__label__ham see you at lunch {i}\n"
                         for i in range(300)))
    before = tab.slot.get()
    tab.training.set_own_file(str(f))
    tab.training.set_value("epochs", 2)
    tab.training.set_value("bucket", 2000)
    tab.training.set_value("threads", 1)
    tab.training.set_value("calibrate", True)
    tab.training.train_button.click()
    qtbot.waitUntil(lambda: tab.training.train_button.isEnabled(), timeout=30000)
    assert "saved my-spam" in tab.training.status.text()
    assert "before scaling W by" in tab.training.status.text()
    qtbot.waitUntil(lambda: "my-spam" in tab.models, timeout=10000)
    assert tab.current == "my-spam"
    # now a long run, cancelled: the model in use stays the one before
    tab.training.set_value("epochs", 200)
    tab.training.set_value("threads", 2)
    kept = tab.slot.get()
    tab.training.train_button.click()
    # while it trains, its snapshots are live: no other model can be chosen, nor compressed
    assert not tab.model_combo.isEnabled() and not tab.bow_button.isEnabled()
    tab.compression.run_button.click()
    assert "a training is running" in tab.compression.status.text()
    # Cancel at once: on a quiet machine 200 epochs of this file take well under a second, so
    # waiting first made the test race the training.
    tab.training.cancel_button.click()
    qtbot.waitUntil(lambda: tab.training.train_button.isEnabled(), timeout=30000)
    assert "previous model is kept" in tab.training.status.text()
    assert tab.slot.get() is kept and kept is not before
    assert tab.model_combo.isEnabled() and tab.bow_button.isEnabled()


def test_training_on_a_file_too_small_for_a_test_split_says_so(qtbot, tab, tmp_path):
    f = tmp_path / "few.txt"
    f.write_text("".join(f"__label__a café {i}\n__label__b straße {i}\n" for i in range(5)), encoding="utf-8")
    tab.training.set_own_file(str(f))
    tab.training.set_value("epochs", 2)
    tab.training.set_value("threads", 1)
    tab.training.train_button.click()
    qtbot.waitUntil(lambda: tab.training.train_button.isEnabled(), timeout=30000)
    assert "saved my-few" in tab.training.status.text()
    assert "no test texts to measure accuracy on" in tab.training.status.text()
    qtbot.waitUntil(lambda: tab.current == "my-few" and tab.current in tab.models, timeout=10000)
    tab.compression.run_button.click()
    qtbot.waitUntil(lambda: tab.compression.run_button.isEnabled() and "too few texts" in tab.compression.status.text(),
                    timeout=30000)
    assert tab.compression._spots == []


def test_character_ngrams_give_unseen_words_a_weight(qtbot, tab, tmp_path):
    f = tmp_path / "spam.txt"
    f.write_text("".join(f"__label__spam buy cheap pills {i}\n__label__ham see you at lunch {i}\n"
                         for i in range(100)))
    tab.training.set_own_file(str(f))
    tab.training.set_value("epochs", 5)
    tab.training.set_value("bucket", 2000)
    tab.training.set_value("threads", 1)
    tab.training.set_value("chars", "3-6")
    tab.training.train_button.click()
    qtbot.waitUntil(lambda: tab.training.train_button.isEnabled(), timeout=30000)
    assert "saved my-spam-chars3-6" in tab.training.status.text()
    assert "char n-grams 3-6" in tab.training.status.text()
    qtbot.waitUntil(lambda: tab.current == "my-spam-chars3-6" and tab.current in tab.models, timeout=10000)
    tab.editor.setPlainText("cheapest lunches")            # neither word was in the training texts
    qtbot.waitUntil(lambda: tab.result.text().startswith(("spam", "ham")), timeout=10000)
    qtbot.waitUntil(lambda: [w for w, _ in tab.words.spans()] == ["cheapest", "lunches"], timeout=10000)
    weights = dict(tab.words.spans())
    assert weights["cheapest"] != 0 and weights["lunches"] != 0


def test_compression_panel_adds_points_and_can_go_live(qtbot, tab):
    tab.compression.dsub.setCurrentText("5")
    tab.compression.cutoff.setValue(3000)
    tab.compression.retrain.setChecked(False)
    tab.compression.run_button.click()
    qtbot.waitUntil(lambda: tab.compression.run_button.isEnabled() and "KB" in tab.compression.status.text(),
                    timeout=60000)
    assert len(tab.compression._spots) == 2              # dense + compressed
    tab.compression.use_live.setChecked(True)
    assert tab.slot.get() is tab._compressed
    tab.editor.setPlainText("a wonderful film")
    qtbot.waitUntil(lambda: tab.result.text().startswith("positive"), timeout=10000)
    # the Evaluate panel measures the model in use: the compressed one, named so
    tab.transfer.data.setCurrentText("vader-amazon")
    tab.transfer._on_one()
    qtbot.waitUntil(lambda: tab.transfer.table.rowCount() == 1, timeout=30000)
    assert tab.transfer.table.item(0, 0).text() == f"{BIGRAMS} (compressed)"


def test_a_training_unticks_the_compressed_model_and_a_cancel_brings_back_the_dense_one(qtbot, tab, tmp_path):
    """During a training "use the compressed model live" replaced its snapshots; after a cancel
    it stayed ticked while the dense model was live."""
    tab._compressed, tab._compressed_of = tab.models[BIGRAMS][0].copy(), BIGRAMS   # as a compress leaves it
    tab.compression.reset_live(can_use=True)
    tab.compression.use_live.setChecked(True)
    assert tab.slot.get() is tab._compressed
    f = tmp_path / "spam.txt"
    f.write_text("".join(f"__label__spam buy cheap pills {i}\n__label__ham see you at lunch {i}\n" for i in range(300)))
    tab.training.set_own_file(str(f))
    tab.training.set_value("epochs", 200)
    tab.training.train_button.click()
    assert not tab.compression.use_live.isEnabled() and not tab.compression.use_live.isChecked()
    tab.training.cancel_button.click()
    qtbot.waitUntil(lambda: tab.training.train_button.isEnabled(), timeout=30000)
    assert "previous model is kept" in tab.training.status.text()
    assert tab.slot.get() is tab.models[BIGRAMS][0] and not tab.compression.use_live.isChecked()
    assert tab.compression.use_live.isEnabled()


def test_a_compressed_model_stays_with_the_model_it_was_made_from(qtbot, tab):
    """Switching to bag of words while the bigram model was being compressed once credited the
    result to bag of words and let "use live" put the compressed bigram model behind it."""
    tab.compression.dsub.setCurrentText("5")
    tab.compression.cutoff.setValue(3000)
    tab.compression.retrain.setChecked(False)
    tab.compression.run_button.click()
    tab.bow_button.setChecked(True)
    qtbot.waitUntil(lambda: tab.compression.run_button.isEnabled() and "KB" in tab.compression.status.text(),
                    timeout=60000)
    assert tab.current == BOW and tab.compression._dense_point_for == BIGRAMS
    assert not tab.compression.use_live.isEnabled() and tab._compressed is None
    assert tab.compression.save_button.isEnabled()       # it can still be saved under its own name


def test_refused_input_clears_the_last_prediction(qtbot, tab):
    tab.editor.setPlainText("a wonderful film")
    qtbot.waitUntil(lambda: tab.result.text().startswith("positive"), timeout=10000)
    tab.editor.setPlainText("good\x00bad")
    qtbot.waitUntil(lambda: tab.result.text() == "—", timeout=10000)
    assert tab.hint.text() and tab.bars.items() == [] and tab.words.spans() == []


def test_compression_with_retraining_and_qout_reports_both(qtbot, tab):
    tab.compression.dsub.setCurrentText("5")
    tab.compression.cutoff.setValue(3000)
    tab.compression.retrain.setChecked(True)
    tab.compression.qout.setChecked(True)
    tab.compression.run_button.click()
    qtbot.waitUntil(lambda: tab.compression.run_button.isEnabled() and "KB" in tab.compression.status.text(),
                    timeout=120000)
    assert "qout" in tab.compression.status.text()
    assert "before retraining the output layer" in tab.compression.status.text()
    assert tab._compressed.output_q is not None
    tab.compression.save_button.click()
    qtbot.waitUntil(lambda: "sentiment-q5-cut3k-qout" in tab.models, timeout=30000)   # named by its settings
    saved, card = tab.models["sentiment-q5-cut3k-qout"]
    assert card.extra["compressed_from"] == "sentiment" and saved.output_q is not None
    assert "saved as" in tab.compression.status.text()


def test_training_panel_offers_every_engine_data_set():
    from desktop.tabs.classify import DATASETS
    from engine.classify.data import DATASETS as ENGINE_SETS
    assert list(DATASETS) == list(ENGINE_SETS)


def test_softmax_and_hs_trainings_stay_side_by_side(qtbot, tab, tmp_path):
    f = tmp_path / "topics.txt"
    f.write_text("".join(f"__label__{t} {w} talk {i}\n" for i in range(100)
                         for t, w in (("a", "apples"), ("b", "bikes"), ("c", "coins"), ("d", "dogs"))))
    tab.training.set_own_file(str(f))
    tab.training.set_value("epochs", 2)
    tab.training.set_value("bucket", 2000)
    tab.training.set_value("threads", 1)
    for loss, name in (("softmax", "my-topics"), ("hs", "my-topics-hs")):
        tab.training.set_value("loss", loss)
        tab.training.train_button.click()
        qtbot.waitUntil(lambda: tab.training.train_button.isEnabled(), timeout=30000)
        assert f"saved {name} ({loss}" in tab.training.status.text()
    assert "hs, huffman tree, 2 epochs, dim 10" in tab.training.status.text()
    qtbot.waitUntil(lambda: "my-topics" in tab.models and "my-topics-hs" in tab.models, timeout=10000)
    assert tab.models["my-topics-hs"][1].config["model"]["loss"] == "hs"
    assert tab.models["my-topics"][1].config["model"]["loss"] == "softmax"


def test_trained_model_names_say_the_loss_and_tree():
    from desktop.tabs.classify import trained_model_name
    assert trained_model_name("bible", "softmax", "similarity") == "my-bible"
    assert trained_model_name("/x/y/reviews.csv", "hs", "huffman") == "my-reviews-hs"
    assert trained_model_name("sotu", "hs2", "similarity") == "my-sotu-hs2-similarity"
    assert trained_model_name("sotu", "ova", "similarity") == "my-sotu-ova"
    assert trained_model_name("sentiment", "softmax", "huffman", "3-6") == "my-sentiment-chars3-6"


def test_memory_axis_labels_are_1_2_5_steps_not_every_minor_tick():
    import math
    from desktop.tabs.classify_compress import kb_ticks
    assert [label for _, label in kb_ticks(76, 4976)] == ["50", "100", "200", "500", "1,000", "2,000", "5,000"]
    wide = kb_ticks(0.5, 9e6)                       # many decades: powers of ten only
    assert [label for _, label in wide][:3] == ["0.1", "1", "10"] and len(wide) <= 10
    for lo, hi in ((0.02, 0.3), (700, 700), (3, 40_000)):
        ticks = kb_ticks(lo, hi)
        positions = [p for p, _ in ticks]
        assert positions == sorted(positions) and len(ticks) >= 2
        assert positions[0] <= math.log10(lo) and positions[-1] >= math.log10(hi)


def test_evaluate_panel_measures_domain_transfer_and_refuses_foreign_labels(qtbot, tab):
    from engine.classify import data as datasets
    from engine.classify import pipeline
    panel = tab.transfer
    panel.data.setCurrentText("vader-amazon")
    panel._on_one()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=30000)
    row = [panel.table.item(0, c).text() for c in range(4)]
    # the same number the engine gives for the shipped model on amazon's test split
    expected = pipeline.evaluate_split(tab.models[BIGRAMS][0], datasets.load("vader-amazon").test)
    assert row == [BIGRAMS, "vader-amazon", f"{expected['n']:,}", f"{expected['accuracy']:.4f}"]
    panel.data.setCurrentText("bible")
    panel._on_one()
    qtbot.waitUntil(lambda: "none of the model's labels" in panel.status.text(), timeout=30000)
    assert panel.table.rowCount() == 1                  # an error adds no row
    panel._on_every()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 6, timeout=60000)
    assert sorted(panel.table.item(r, 1).text() for r in range(1, 6)) == sorted(
        ["sentiment", "vader-amazon", "vader-nyt", "vader-tweets", "vader-movie"])


def test_evaluate_panel_says_when_a_set_has_no_test_texts(qtbot, tab, tmp_path):
    """A file too small for a test split showed a row with accuracy "nan"."""
    f = tmp_path / "tiny.txt"
    f.write_text("__label__positive great film\n__label__negative dull film\n")
    tab.transfer.set_own_file(str(f))
    tab.transfer._on_one()
    qtbot.waitUntil(lambda: "has no texts" in tab.transfer.status.text(), timeout=30000)
    assert tab.transfer.table.rowCount() == 0


def test_evaluate_panel_takes_the_users_own_file(qtbot, tab, tmp_path):
    from desktop.widgets.training_panel import OWN_FILE
    panel = tab.transfer
    panel.data.setCurrentText(OWN_FILE)
    panel._on_one()
    assert "choose a file first" in panel.status.text() and panel.table.rowCount() == 0
    f = tmp_path / "reviews.txt"
    f.write_text("".join(f"__label__positive a wonderful moving film {i}\n__label__negative dull and boring mess {i}\n"
                         for i in range(200)))
    panel.set_own_file(str(f))
    panel._on_one()
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=30000)
    assert panel.table.item(0, 1).text() == "reviews.txt" and float(panel.table.item(0, 3).text()) > 0.9
