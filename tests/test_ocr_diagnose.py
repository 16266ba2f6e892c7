"""`seqlab eval ocr --diagnose`: oracle segmentation and the model-free clean-path check."""
import json

import numpy as np

from engine import cli
from engine.ocr import checks, diagnose, evaluate, graph, train
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


def test_true_cuts_separate_touching_digits():
    rng, bank = np.random.default_rng(5), checks.DigitBank("train")
    fields = [checks.make_field(rng, bank, text=t, touching=True) for t in ("386", "2047", "15", "9,960")]
    cuts = 0
    for f in fields:
        cut = segment(f.image, f.owner, oracle_cuts=True)
        cuts += len(cut.cuts)
        assert diagnose.clean_path_exists(graph.candidates(cut), f.text), f.text
        ok, pairs = diagnose.row_separable_pairs(cut, f.text)
        assert pairs == sum(a.isdigit() and b.isdigit() for a, b in zip(f.text, f.text[1:])) and ok == pairs
    assert cuts >= 2              # some touching digits merged into one component, and were cut
    # without the owner map there is nothing to cut by: the ordinary segmenter runs
    assert len(segment(fields[0].image, oracle_cuts=True).segments) == len(segment(fields[0].image).segments)


def test_interleaved_rows_are_not_row_separable():
    ink = np.zeros((3, 6), bool)
    ink[:, 1:5] = True
    owner = np.full((3, 6), -1, np.int16)
    owner[:, 1:3], owner[:, 3:5] = 0, 1
    owner[1, 4] = 0                                     # character 0 reaches past character 1
    seg = Segmentation(ink, [], [], 3.0, 1.0, owner)
    assert diagnose.row_separable_pairs(seg, "12") == (0, 1)
    owner[1, 4] = 1
    assert diagnose.row_separable_pairs(seg, "12") == (1, 1)


@needs_model
def test_diagnose_counts_add_up(capsys):
    assert cli.main(["eval", "ocr", "--json", "--diagnose", "--validation", "15"]) == 0
    out = json.loads(capsys.readouterr().out)
    from engine.ocr import task
    fields = train.val_fields(15, seed=task.VALIDATION_SEED)
    assert out["n"] == 15
    assert out["viterbi_accuracy"] == round(evaluate.amount_accuracy(task.load().gtn, fields)["accuracy"], 4)
    # one oracle span per character of every amount that some path reads
    readable = [f for f in fields if f.text and graph.truth_spans(
        graph.decode(task.load().gtn, f.image, n_alternatives=0, posterior=False), f.text)]
    spans = sum(v["spans"] for v in out["oracle_char_error_by_span_sides"].values())
    assert spans == sum(len(f.text) for f in readable)
    assert 0 <= out["clean_path_rate"] <= 1 and out["oracle_segmentation_accuracy"] <= 1
    assert out["viterbi_by_touching"]["all"] == out["viterbi_accuracy"]
    assert 0 <= out["true_cuts"]["viterbi_accuracy"]["all"] <= 1
    assert 0 <= out["fragment_marks"]["read_right"] <= out["fragment_marks"]["amounts"] <= 15
    wrong = [(f.text, graph.decode(task.load().gtn, f.image, n_alternatives=0, posterior=False).amount)
             for f in fields]
    assert out["misreadings"] == diagnose.misreadings([(t, g) for t, g in wrong if t != g])
    assert "one_digit_fields" not in out                  # validation amounts: the test split unread


def test_misreadings_count_substitutions_and_malformed_amounts():
    got = diagnose.misreadings([("1,250.70", "7,250.70"), ("217", "817"), ("21", "2,1"), ("5", "05"),
                                ("3.50", "3.5"), ("88", "86")])
    assert got["wrong"] == 6 and got["same_length"] == 3
    assert got["substitutions"] == {"1>7": 1, "2>8": 1, "8>6": 1}
    assert got["not_an_amount_form"] == 3                 # "2,1", "05", "3.5"
    for amount in ("0", "7", "1234,567", "1,234,567.00", "0.50", "12.34"):
        assert diagnose.AMOUNT_FORM.fullmatch(amount)


@needs_model
def test_one_digit_fields_read_each_digit_alone():
    from engine.ocr import data, task
    model = task.load().gtn
    got = diagnose.one_digit_fields(model, n=40)
    x, y = data.load("test")
    direct = int((evaluate.digit_predictions(model, x[:40]) != y[:40]).sum())
    assert got["n"] == 40 and got["wrong_direct"] == direct
    assert got["direct_accuracy"] == round(1 - direct / 40, 4)
    assert got["field_accuracy"] == round(1 - got["wrong_in_field"] / 40, 4)
    assert got["wrong_both"] <= min(got["wrong_in_field"], direct)
    assert got["field_accuracy"] >= 0.9                   # a shipped model reads digits alone


def test_a_digits_fragment_taken_for_a_mark_is_counted():
    ink = np.zeros((10, 12), bool)
    ink[1:8, 1:4] = ink[6:8, 6:8] = ink[1:8, 9:11] = True
    segments = [Piece(1, 1, np.ones((7, 3), bool)), Piece(6, 6, np.ones((2, 2), bool), mark=True),
                Piece(9, 1, np.ones((7, 2), bool))]
    owner = np.full(ink.shape, -1, np.int16)
    owner[1:8, 1:4], owner[6:8, 6:8], owner[1:8, 9:11] = 0, 1, 2     # "4.7": the low bit is its '.'
    assert diagnose.fragment_marks(Segmentation(ink, segments, [], 7.0, 4.0, owner), "4.7") == 0
    owner[6:8, 6:8], owner[1:8, 9:11] = 0, 1                          # "47": it is a piece of the "4"
    assert diagnose.fragment_marks(Segmentation(ink, segments, [], 7.0, 4.0, owner), "47") == 1
