"""The alternative readings a decode lists (graph.distinct_readings): distinct texts, best first."""
from engine import lattice
from engine.ocr import graph
from engine.ocr.checks import CHARSET


def test_alternative_readings_are_distinct_texts_and_a_wider_search_finds_them():
    # six steps, each read "1" by two parallel arcs (two segmentations of the same ink) or "7"
    # far below: the 25 best paths all spell "111111" (64 paths do); the wider search looks at
    # up to 400 and finds the readings with one "7"
    one, seven = CHARSET.index("1"), CHARSET.index("7")
    arcs = [a for k in range(6) for a in ((k, k + 1, one, 0.0), (k, k + 1, one, -0.01), (k, k + 1, seven, -5.0 - k))]
    g = lattice.Acceptor.from_arcs(7, arcs)
    assert graph.distinct_readings(g, "111111", 5) == []
    wider = graph.distinct_readings(g, "111111", 5, wider=True)
    assert [t for t, _, _ in wider] == ["711111", "171111", "117111", "111711", "111171"]
    assert all(graph.path_text(g, p) == t and abs(float(lattice.path_score(g, p)) - s) < 1e-9 for t, s, p in wider)
