"""The ocr CLI contract: predict JSON, one-line errors for bad images, eval/bench keys, the card."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.ocr.model import LeNetConfig

from engine import cli

MODEL = Path(__file__).resolve().parent.parent / "assets" / "models" / "ocr" / "amounts.safetensors"
needs_model = pytest.mark.skipif(not MODEL.exists(), reason="the shipped OCR model is missing")


@pytest.fixture(scope="module")
def amount_png(tmp_path_factory):
    from engine.ocr import checks
    rng = np.random.default_rng(21)
    field = checks.make_field(rng, checks.DigitBank("test"), text="200", touching=False)
    check, _ = checks.render_check(field, rng)
    d = tmp_path_factory.mktemp("ocr")
    cv2.imwrite(str(d / "field.png"), field.image)
    cv2.imwrite(str(d / "check.jpg"), check)
    return d


@needs_model
def test_predict_json_for_a_field_and_a_whole_check(amount_png, capsys):
    assert cli.main(["predict", "ocr", "--json", str(amount_png / "field.png"),
                     str(amount_png / "check.jpg")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        out = json.loads(line)
        assert {"amount", "score", "alternatives", "segments", "ms"} <= set(out)
        assert out["amount"] == "200"
        assert all(a["score"] <= out["score"] + 1e-6 for a in out["alternatives"])
        assert len({a["amount"] for a in out["alternatives"]}) == len(out["alternatives"])


@needs_model
@pytest.mark.parametrize("content, message", [
    (b"definitely not an image", "not a PNG or JPEG"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "corrupt"),
    # a "decompression bomb": 40,000 x 40,000 pixels in a few bytes (opencv's own error was raw)
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (40000).to_bytes(4, "big") * 2 + b"\x08\x00\x00\x00\x00" + b"\x00" * 64,
     "too large to read"),
    # a 0 x 0 PNG: libpng printed its own line on stderr before ours
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (0).to_bytes(4, "big") * 2 + b"\x08\x00\x00\x00\x00" + b"\x00" * 64,
     "not an image this reads"),
])
def test_bad_files_give_one_line(tmp_path, capsys, content, message):
    p = tmp_path / "bad.png"
    p.write_bytes(content)
    assert cli.main(["predict", "ocr", "--json", str(p)]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@needs_model
def test_a_bad_image_among_good_ones_loses_none_of_them(amount_png, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"definitely not an image")
    good = str(amount_png / "field.png")
    assert cli.main(["predict", "ocr", "--json", good, str(bad), good]) == 1
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert [line["input"] for line in lines] == [good, str(bad), good]      # one line per image
    assert lines[0]["amount"] == lines[2]["amount"] == "200" and "not a PNG or JPEG" in lines[1]["error"]
    assert captured.err.strip().splitlines() == [f"error: {lines[1]['error']}"]


@needs_model
def test_blank_image_says_no_handwriting_found(tmp_path, capsys):
    p = tmp_path / "blank.png"
    cv2.imwrite(str(p), np.full((120, 400), 250, np.uint8))
    assert cli.main(["predict", "ocr", "--json", str(p)]) == 1
    assert "blank.png: no handwriting found" in capsys.readouterr().err   # (the tab says "draw an amount")


@needs_model
def test_shipped_card_is_reproducible_and_small():
    card = json.loads(MODEL.with_suffix(".json").read_text())
    assert card["train_command"].startswith("seqlab train ocr") and "--out assets/models/ocr" in card["train_command"]
    assert MODEL.stat().st_size <= 2 * 1024 * 1024
    m = card["metrics"]
    assert m["amount_accuracy"] > m["amount_accuracy_isolated_cnn"]     # the point of GTN


@needs_model
@pytest.mark.slow
def test_eval_reproduces_the_card_and_bench_contract(capsys):
    # the held-out amounts are generated from a fixed seed: eval must give the card's figures
    card = json.loads(MODEL.with_suffix(".json").read_text())["metrics"]
    assert cli.main(["eval", "ocr", "--json", "--amounts", str(card["n"])]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"digit_accuracy", "amount_accuracy", "amount_accuracy_isolated_cnn", "n"} <= set(out)
    for key in ("digit_accuracy", "amount_accuracy", "amount_accuracy_isolated_cnn"):
        assert out[key] == pytest.approx(card[key], abs=0.005), key
    assert cli.main(["bench", "ocr", "--json", "--n", "20"]) == 0
    bench = json.loads(capsys.readouterr().out)
    assert bench["decode"]["n"] == bench["tab_decode"]["n"] == 20 and bench["decode"]["p95_ms"] > 0


@needs_model
def test_eval_on_validation_amounts_uses_training_digits(capsys):
    from engine.ocr import evaluate, task, train
    assert cli.main(["eval", "ocr", "--json", "--validation", "12"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["split"].startswith("validation") and out["n"] == 12
    # the amounts of train.val_fields with the validation seed (training digits), not the test ones
    val = train.val_fields(12, seed=task.VALIDATION_SEED)
    assert not {f.image.tobytes() for f in val} & {f.image.tobytes() for f in evaluate.test_fields(12)}
    direct = evaluate.amount_accuracy(task.load().gtn, val)
    assert out["amount_accuracy"] == round(direct["accuracy"], 4) and out["errors"] == direct["errors"]
    # every wrong amount has one length verdict; accuracy per digit count over the lengths present
    assert sum(out["wrong_length"].values()) == sum(out["errors"].values())
    lengths = {str(sum(c.isdigit() for c in f.text)) for f in val}
    assert set(out["by_digits"]) == lengths and all(0 <= a <= 1 for a in out["by_digits"].values())
    assert cli.main(["eval", "ocr", "--json", "--validation", "-1"]) != 0
    assert "--validation" in capsys.readouterr().err


@needs_model
def test_eval_errors_sheet_shows_exactly_the_wrong_amounts(tmp_path, capsys):
    from engine.ocr import error_sheet, evaluate, task
    sheet = tmp_path / "wrong.png"
    assert cli.main(["eval", "ocr", "--json", "--amounts", "60", "--errors", str(sheet)]) == 0
    out = json.loads(capsys.readouterr().out)
    model = task.load().gtn
    wrong = round((1 - evaluate.amount_accuracy(model, evaluate.test_fields(60))["accuracy"]) * 60)
    assert out["error_sheet"]["wrong"] == wrong == sum(out["errors"].values()) > 0
    image = cv2.imread(str(sheet), cv2.IMREAD_GRAYSCALE)
    assert image.shape == ((error_sheet.HEADER + error_sheet.ROW_HEIGHT) * wrong, error_sheet.WIDTH)
    # the rows are the wrong fields, with the reasons eval counted
    rows = error_sheet.wrong_readings(model, evaluate.test_fields(60))
    assert all(reading != f.text for f, reading, _ in rows)
    assert {k: sum(why == k for *_, why in rows) for k in out["errors"]} == out["errors"]


def test_eval_errors_sheet_refuses_a_bad_path_before_any_work(tmp_path, capsys):
    assert cli.main(["eval", "ocr", "--errors", str(tmp_path / "wrong.jpg")]) != 0
    assert cli.main(["eval", "ocr", "--errors", str(tmp_path / "no" / "wrong.png")]) != 0
    err = capsys.readouterr().err
    assert "ending in .png" in err and "no such folder" in err and "Traceback" not in err


@pytest.mark.parametrize("flags, named", [
    (["--cut-target", "anywhere"], "--cut-target"), (["--cut-gate", "-1"], "--cut-target"),
    (["--alt-cut-target", "anywhere"], "--alt-cut-target"), (["--alt-cut-gate", "-1"], "--alt-cut-gate"),
    (["--alt-heuristic-width", "-1"], "--alt-heuristic-width"),
    (["--alt-cutter", "-4"], "--alt-cutter"), (["--alt-heuristic", "2"], "--alt-heuristic"),
    (["--alt-heuristic", "1", "--cutter", "0"], "--alt-heuristic")])
def test_train_refuses_a_bad_cut_finder_option_in_one_line(flags, named, tmp_path, capsys):
    assert cli.main(["train", "ocr", *flags, "--out", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0]
    assert not (tmp_path / "out").exists()               # nothing trained, nothing written


@pytest.mark.parametrize("flags, named", [(["--span-touch-rate", "1.5"], "--span-touch-rate"),
                                          (["--gtn-steps", "-1"], "--gtn-steps")])
def test_train_refuses_a_bad_training_option_in_one_line(flags, named, tmp_path, capsys):
    assert cli.main(["train", "ocr", *flags, "--out", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0]
    assert not (tmp_path / "out").exists()


@needs_model
def test_gtn_training_from_a_models_pretrained_recognizer(tmp_path, capsys):
    # --init: the cut finder and the pre-trained recognizer are the shipped model's, bit for bit;
    # only the GTN recognizer is new, and the card says where it started from
    from safetensors.numpy import load_file
    out = tmp_path / "out"
    assert cli.main(["train", "ocr", "--init", "amounts", "--gtn-steps", "2", "--gtn-batch", "2",
                     "--gtn-val", "4", "--gtn-eval-every", "1", "--eval-amounts", "5", "--name", "mine",
                     "--out", str(out)]) == 0
    shipped, mine = load_file(str(MODEL)), load_file(str(out / "mine.safetensors"))
    assert set(shipped) == set(mine)
    for k in shipped:             # the cut finders and the pair reader (if any) come along as they are
        if not k.startswith("gtn."):
            assert np.array_equal(shipped[k], mine[k]), k
    card = json.loads((out / "mine.json").read_text())
    shipped_card = json.loads(MODEL.with_suffix(".json").read_text())
    assert card["config"] == {**LeNetConfig().__dict__, **shipped_card["config"]}
    assert card["extra"]["init"]["sha256"] == shipped_card["sha256"]
    assert card["extra"]["init"]["train_command"] == shipped_card["train_command"]
    assert card["train_command"].startswith("seqlab train ocr --init amounts --gtn-steps 2")
    assert "--fields" not in card["train_command"]


@pytest.mark.parametrize("flags, named", [(["--init", "no-such-model"], "no-such-model"),
                                          (["--init", "amounts", "--c1", "32"], "--c1")])
def test_init_refuses_a_missing_model_or_a_new_architecture_in_one_line(flags, named, tmp_path, capsys):
    assert cli.main(["train", "ocr", *flags, "--out", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0]
    assert not (tmp_path / "out").exists()
