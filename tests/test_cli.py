"""The CLI contract: exit codes, one-line errors, JSON output; run as a real subprocess."""
import json
import os
import subprocess
import sys

import pytest


def seqlab(*args, stdin=None, env=None):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "desktop.app", *args], capture_output=True,
                          text=True, input=stdin, timeout=300, env=full_env)


def test_info_json_lists_version_device_tasks_models():
    r = seqlab("info", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["device"] == "cpu" and info["version"]
    assert set(info["tasks"]) == {"typeahead", "classify", "action", "caption", "translate",
                                  "ocr", "vqa"}
    for m in info["models"]:
        assert m["params"] > 0 and m["train_command"].startswith("seqlab train")


def test_data_list_json():
    r = seqlab("data", "list", "--json")
    assert r.returncode == 0
    names = {row["name"] for row in json.loads(r.stdout)}
    assert {"mnist", "sotu", "bible", "rotten-tomatoes"} <= names


@pytest.mark.parametrize("args, code, message", [
    (["train", "vqa"], 2, "error: the vqa demo is not built yet"),
    (["eval", "nosuchtask"], 2, "error: seqlab eval: unknown task 'nosuchtask'"),
    (["predict"], 2, "which task?"),
    (["data", "fetch", "nope"], 1, "unknown data source 'nope'"),
    (["info", "--device", "tpu"], 1, "unknown device 'tpu'"),
    (["data", "wrong"], 2, "invalid choice"),
])
def test_errors_are_one_line_without_traceback(args, code, message):
    r = seqlab(*args)
    assert r.returncode == code
    assert message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_gui_without_a_display_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, "-m", "desktop.app"], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 1 and "no display found" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_gui_bad_option_is_one_line():
    r = seqlab("--bogus")
    assert r.returncode == 2 and "unrecognized arguments: --bogus" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("task, exit_code", [("classify", 1), ("typeahead", 1), ("translate", 1)])
def test_predict_from_stdin_answers_every_line_even_binary_and_non_utf8_ones(task, exit_code):
    """A text line, a binary one and a Latin-1 one, with stdin set to strict decoding: one JSON
    line each, the two bad ones with one clear message (an error; classify's JSON keeps its hint
    too) and exit 1, and no traceback."""
    data = "la casa è bella\n".encode() + b"bin\x00ary\n" + b"caf\xe9\n"
    r = subprocess.run([sys.executable, "-m", "desktop.app", "predict", task, "--json", "-"], input=data,
                       capture_output=True, timeout=300, env=dict(os.environ, PYTHONIOENCODING="utf-8:strict"))
    assert r.returncode == exit_code and b"Traceback" not in r.stderr, r.stderr
    lines = [json.loads(line) for line in r.stdout.decode().splitlines()]
    messages = [line.get("error") or line.get("hint") for line in lines]
    assert messages == [None, "this looks like binary data, not text", "this text is not valid UTF-8"]


def test_train_prints_the_start_of_each_phase(capsys):
    """`train typeahead --arch kn` said nothing for 17 s after "read sotu": its "counting n-grams"
    came within the 0.5 s throttle and was never printed."""
    import argparse

    from engine import cli
    from engine.runtime import Progress

    class Task:
        name = "fake"

        def train(self, args):
            yield Progress(0, 1, message="read the corpus")
            yield Progress(0, 3, message="counting n-grams up to order 5")
            for i in range(1, 50):
                yield Progress(i, 100)                  # throttled
            return None
    assert cli.cmd_train(Task(), argparse.Namespace(json=False, name=None)) == 0
    err = capsys.readouterr().err
    assert "read the corpus" in err and "counting n-grams up to order 5" in err
    assert err.count("\n") < 10
