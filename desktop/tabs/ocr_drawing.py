"""What the OCR tab draws by itself: scripted handwriting and the over-segmentation picture.

Both are plain drawing, apart from the tab's wiring: the demo and the self-test write an amount
with scripted strokes (no data needed), and each reading is shown as the normalized field with
its segments in colours, the cuts (which bend around strokes) dashed in red — the alternative
segmentations' cuts dotted in blue and green — and the boxes of the highlighted path in orange.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap, QPolygon

# Handwriting for demos and the self-test (no data needed): strokes in a unit box per character.
GLYPHS = {
    "1": [[(0.35, 0.2), (0.6, 0.03), (0.6, 0.97)]],
    "2": [[(0.1, 0.25), (0.3, 0.04), (0.7, 0.04), (0.88, 0.25), (0.75, 0.5), (0.1, 0.96), (0.92, 0.96)]],
    "5": [[(0.85, 0.04), (0.25, 0.04), (0.18, 0.45), (0.6, 0.38), (0.88, 0.6), (0.72, 0.92), (0.15, 0.9)]],
    "7": [[(0.08, 0.05), (0.92, 0.05), (0.4, 0.97)]],
    "0": [[(0.5 + 0.4 * np.cos(t), 0.5 + 0.47 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 25)]],
    ".": [[(0.2, 0.9), (0.25, 0.93)]],
    ",": [[(0.45, 0.84), (0.5, 0.9), (0.42, 1.0), (0.2, 1.12)]],
}
DEMO_AMOUNT = "1,250.70"
PAIR_SHOWN = -5.0          # pair arcs weighing less are drawn only on a highlighted path


def scripted_strokes(text: str, stroke_width: float) -> list:
    """[(points, pen width)] writing `text` left to right on the canvas (characters GLYPHS has)."""
    strokes, x, size = [], 40.0, 140.0
    for ch in text:
        for stroke in GLYPHS.get(ch, []):
            w = size * (0.3 if ch in ".," else 0.62)
            pen = stroke_width * (1.8 if ch in ".," else 1.0)      # marks are blobs
            strokes.append(([(x + px * w, 50 + py * size) for px, py in stroke], pen))
        x += size * (0.3 if ch in ".," else 0.8)
    return strokes


def segmentation_pixmap(cands, path_spans: dict, base_font: QFont, pair_boxes: list = ()) -> QPixmap:
    """The normalized field ×3: segments in colours, cuts dashed, `path_spans` {span: label} boxed
    in orange, and `pair_boxes` [(box, "ab")] — touching digits read together — in purple."""
    seg = cands.seg
    h, w = seg.ink.shape
    rgb = np.full((h, w, 3), 255, np.uint8)
    palette = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (140, 86, 75),
               (227, 119, 194), (23, 190, 207), (188, 189, 34)]
    for i, piece in enumerate(seg.segments):
        ph, pw = piece.mask.shape
        rgb[piece.y0:piece.y0 + ph, piece.x0:piece.x0 + pw][piece.mask] = palette[i % len(palette)]
    scale = 3
    img = QImage(np.ascontiguousarray(rgb).data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    pix = QPixmap.fromImage(img).scaled(w * scale, h * scale)
    p = QPainter(pix)
    # the model's own cuts dashed red; the alternative segmentations' (engine/ocr/alternatives.py),
    # which the lattice also holds, dotted in blue and green — drawn first, under the red ones
    styles = [(QColor(220, 0, 0), Qt.PenStyle.DashLine), (QColor(31, 119, 180), Qt.PenStyle.DotLine),
              (QColor(44, 160, 44), Qt.PenStyle.DotLine)]
    segs = cands.segs or [seg]
    for i in reversed(range(len(segs))):
        color, style = styles[min(i, len(styles) - 1)]
        p.setPen(QPen(color, 2, style))
        for cut in segs[i].cuts:                  # (rows, 2) points (x, y): cuts bend around strokes
            p.drawPolyline(QPolygon([QPoint(int(x) * scale, int(y) * scale) for x, y in cut]))
    font = QFont(base_font)
    font.setPointSizeF(14)
    font.setBold(True)
    p.setFont(font)
    boxed = [(cands.boxes[span], label, QColor(255, 127, 14)) for span, label in path_spans.items()]
    for (x0, y0, x1, y1), label, color in boxed + [(b, t, QColor(148, 103, 189)) for b, t in pair_boxes]:
        p.setPen(QPen(color, 3))
        p.drawRect(x0 * scale, y0 * scale, (x1 - x0) * scale, (y1 - y0) * scale)
        p.drawText(x0 * scale + 2, max(16, y0 * scale - 2), label)
    p.end()
    return pix


def segments_text(cands) -> str:
    """"10 segments", or with alternative segmentations "3 segmentations (10, 11, 12 segments)"."""
    if len(cands.segs) <= 1:
        return f"{len(cands.seg.segments)} segments"
    return f"{len(cands.segs)} segmentations ({', '.join(str(len(s.segments)) for s in cands.segs)} segments)"


def path_labels(reading, path) -> tuple[dict, list]:
    """{span: character} of the path's arcs over the recognizer's spans ("×" for a mark the reading
    leaves out), and [(pair span, box, "ab")] of its pair arcs (engine/ocr/pairs.py: two touching
    digits read as one)."""
    from engine.ocr.checks import CHARSET
    from engine.ocr.graph import arc_unit
    spans, pairs = {}, {}
    for a in path:
        kind, i = arc_unit(reading.cands, a, reading.pair_top)
        char = CHARSET[int(reading.graph.label[a])]
        if kind == "span":
            spans[i] = char
        else:
            pairs[i] = pairs.get(i, "") + char
    if reading.skipped and list(path) == list(reading.path):
        spans.update({i: "×" for i in reading.skipped})      # marks the reading leaves out (grammar.py)
    return spans, [(j, reading.cands.pairs.boxes[j], t) for j, t in pairs.items()]


def pair_thumbs(reading) -> list:
    """[((k, m), image, "73 -0.1", shown)] of the pair spans: the pair reader's best pair and its arc
    weight; `shown` when that weight is above PAIR_SHOWN (a field has ~6 pair spans, most of them
    hopeless: the lattice view draws those only when a path takes them)."""
    pairs = reading.cands.pairs
    if not reading.pair_arcs:
        return []
    best = reading.pair_arcs[::reading.pair_top]                  # each pair span's best pair, in order
    return [(span, image, f"{a}{b} {w:.1f}", w > PAIR_SHOWN)
            for span, image, (_, _, a, b, w) in zip(pairs.spans, pairs.images, best)]
