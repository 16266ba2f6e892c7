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
