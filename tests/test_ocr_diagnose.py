"""`seqlab eval ocr --diagnose`: oracle segmentation and the model-free clean-path check."""
import json

import numpy as np

from engine import cli
from engine.ocr import checks, diagnose, graph, train
from engine.ocr.segment import Piece, Segmentation, segment

from test_ocr_cli import needs_model


def _field(text, touching, seed=3):
    return checks.make_field(np.random.default_rng(seed), checks.DigitBank("train"), text=text,
                             touching=touching, noise=False)


def test_separate_digits_have_a_clean_path():
    f = _field("407", touching=False)
    cands = graph.candidates(segment(f.image, f.owner))
    assert diagnose.clean_path_exists(cands, "407")
    assert {graph.CHARSET[t] for t in diagnose.span_truth(cands, "407") if t >= 0} == set("407")
    assert not diagnose.clean_path_exists(cands, "4077")         # a character that drew nothing


def test_two_digits_in_one_piece_have_no_clean_path():
    f = _field("38", touching=True)
    seg = segment(f.image, f.owner)
    ys, xs = np.nonzero(seg.ink)
    whole = Piece(int(xs.min()), int(ys.min()), seg.ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1])
    merged = Segmentation(seg.ink, [whole], [], seg.height, seg.center_y, seg.owner)
    cands = graph.candidates(merged)
    assert len(cands.spans) == 1 and diagnose.span_truth(cands, "38") == [-1]
    assert not diagnose.clean_path_exists(cands, "38")


@needs_model
def test_diagnose_counts_add_up(capsys):
    assert cli.main(["eval", "ocr", "--json", "--diagnose", "--validation", "15"]) == 0
    out = json.loads(capsys.readouterr().out)
    from engine.ocr import task
    fields = train.val_fields(15, seed=task.VALIDATION_SEED)
    assert out["n"] == 15
    assert out["viterbi_accuracy"] == round(train.amount_accuracy(task.load().gtn, fields)["accuracy"], 4)
    # one oracle span per character of every amount that some path reads
    readable = [f for f in fields if f.text and graph.truth_spans(
        graph.decode(task.load().gtn, f.image, n_alternatives=0, posterior=False), f.text)]
    spans = sum(v["spans"] for v in out["oracle_char_error_by_span_sides"].values())
    assert spans == sum(len(f.text) for f in readable)
    assert 0 <= out["clean_path_rate"] <= 1 and out["oracle_segmentation_accuracy"] <= 1
