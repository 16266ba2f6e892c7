"""Character n-grams: the vectorized hashing (char_ngrams.py) against fastText's one-at-a-time
definition, and Dictionary.encode's use of it for known, unknown and pruned words."""
import numpy as np
import pytest

from engine.classify.char_ngrams import char_ngram_hashes, fnv1a, gather_ranges, ngrams_of
from engine.classify.dictionary import Dictionary

WORDS = ["a", "the", "café", "naïve", "日本語", "x" * 40, "</s>", "", "ab", "the", "don't", "😀ok"]


def test_ngrams_of_brackets_the_word_and_goes_n_by_n():
    assert ngrams_of("ab", 2, 3) == ["<a", "ab", "b>", "<ab", "ab>"]
    assert ngrams_of("é", 1, 2) == ["<", "é", ">", "<é", "é>"]          # characters, not bytes
    assert ngrams_of("ab", 5, 6) == []


@pytest.mark.parametrize("minn, maxn", [(1, 1), (2, 3), (3, 6), (5, 5), (7, 9)])
def test_vectorized_hashes_equal_one_at_a_time(minn, maxn):
    hashes, offsets = char_ngram_hashes(WORDS, minn, maxn, skip="</s>")
    assert len(offsets) == len(WORDS) + 1 and offsets[-1] == len(hashes)
    for i, w in enumerate(WORDS):
        expected = [] if w == "</s>" else [fnv1a(g) for g in ngrams_of(w, minn, maxn)]
        assert hashes[offsets[i]:offsets[i + 1]].tolist() == expected, w


def test_gather_ranges_concatenates_slices():
    values = np.arange(10) * 10
    out = gather_ranges(values, np.array([7, 0, 3]), np.array([2, 0, 3]))
    assert out.tolist() == [70, 80, 30, 40, 50]
    assert gather_ranges(values, np.array([4]), np.array([0])).tolist() == []


def test_encode_equals_per_text_features_for_known_unknown_and_pruned_words():
    train = ["the café was naïve", "a good film", "don't go", "日本語 text here", "the the the"]
    d = Dictionary.build(train, [["x"]] * len(train), word_ngrams=2, bucket=997, minn=2, maxn=4)
    unseen = ["unseen words, café! 😀", "", "the 日本 film", "ÜBER naïve"]
    for dictionary in (d, d.pruned(np.arange(0, d.nrows, 3))):
        rows, offsets = dictionary.encode(train + unseen)
        for i, t in enumerate(train + unseen):
            assert sorted(rows[offsets[i]:offsets[i + 1]].tolist()) == sorted(dictionary.features(t)[0]), t


@pytest.mark.parametrize("pruned", [False, True])
def test_explanations_give_each_word_one_weight_including_its_char_ngrams(pruned):
    import torch

    from engine.classify.compress import CompressConfig, compress
    from engine.classify.model import FastText, FastTextConfig
    from engine.classify.trainer import Encoded, TrainConfig, train

    texts = ["a superb film", "an awful film", "superbly made", "awfully dull", "superb acting", "awful plot"] * 20
    ys = [["pos"], ["neg"]] * 60
    cfg = FastTextConfig(dim=8, word_ngrams=2, bucket=5000, minn=3, maxn=5)
    d = Dictionary.build(texts, ys, word_ngrams=2, bucket=5000, minn=3, maxn=5)
    model = FastText.create(cfg, d, seed=0)
    for _ in train(model, Encoded.make(model, texts, d.label_ids(ys)), TrainConfig(epochs=5, batch=8)):
        pass
    if pruned:
        model = compress(model, CompressConfig(dsub=2, cutoff=200, qnorm=False, retrain=False))
    text = "superbest film film ever"                       # "superbest", "ever": not in the vocabulary
    label = model.labels.index(model.predict(text)[0][0])
    contrib = model.explain(text, label)
    names = [n for n, _ in contrib]
    if not pruned:
        assert names[:4] == ["superbest", "film", "film", "ever"] and names[5:] == [
            "superbest film", "film film", "film ever", "ever </s>"]
        assert abs(dict(contrib)["superbest"]) > 0             # known only through its char n-grams
    rows, offsets = model.dict.encode([text])
    h = model.input.bag(torch.from_numpy(rows), torch.from_numpy(offsets[:-1]))[0]
    logits = model.loss.W @ h
    assert abs(sum(w for _, w in contrib) - float(logits[label] - logits.mean())) < 1e-4
