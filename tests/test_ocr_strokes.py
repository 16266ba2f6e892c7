"""Pen strokes through the segmenter: thin pens survive the rescaling, filled shapes are refused."""
import cv2
import numpy as np
import pytest

from engine.ocr import checks, graph, segment, strokes
from engine.ocr.task import load

from test_ocr_cli import needs_model


def thin_pen_70(width: int = 1) -> np.ndarray:
    """"70" written 140 px tall with a `width` px pen on the tab's 900x240 paper. (cv2's 2 px line
    survives the shrinking to 32 px; its 1 px one, like the tab's 2 px Qt pen, did not.)"""
    paper = np.full((240, 900), 255, np.uint8)
    cv2.polylines(paper, [np.array([[40, 50], [120, 50], [70, 190]], np.int32)], False, 0, width, cv2.LINE_AA)
    cv2.ellipse(paper, (200, 120), (45, 70), 0, 0, 360, 0, width, cv2.LINE_AA)
    return paper


def test_stroke_width_of_lines():
    ink = np.zeros((60, 200), bool)
    ink[20:24, 10:190] = True                        # a 4 px bar
    assert strokes.stroke_width(ink) == pytest.approx(4, rel=0.1)


@needs_model
def test_a_thin_pen_on_a_big_drawing_keeps_its_strokes():
    gray = thin_pen_70()
    ink = segment.binarize(gray)
    assert strokes.stroke_width(ink) * 32 / 140 < strokes.MIN_STROKE   # it would fall apart
    seg = segment.segment(gray)
    assert seg.height == pytest.approx(segment.TARGET_HEIGHT, abs=3)  # was: "draw an amount"
    assert graph.decode(load().gtn, gray).amount == "70"


def test_generated_amounts_are_never_thickened(monkeypatch):
    thickened = []
    keep = strokes.keep_strokes
    def spy(ink, scale):
        out = keep(ink, scale)
        thickened.append(out is not ink)
        return out
    monkeypatch.setattr(strokes, "keep_strokes", spy)
    bank, rng = checks.DigitBank("test"), np.random.default_rng(3)
    for _ in range(50):
        segment.segment(checks.make_field(rng, bank, touch_rate=0.5).image)
    assert len(thickened) == 50 and not any(thickened)   # training data stay as they were


def test_filled_shapes_are_not_read_as_an_amount():
    face = np.full((480, 640), 200, np.uint8)
    cv2.ellipse(face, (320, 240), (150, 200), 0, 0, 360, 90, -1)
    for eye in (270, 370):
        cv2.circle(face, (eye, 200), 20, 30, -1)
    with pytest.raises(ValueError, match="filled shapes"):
        segment.segment(face)          # was read as "00"
