"""A contact sheet of the amounts a model reads wrong (`seqlab eval ocr --errors FILE.png`).

The accuracy figures say how many amounts are wrong; this shows which: each wrong field's image
under a line with the true amount, the reading and why it is wrong (recognition / segmentation /
no path, as `seqlab eval ocr` counts them). It is how to judge what is left — a digit a person
reads at a glance, or one nobody could read with confidence.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engine import cards
from engine.ocr import evaluate
from engine.ocr.model import LeNet

ROW_HEIGHT = 64               # px of field image per row
HEADER = 22                   # px of text above it
WIDTH = 640                   # px; wider fields are shrunk to fit
MAX_ROWS = 80                 # a sheet stays a few thousand pixels tall


def wrong_readings(model: LeNet, fields: list) -> list[tuple]:
    """(field, reading text, why) for every field read wrong, in order."""
    return [(f, "", "no_path") if reading is None else (f, reading.amount, evaluate.why_wrong(model, f.image, f.text))
            for f, reading in evaluate.readings(model, fields) if reading is None or reading.amount != f.text]


def _row(field, reading: str, why: str) -> np.ndarray:
    gray = field.image if field.image.ndim == 2 else cv2.cvtColor(field.image, cv2.COLOR_BGR2GRAY)
    scale = min(ROW_HEIGHT / gray.shape[0], WIDTH / gray.shape[1])
    img = cv2.resize(gray, (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale))),
                     interpolation=cv2.INTER_AREA)
    row = np.full((HEADER + ROW_HEIGHT, WIDTH), 255, np.uint8)
    row[HEADER:HEADER + img.shape[0], :img.shape[1]] = img
    text = f"truth {field.text}   read {reading or '(nothing)'}   {why}" + ("   touching" if field.touching else "")
    cv2.putText(row, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 0, 1, cv2.LINE_AA)
    row[-1] = 200                                      # a rule between rows
    return row


def check_path(path: str) -> Path:
    """The sheet's path, refused before any work if it cannot be written as a PNG there."""
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise ValueError(f"--errors writes a PNG image: give a file name ending in .png, not {path!r}")
    if not target.parent.is_dir():
        raise ValueError(f"--errors: no such folder {str(target.parent)!r}")
    if target.is_dir():                  # (found only when writing, after the whole evaluation)
        raise ValueError(f"--errors {path} is a folder: give a file name ending in .png")
    cards.check_folder(target.parent, what="the error sheet")        # e.g. a read-only folder
    return target


def write_sheet(model: LeNet, fields: list, path: str) -> dict:
    """Write the sheet of `fields`' wrong readings to `path` (PNG, atomically); what it holds."""
    target = check_path(path)
    wrong = wrong_readings(model, fields)
    rows = [_row(*w) for w in wrong[:MAX_ROWS]]
    if not rows:                                       # nothing wrong: say so in the image too
        rows = [np.full((HEADER + 8, WIDTH), 255, np.uint8)]
        cv2.putText(rows[0], f"all {len(fields)} amounts read right", (4, 16),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, 0, 1, cv2.LINE_AA)
    ok, png = cv2.imencode(".png", np.vstack(rows))
    if not ok:
        raise ValueError("could not encode the error sheet")
    cards.atomic_write_bytes(target, png.tobytes())
    return {"path": str(target), "wrong": len(wrong), "shown": min(len(wrong), MAX_ROWS)}
