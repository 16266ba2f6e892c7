"""The shared tokenizer and vocabulary: case and punctuation kept, <unk>, prefixes, joining."""
import pytest

from engine.typeahead import vocab as V


@pytest.mark.parametrize("text,tokens", [
    ("The U.S. economy, isn't it?", ["The", "U", ".", "S", ".", "economy", ",", "isn't", "it", "?"]),
    ("America’s “future” — 1,250.5 dollars", ["America's", '"', "future", '"', "-", "1,250.5", "dollars"]),
    ("", []),
    ("   \n\t", []),
])
def test_tokenize(text, tokens):
    assert V.tokenize(text) == tokens


@pytest.mark.parametrize("text,committed,partial", [
    ("The State of the Un", ["The", "State", "of", "the"], "Un"),
    ("The State of the ", ["The", "State", "of", "the"], ""),
    ("Hello,", ["Hello", ","], ""),
    ("I don'", ["I"], "don'"),
    ("in 19", ["in"], "19"),
    ("", [], ""),
])
def test_split_partial(text, committed, partial):
    assert V.split_partial(text) == (committed, partial)


def test_detokenize_puts_spaces_where_people_do():
    assert V.detokenize(["Yes", ",", "the", "(", "new", ")", "law", "costs", "$", "5", "."]) == \
        "Yes, the (new) law costs $5."


def test_vocab_orders_by_frequency_and_maps_rare_words_to_unk():
    docs = [["a", "a", "a", "b", "b", "c", "d"], ["a", "b"]]
    vocab = V.Vocab.build(docs, max_size=3, min_count=1)
    assert vocab.itos == ["a", "b", V.UNK]           # <unk> stands for c and d: count 2, after b
    assert vocab.encode(["a", "zzz", "b"]) == [0, vocab.unk, 1]
    with pytest.raises(ValueError):
        V.Vocab(["a", "b"])


def test_with_prefix_is_case_sensitive_then_falls_back():
    vocab = V.Vocab(["the", "The", "there", "States", V.UNK, "state"])
    assert sorted(vocab.itos[i] for i in vocab.with_prefix("th")) == ["the", "there"]
    assert sorted(vocab.itos[i] for i in vocab.with_prefix("Th")) == ["The"]
    assert sorted(vocab.itos[i] for i in vocab.with_prefix("sTa")) == ["States", "state"]
    assert vocab.with_prefix("xyz") == []


def test_a_file_of_one_long_paragraph_splits_into_training_and_held_out_text(tmp_path):
    """It was one 1,000,000-word block, and "too short to split"."""
    from engine.typeahead.data import load_user_file
    path = tmp_path / "one.txt"
    path.write_text(" ".join(["the", "cat", "sat", "on", "a", "mat"] * 1000), encoding="utf-8")
    corpus = load_user_file(path)
    assert len(corpus.train) == 27 and len(corpus.test) == 3       # 30 blocks of 200 words, every 10th held out
