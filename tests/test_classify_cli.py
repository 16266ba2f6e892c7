"""The CLI contract of `seqlab ... classify` on the shipped models (no Qt)."""
import io
import json
import shutil

import pytest

from engine import cards, paths
from engine.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_predict_json_per_text_with_probs_and_contributions(capsys):
    code, out, err = run(capsys, "predict", "classify", "--json", "a wonderful, moving film", "dull and boring")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert abs(sum(rows[0]["probs"].values()) - 1) < 1e-3
    assert {"ngram", "weight"} <= set(rows[0]["contributions"][0])
    assert any(c["ngram"] == "wonderful" for c in rows[0]["contributions"])


def test_predict_reads_stdin_with_dash(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("great fun\n\nterrible mess\n"))
    code, out, err = run(capsys, "predict", "classify", "--json", "-")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(rows) == 3                  # the empty line is an input without an answer
    assert rows[0]["label"] == "positive" and rows[1]["label"] is None and "hint" in rows[1]
    assert err.strip() == "error: empty text: type a sentence to classify"


def test_windows_line_ends_on_stdin_are_not_part_of_the_text(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("great fun\r\nterrible mess\r\n"))
    code, out, _ = run(capsys, "predict", "classify", "--json", "-")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [c["ngram"] for c in rows[0]["contributions"]][:2] == ["great", "fun"]
    assert all("\r" not in c["ngram"] for row in rows for c in row["contributions"])


def test_a_closed_stdin_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", None)
    code, _, err = run(capsys, "predict", "classify", "-")
    assert code == 2 and "stdin is closed" in err and len(err.strip().splitlines()) == 1


def test_two_output_formats_at_once_are_refused(capsys):
    code, out, err = run(capsys, "predict", "classify", "--fasttext-format", "--json", "good")
    assert code == 1 and out == "" and "two output formats" in err


def test_a_second_dash_is_one_line(capsys):
    code, out, err = run(capsys, "predict", "classify", "-", "-")
    assert code == 2 and out == "" and "comes alone" in err and len(err.strip().splitlines()) == 1


def test_fasttext_format_prints_fasttext_lines_one_per_input(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("great fun\n\nterrible mess\n"))
    code, out, _ = run(capsys, "predict", "classify", "--fasttext-format", "-k", "2", "-")
    lines = out.split("\n")[:-1]
    assert code == 1 and len(lines) == 3 and lines[1] == ""     # (the empty input: exit 1)
    label, p, other, q = lines[0].split()
    assert label == "__label__positive" and other == "__label__negative"
    assert abs(float(p) + float(q) - 1) < 1e-4


def test_bag_of_words_model_is_shipped_too(capsys):
    code, out, _ = run(capsys, "predict", "classify", "--model", "sentiment-bow", "--json", "good")
    assert code == 0 and json.loads(out)["label"] == "positive"


