"""The typeahead CLI contract: predict / eval / train on your own file, and one-line errors."""
import json
import math

import pytest

from engine import cards, paths
from engine.cli import main

OWN_TEXT = ("We the people of the United States, in order to form a more perfect union, establish "
            "justice, insure domestic tranquility, provide for the common defense.\n\n") * 40


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_next_words_and_prefix_completion(capsys):
    code, out, err = run(capsys, "predict", "typeahead", "--model", "kn", "--json",
                         "The State of the ", "The State of the Un", "")
    assert code == 0, err
    full, prefix, empty = [json.loads(line) for line in out.splitlines()]
    assert len(full["next"]) == 5 and full["next"][0]["word"] == "Union"
    assert all(0 < n["p"] <= 1 for n in full["next"])
    assert [n["p"] for n in full["next"]] == sorted((n["p"] for n in full["next"]), reverse=True)
    assert full["completion"].startswith("Union") and full["ms"] >= 0
    assert prefix["next"] and all(n["word"].startswith("Un") for n in prefix["next"])
    assert prefix["completion"].startswith(prefix["next"][0]["word"])
    assert empty["next"][0]["word"][0].isupper()                  # sentence starts


def test_order_one_ignores_context(capsys):
    code, out, _ = run(capsys, "predict", "typeahead", "--model", "kn", "--json", "--order", "1",
                       "The State of the ", "I thank you and ")
    a, b = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and a["next"] == b["next"]


def test_eval_reports_finite_perplexity(capsys):
    code, out, err = run(capsys, "eval", "typeahead", "--models", "kn", "--max-tokens", "1000", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["tokens"] == 1000 and math.isfinite(res["kn"]["ppl"]) and 20 < res["kn"]["ppl"] < 1000
    # --model, which eval --help offers, picks the model too (it was ignored: all three ran)
    code, out, err = run(capsys, "eval", "typeahead", "--model", "kn", "--max-tokens", "1000", "--json")
    assert code == 0 and {"kn"} == {k for k in json.loads(out) if k in ("kn", "lstm", "gcnn")}, err


@pytest.mark.parametrize("argv,needle", [
    (["predict", "typeahead", "--model", "kn", "--order", "9", "x"], "--order"),
    (["predict", "typeahead", "--model", "nope", "x"], "no typeahead model named 'nope'"),
    (["train", "typeahead", "--arch", "kn", "--corpus", "/no/such/file.txt"], "no such text file"),
    (["train", "typeahead", "--arch", "kn", "--corpus", "lorem"], "unknown corpus"),
    (["eval", "typeahead", "--models", ",,"], "names no model"),                # was StopIteration
    (["eval", "typeahead", "--model", "kn", "--models", "lstm"], "not both"),
])
def test_bad_input_is_one_readable_line(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code != 0 and needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_non_utf8_and_binary_files_are_refused(capsys, tmp_path):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 au lait ".encode("latin-1") * 100)
    code, _, err = run(capsys, "train", "typeahead", "--arch", "kn", "--corpus", str(latin))
    assert code == 1 and "not UTF-8" in err and len(err.strip().splitlines()) == 1
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02" * 1000)
    code, _, err = run(capsys, "train", "typeahead", "--arch", "kn", "--corpus", str(binary))
    assert code == 1 and "binary" in err


def test_train_on_own_file_then_predict_and_corrupt_weights(capsys, tmp_path):
    own = tmp_path / "preamble.txt"
    own.write_text(OWN_TEXT, encoding="utf-8")
    arpa = tmp_path / "mine.arpa"
    code, out, err = run(capsys, "train", "typeahead", "--arch", "kn", "--order", "3", "--prune", "1",
                         "--min-count", "1", "--corpus", str(own), "--name", "mine", "--json",
                         "--arpa", str(arpa))
    assert code == 0, err
    assert arpa.read_text(encoding="utf-8").startswith("\\data\\\nngram 1=")
    saved = json.loads(out)
    assert saved["name"] == "mine" and saved["metrics"]["test_ppl"] < 3      # it memorized the text
    folder = paths.user_models() / "typeahead"
    card = cards.read_card(folder / "mine.json")
    assert "--corpus" in card.train_command and card.extra["itos"]
    code, out, err = run(capsys, "predict", "typeahead", "--model", "mine", "--json", "We the people of the ")
    assert code == 0 and json.loads(out)["completion"].startswith("United States")
    # flip bytes in the weights: one clear line, no traceback
    blob = bytearray((folder / "mine.safetensors").read_bytes())
    blob[-5] ^= 0xFF
    (folder / "mine.safetensors").write_bytes(bytes(blob))
    code, _, err = run(capsys, "predict", "typeahead", "--model", "mine", "x")
    assert code == 1 and "does not match its card" in err


def test_too_short_own_file(capsys, tmp_path):
    own = tmp_path / "short.txt"
    own.write_text("just a few words", encoding="utf-8")
    code, _, err = run(capsys, "train", "typeahead", "--arch", "lstm", "--corpus", str(own))
    assert code == 1 and "too little text" in err


def test_arpa_output_may_not_be_the_training_text(capsys, tmp_path):
    """--arpa pointing at the corpus replaced the user's text with the ARPA file."""
    corpus = tmp_path / "mine.txt"
    corpus.write_text("the cat sat on the mat . " * 100, encoding="utf-8")
    before = corpus.read_bytes()
    code, _, err = run(capsys, "train", "typeahead", "--arch", "kn", "--corpus", str(corpus), "--arpa", str(corpus))
    assert code == 1 and "would be overwritten" in err and corpus.read_bytes() == before


def test_a_cut_built_in_corpus_is_refused_not_trained(tmp_path, monkeypatch):
    """A moby-dick cache cut to 100 bytes trained and saved a perplexity-1.0 model over kn."""
    from engine.data import sources
    from engine.typeahead import data as D
    monkeypatch.setenv("SEQLAB_HOME", str(tmp_path))
    folder = sources.cache_dir("moby-dick")
    (folder / "package" / "data").mkdir(parents=True)
    (folder / "package" / "data" / "data.txt").write_text("Call me Ishmael.", encoding="utf-8")
    (folder / ".complete").write_text("")
    with pytest.raises(sources.DataUnavailable, match="seqlab data fetch moby-dick --force"):
        D.load("moby-dick")


def test_order_is_refused_for_a_neural_model_not_ignored(capsys):
    code, out, err = run(capsys, "predict", "typeahead", "--model", "lstm", "--order", "3", "the")
    assert code == 1 and out == "" and "--order chooses the n-gram order of a kn model" in err
