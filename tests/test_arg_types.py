"""Training flags refuse impossible numbers in one line, before any data is read."""
import argparse

import pytest

from engine import arg_types
from engine.cli import main


@pytest.mark.parametrize("kind, good, bad", [
    (arg_types.positive_int, {"1": 1, "64": 64}, ["0", "-2", "1.5", "x", ""]),
    (arg_types.count, {"0": 0, "7": 7}, ["-1", "nan"]),
    (arg_types.positive_float, {"0.5": 0.5, "1e-3": 0.001}, ["0", "-1", "nan", "inf", "x"]),
    (arg_types.fraction, {"0": 0.0, "0.2": 0.2}, ["1", "-0.1", "nan"]),
])
def test_types_take_good_values_and_refuse_bad_ones(kind, good, bad):
    for text, value in good.items():
        assert kind(text) == value
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError):
            kind(text)


@pytest.mark.parametrize("argv, flag", [
    (["train", "translate", "--batch-size", "0"], "--batch-size"),     # was a ZeroDivisionError
    (["train", "typeahead", "--steps", "0"], "--steps"),               # saved an untrained model
    (["train", "classify", "--lr", "nan"], "--lr"),                    # trained a 0.56-accuracy model
    (["train", "translate", "--dropout", "1"], "--dropout"),
    (["bench", "classify", "--repeat", "0"], "--repeat"),             # ran once, silently
    (["bench", "ocr", "--n", "0"], "--n"),                             # timed 4 amounts, silently
    (["train", "classify", "--threads", "0"], "--threads"),           # trained with 1, silently
])
def test_cli_refuses_impossible_training_flags_before_training(capsys, seqlab_home, argv, flag):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"argument {flag}:" in err and len(err.strip().splitlines()) == 1
    assert not list(seqlab_home.rglob("*.safetensors"))


def test_classify_settings_the_tab_can_send_are_checked_too(seqlab_home):
    from engine.classify import pipeline
    for bad, says in [(dict(minn=5, maxn=3), "minn <= maxn"), (dict(lr=float("nan")), "lr a positive"),
                      (dict(dim=0), "at least 1"), (dict(threads=0), "threads must be at least 1")]:
        with pytest.raises(ValueError, match=says):
            next(pipeline.train_model(pipeline.Options(data="sentiment", **bad)))


def test_an_input_matrix_too_large_for_memory_is_one_line(capsys, seqlab_home):
    assert main(["train", "classify", "--data", "sentiment", "--dim", "1000000000"]) == 1
    err = capsys.readouterr().err
    assert "does not fit in memory" in err and "lower --dim or --bucket" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("task, extra", [("classify", []), ("typeahead", ["--arch", "kn"]),
                                         ("translate", []), ("ocr", [])])
def test_a_models_folder_that_cannot_be_one_is_refused_before_training(capsys, seqlab_home, tmp_path, task, extra):
    """It was found out only when saving, after the whole training, as a raw errno line."""
    not_a_folder = tmp_path / "file.png"
    not_a_folder.write_text("x")
    assert main(["train", task, *extra, "--out", str(not_a_folder)]) == 1
    err = capsys.readouterr().err
    assert "it is a file, not a folder" in err and len(err.strip().splitlines()) == 1