def test_eval_reports_accuracy_on_the_test_split(capsys):
    code, out, err = run(capsys, "eval", "classify", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["split"] == "test" and result["n"] > 1000 and result["accuracy"] > 0.7


def test_corrupt_weights_give_one_line(capsys):
    src = cards.find_model("classify", "sentiment")
    user = paths.user_models() / "classify"
    user.mkdir(parents=True)
    shutil.copy(src.with_suffix(".json"), user / "sentiment.json")
    (user / "sentiment.safetensors").write_bytes(b"garbage")
    code, out, err = run(capsys, "predict", "classify", "--json", "good")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "sha256" in err


@pytest.mark.parametrize("argv, needle", [
    (["predict", "classify", "--model", "nope", "--json", "x"], "no classify model named 'nope'"),
    (["train", "classify", "--data", "no-such-set"], "unknown data set"),
    (["train", "classify", "--data", "/no/such/file.txt"], "no such training file"),
])
def test_errors_are_one_readable_line(capsys, argv, needle):
    code, _, err = run(capsys, *argv)
    assert code != 0 and needle in err and len(err.strip().splitlines()) == 1


def test_train_on_a_user_file_then_predict_with_it(capsys, tmp_path):
    f = tmp_path / "mine.csv"
    f.write_text("text,label\n" + "".join(f"spam offer {i},spam\nhello friend {i},ham\n" for i in range(40)))
    code, out, err = run(capsys, "train", "classify", "--data", str(f), "--epochs", "5", "--bucket", "1000", "--json")
    assert code == 0, err
    assert json.loads(out)["name"] == "my-mine"              # named after the file
    code, out, _ = run(capsys, "predict", "classify", "--model", "my-mine", "--json", "spam offer")
    assert json.loads(out)["label"] == "spam"
    # the same file with hierarchical softmax and char n-grams: saved beside it, not over it
    code, out, err = run(capsys, "train", "classify", "--data", str(f), "--epochs", "5", "--bucket", "1000",
                         "--loss", "hs", "--minn", "3", "--maxn", "5", "--json")
    assert code == 0 and json.loads(out)["name"] == "my-mine-hs-chars3-5", err
    assert {c.name for c in cards.list_models("classify")} >= {"my-mine", "my-mine-hs-chars3-5"}


def test_a_user_file_named_like_a_shipped_model_does_not_shadow_it(capsys, tmp_path):
    f = tmp_path / "sentiment.csv"
    f.write_text("".join(f"spam offer {i},spam\nhello friend {i},ham\n" for i in range(40)))
    code, out, err = run(capsys, "train", "classify", "--data", str(f), "--epochs", "2", "--bucket", "1000", "--json")
    assert code == 0 and json.loads(out)["name"] == "my-sentiment", err
    code, out, _ = run(capsys, "predict", "classify", "--json", "a wonderful film")
    assert json.loads(out)["label"] == "positive"          # still the shipped sentiment model


def test_a_model_saved_with_out_is_used_by_its_path_and_json_stays_strict(capsys, tmp_path):
    f = tmp_path / "few.txt"                 # too few lines for a test split: accuracy is unknown
    f.write_text("".join(f"__label__a café {i}\n__label__b straße {i}\n" for i in range(5)), encoding="utf-8")
    code, out, err = run(capsys, "train", "classify", "--data", str(f), "--epochs", "2", "--bucket", "1000",
                         "--minn", "2", "--maxn", "3", "--out", str(tmp_path / "models"), "--name", "few", "--json")
    assert code == 0, err
    assert json.loads(out, parse_constant=pytest.fail)["metrics"]["accuracy"] is None
    weights = tmp_path / "models" / "few.safetensors"
    code, out, err = run(capsys, "predict", "classify", "--model", str(weights), "--json", "café")
    assert code == 0, err
    assert [c["ngram"] for c in json.loads(out)["contributions"]][:2] == ["café", "</s>"]   # one entry per word
    code, out, err = run(capsys, "eval", "classify", "--model", str(weights), "--json")
    assert code == 1 and out == "" and "test split of few.txt has no texts" in err   # (was exit 0, accuracy null)


def test_sotu_set_is_paragraph_to_president_with_a_fixed_split():
    from engine.classify import data as datasets
    ds = datasets.load("sotu")
    assert len({ls[0] for ls in ds.train.labels}) == 43
    assert 2000 < len(ds.test) < len(ds.train) and len(ds.valid) > 2000
    assert ds.source["sizes"] == datasets.load("sotu").source["sizes"]
    assert all(len(t.split()) >= 10 for t in ds.test.texts[:200])


def test_bible_language_set_keeps_each_verse_in_one_part():
    from engine.classify import data as datasets
    ds = datasets.load("bible-language")
    assert ds.source["sizes"] == {"train": 148_590, "valid": 18_768, "test": 19_254}
    assert sorted({ls[0] for ls in ds.test.labels}) == sorted(datasets.LANGUAGES.values())
    # John 3:16 in all six languages lands in one part, whichever it is
    parts = [name for name in ("train", "valid", "test")
             for t in getattr(ds, name).texts if t.startswith(("For God so loved", "Perciocchè Iddio ha tanto amato",
                                                               "Denn also hat Gott die Welt geliebt"))]
    assert len(parts) == 3 and len(set(parts)) == 1


def _real_models():
    """The shipped models, a product-quantized + pruned + qout copy, and an HS model trained on
    the Bible's verse -> book set (66 labels)."""
    from engine.classify import data as datasets
    from engine.classify.compress import CompressConfig, compress
    from engine.classify.model import FastTextConfig
    from engine.classify.pipeline import load, setup_training
    from engine.classify.trainer import TrainConfig, train
    dense, bow = load("sentiment"), load("sentiment-bow")
    small = compress(dense, CompressConfig(dsub=5, cutoff=20_000, qnorm=True, retrain=False, qout=True))
    ds = datasets.load("bible")
    hs, data = setup_training(ds.train, FastTextConfig(dim=10, bucket=50_000, loss="hs"))
    for _ in train(hs, data, TrainConfig(epochs=1)):
        pass
    return [(dense, None), (bow, None), (small, None), (hs, ds.test.texts[:200])]


def test_numpy_single_text_path_matches_torch_on_real_models():
    from engine.classify import data as datasets
    sentences = datasets.load("sentiment").test.texts[:200] + [
        "", "zzzq unknownword", "not good", "a " * 3000, "Émile's café — naïve?!"]
    for model, texts in _real_models():
        texts = texts or sentences
        want = model.probs_texts(texts).numpy()
        got = [model.probs_one(t) for t in texts]
        for w, g in zip(want, got):
            assert abs(w - g).max() < 1e-5
        label, p = model.predict(texts[0], 1)[0]
        assert label == model.labels[int(want[0].argmax())] and abs(p - want[0].max()) < 1e-5


@pytest.mark.slow
def test_shipped_model_reproduces_from_its_train_command(capsys, tmp_path):
    card = cards.read_card(cards.find_model("classify", "sentiment"))
    argv = card.train_command.split()[1:]
    argv[argv.index("--out") + 1] = str(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    again = cards.read_card(tmp_path / "sentiment")
    assert again.metrics["accuracy"] == card.metrics["accuracy"]
    # the weights themselves, not just the score: same to float16 rounding (a different CPU's
    # kernels may round differently; a changed training would move them far more than this)
    shipped, _ = cards.load_model(cards.find_model("classify", "sentiment"))
    retrained, _ = cards.load_model(tmp_path / "sentiment")
    for name, tensor in shipped.items():
        assert (tensor.float() - retrained[name].float()).abs().max() < 1e-3, name


def test_bench_trains_both_with_the_same_char_ngram_settings(capsys, tmp_path):
    """`seqlab bench classify` on a small separable file: both implementations trained with
    character n-grams, both accurate, times and quantized sizes reported side by side."""
    pytest.importorskip("fasttext")
    words = {"pos": "good great fine lovely superb".split(), "neg": "bad awful poor dull weak".split()}
    filler = "the a film plot it was".split()
    lines = [f"__label__{label} {words[label][i % 5]} {filler[i % 6]} {words[label][(i * 3) % 5]} {filler[(i * 5) % 6]}"
             for i in range(300) for label in ("pos", "neg")]
    path = tmp_path / "tiny.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "bench", "classify", "--json", "--data", str(path), "--repeat", "1",
                         "--epochs", "3", "--hs-data", "", "--bucket", "5000", "--minn", "2", "--maxn", "3")
    assert code == 0, err
    result = json.loads(out)
    assert result["settings"]["minn"] == 2 and result["settings"]["maxn"] == 3
    assert result["accuracy"]["seqlab"] >= 0.9 and result["accuracy"]["fasttext"] >= 0.9
    assert result["train_seconds"]["seqlab"] > 0 and result["train_time_ratio"] > 0
    assert result["quantized"]["seqlab"]["dense"]["bytes"] > result["quantized"]["seqlab"]["dsub2_cutoff0"]["bytes"]


def test_train_refuses_a_name_outside_the_models_folder_before_training(capsys, seqlab_home):
    code, out, err = run(capsys, "train", "classify", "--data", "sentiment", "--epochs", "1", "--name", "../evil")
    assert code == 2 and "cannot name a model" in err and "[" not in err   # no progress line: nothing trained
    assert not list(seqlab_home.rglob("*.safetensors"))


def test_eval_on_a_set_with_none_of_the_models_labels_says_so(capsys):
    code, out, err = run(capsys, "eval", "classify", "--json", "--data", "bible")
    assert code == 1 and out == "" and "bible has none of the model's labels (positive, negative)" in err
    code, out, err = run(capsys, "eval", "classify", "--json", "--data", "vader-tweets")
    row = json.loads(out)
    assert code == 0 and row["data"] == "vader-tweets" and row["unknown_label_texts"] == 0 and 0.5 < row["accuracy"] < 1


def test_a_model_trained_on_a_relative_path_is_evaluated_from_any_folder(capsys, tmp_path, monkeypatch):
    """The card kept "mine.txt" as typed, so `eval` worked only from the folder training ran in."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mine.txt").write_text("".join(f"__label__spam buy pills {i}\n__label__ham see you {i}\n"
                                                        for i in range(60)))
    monkeypatch.chdir(tmp_path / "data")
    code, out, err = run(capsys, "train", "classify", "--data", "mine.txt", "--epochs", "2", "--bucket", "1000", "--json")
    assert code == 0, err
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "eval", "classify", "--model", "my-mine", "--json")
    assert code == 0 and json.loads(out)["n"] > 0, err


@pytest.mark.parametrize("edit, needle", [
    (lambda d: d.update(labels=d["labels"] + ["neutral"], label_counts=d["label_counts"] + [1]), "3 labels"),
    (lambda d: d.update(words=d["words"][:-1]), "dictionary has"),
])
def test_a_card_that_does_not_fit_its_weights_is_one_line(capsys, seqlab_home, edit, needle):
    """A card edited or copied from another model predicted labels the weights never learnt
    (exit 0), or failed with an IndexError inside a prediction."""
    user = paths.user_models() / "classify"
    user.mkdir(parents=True, exist_ok=True)
    shipped = paths.assets() / "models" / "classify"
    shutil.copy(shipped / "sentiment-bow.safetensors", user / "edited.safetensors")
    card = json.loads((shipped / "sentiment-bow.json").read_text())
    card["name"] = "edited"
    edit(card["extra"]["dictionary"])
    (user / "edited.json").write_text(json.dumps(card))
    code, out, err = run(capsys, "predict", "classify", "--model", "edited", "--json", "good")
    assert code == 1 and out == "" and needle in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("content, needle", [
    ('["task", "name"]', "JSON object, not list"), ("42", "JSON object, not int"),
    ('{"task": "classify", "name": "odd", "arch": "fasttext", "config": {}, "params": "many"}', "'params' should be"),
])
def test_a_hand_edited_card_is_one_line_and_info_still_lists_the_others(capsys, seqlab_home, content, needle):
    user = paths.user_models() / "classify"
    user.mkdir(parents=True, exist_ok=True)
    (user / "odd.safetensors").write_bytes((paths.assets() / "models" / "classify" / "sentiment-bow.safetensors").read_bytes())
    (user / "odd.json").write_text(content)
    code, _, err = run(capsys, "predict", "classify", "--model", "odd", "--json", "good")
    assert code == 1 and needle in err and len(err.strip().splitlines()) == 1, err
    code, out, err = run(capsys, "info")
    assert code == 0 and "classify/sentiment:" in out, err
