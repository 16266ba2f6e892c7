"""The widest span read as one character and the most segments it may join (LeNetConfig.span_width,
span_pieces): what they add to the lattice, and how --init changes them without retraining."""
import json

import numpy as np
import pytest

from engine import cli
from engine.ocr import checks, graph, segment


@pytest.fixture(scope="module")
def bank():
    return checks.DigitBank("test")


def span_widths(seg, cands):
    """Each span's width in digit heights (one segmentation: span (k, m) is segments k..m-1)."""
    return {(k, m): (max(p.box[2] for p in seg.segments[k:m]) - min(p.x0 for p in seg.segments[k:m])) / seg.height
            for k, m in cands.spans}


def touching_segmentations(bank, seed: int, n: int = 40):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        f = checks.make_field(rng, bank, touch_rate=1.0)
        yield segment.segment(f.image, f.owner)


def test_a_wider_limit_adds_exactly_the_spans_between_the_two_widths(bank):
    added = 0
    for seg in touching_segmentations(bank, 5):
        narrow, wide = graph.candidates(seg, max_width=1.6), graph.candidates(seg, max_width=2.0)
        widths = span_widths(seg, wide)
        extra = set(wide.spans) - set(narrow.spans)
        assert set(narrow.spans) <= set(wide.spans)
        # only spans of several segments have a limit: one segment is always a span
        assert all(m - k > 1 and 1.6 < widths[(k, m)] <= 2.0 for k, m in extra)
        assert all(widths[s] <= 1.6 for s in narrow.spans if s[1] - s[0] > 1)
        added += len(extra)
    assert added > 0


def test_more_pieces_add_exactly_the_spans_of_that_many_segments(bank):
    added = 0
    for seg in touching_segmentations(bank, 6):
        four, five = graph.candidates(seg, max_pieces=4), graph.candidates(seg, max_pieces=5)
        extra = set(five.spans) - set(four.spans)
        assert set(four.spans) <= set(five.spans) and all(m - k == 5 for k, m in extra)
        assert all(m - k <= 4 for k, m in four.spans)
        added += len(extra)
    assert added > 0


def test_init_changes_the_span_limits_and_keeps_the_weights(seqlab_home):
    from safetensors.numpy import load_file
    from engine import paths
    from engine.ocr import task
    out = paths.user_models() / "ocr"
    assert cli.main(["train", "ocr", "--init", "amounts", "--gtn-steps", "0", "--span-width", "1.8",
                     "--span-pieces", "5", "--eval-amounts", "5", "--name", "wide"]) == 0
    card = json.loads((out / "wide.json").read_text())
    assert card["config"]["span_width"] == 1.8 and card["config"]["span_pieces"] == 5
    assert "--span-width 1.8 --span-pieces 5" in card["train_command"]
    shipped = task.load("amounts")
    before = load_file(str(task.cards.find_model("ocr", "amounts").with_suffix(".safetensors")))
    after = load_file(str(out / "wide.safetensors"))
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    # the model decodes with its own limit
    wide = task.load("wide")
    assert graph.span_options(wide.gtn) == {"context": False, "max_width": 1.8, "max_pieces": 5}
    assert graph.span_options(shipped.gtn)["max_width"] == shipped.gtn.config.span_width
    assert cli.main(["train", "ocr", "--init", "amounts", "--gtn-steps", "0", "--span-width", "0.5",
                     "--eval-amounts", "5", "--name", "bad"]) != 0
