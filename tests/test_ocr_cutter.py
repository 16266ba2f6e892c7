"""The learned cut finder: its targets, its plans, its weights in the model file, and the shipped
one against the heuristic cuts."""
import dataclasses

import numpy as np
import torch

from engine.ocr import checks, cutter, diagnose, graph
from engine.ocr.model import LeNet, LeNetConfig, cutter_tensors, from_tensors, to_tensors
from engine.ocr.segment import segment

from test_ocr_cli import needs_model


def test_targets_are_the_columns_between_neighbours():
    mask = np.zeros((2, 8), bool)
    mask[:, [1, 2, 5, 6]] = True
    owner = np.full((2, 8), -1, np.int16)
    owner[:, 1:3], owner[:, 5:7] = 3, 4                     # characters 3 and 4 of the amount
    target = cutter.boundary_targets(mask, owner)
    assert target.tolist() == [[0, 0, 0, 1, 1, 1, 0, 0]] * 2     # after 3's last ink, up to 4's first
    owner[:, 5:7] = 5                                         # not neighbours in the amount: no cut
    assert cutter.boundary_targets(mask, owner).sum() == 0


def test_separating_targets_also_cover_rows_where_one_side_has_no_ink():
    mask = np.zeros((3, 8), bool)
    mask[0, [1, 2, 5, 6]] = True            # row 0: both characters
    mask[1, [1, 2]] = True                  # row 1: only the left one
    mask[2, [5, 6]] = True                  # row 2: only the right one
    owner = np.full((3, 8), -1, np.int16)
    owner[:, 1:3], owner[:, 5:7] = 3, 4
    assert cutter.separating_targets(mask, owner).tolist() == [
        [0, 0, 0, 1, 1, 1, 0, 0],           # after 3's last ink, up to 4's first (as boundary_targets)
        [0, 0, 0, 1, 1, 1, 1, 1],           # anywhere right of 3's ink
        [1, 1, 1, 1, 1, 1, 0, 0]]           # anywhere up to 4's first ink
    assert cutter.boundary_targets(mask, owner)[1:].sum() == 0    # the old targets: nothing there
    owner[:, 5:7] = 3                       # one character: nothing to separate
    assert cutter.separating_targets(mask, owner).sum() == 0


def test_the_gate_travels_with_the_model_config():
    model = LeNet(LeNetConfig(cutter=4, cut_gate=0.6))
    model.cutter = cutter.Cutter(cutter.CutNet(4), 0.6)
    tensors = {**to_tensors(model, "gtn.", half=False), **cutter_tensors(model)}
    assert from_tensors(tensors, dataclasses.asdict(model.config), "gtn.").cutter.gate == 0.6
    old = {k: v for k, v in dataclasses.asdict(model.config).items() if k != "cut_gate"}
    assert from_tensors(tensors, old, "gtn.").cutter.gate == cutter.GATE    # files from before: 0.9
    mask = np.ones((32, 25), bool)          # 0.78 H wide: the net at gate 0.6, the heuristic at 0.9
    assert cutter.Cutter(cutter.CutNet(4), 0.6).plan([mask], 32.0, [[12]])[0][1] is not None
    assert cutter.Cutter(cutter.CutNet(4), 0.9).plan([mask], 32.0, [[12]]) == [([12], None)]


def test_plan_cuts_where_the_net_sees_a_meeting_line():
    torch.manual_seed(0)
    net = cutter.CutNet(4)
    with torch.no_grad():                   # a net that answers "boundary" exactly on empty columns
        for p in net.parameters():
            p.zero_()
        net.l1.weight[0, 0, 1, 1] = -1.0    # channel 0 = relu(1 - ink) ...
        net.l1.bias[0] = 1.0
        for layer in (net.l2, net.l3, net.l4):
            layer.weight[0, 0, 1, 1] = 1.0  # ... passed through the dilated layers unchanged
        net.out.weight[0, 0] = 8.0
        net.out.bias[0] = -4.0
    cut = cutter.Cutter(net)
    mask = np.ones((32, 60), bool)
    mask[:, 29:31] = False                  # one empty double column in a wide component
    (starts, cost), = cut.plan([mask], 32.0)
    assert starts and all(28 <= x <= 31 for x in starts) and cost.shape == mask.shape
    assert cut.plan([np.ones((32, 10), bool)], 32.0) == [([], None)]   # narrow: never cut


def test_short_training_gives_a_cutter_that_segments_and_round_trips():
    gen = cutter.train_cutter(fields=20, steps=3, channels=4, seed=0)
    try:
        while True:
            next(gen)
    except StopIteration as stop:
        cut = stop.value
    f = checks.make_field(np.random.default_rng(2), checks.DigitBank("train"), text="4079", touching=True)
    seg = segment(f.image, cutter=cut)
    assert seg.segments and len(graph.candidates(seg).spans) >= 1
    # saved beside the recognizer's weights and loaded back: the same segmentation
    model = LeNet(LeNetConfig(cutter=4))
    model.cutter = cut
    tensors = {**to_tensors(model, "gtn.", half=False), **cutter_tensors(model, half=False)}
    loaded = from_tensors(tensors, dataclasses.asdict(model.config), "gtn.")
    again = segment(f.image, cutter=loaded.cutter)
    assert [p.box for p in again.segments] == [p.box for p in seg.segments]
    # a file from before the cut finder (no "cutter" in its config): heuristic cuts
    old = {k: v for k, v in dataclasses.asdict(model.config).items() if k != "cutter"}
    assert from_tensors(to_tensors(model, "gtn."), old, "gtn.").cutter is None


@needs_model
def test_shipped_cut_finder_offers_clean_readings_more_often_than_the_heuristic():
    from engine.ocr import task
    cut = task.load().gtn.cutter
    assert cut is not None
    rng, bank = np.random.default_rng(4242), checks.DigitBank("train")
    fields = [checks.make_field(rng, bank, touching=True) for _ in range(60)]
    learned = sum(diagnose.clean_path_exists(graph.candidates(segment(f.image, f.owner, cutter=cut)), f.text)
                  for f in fields)
    heuristic = sum(diagnose.clean_path_exists(graph.candidates(segment(f.image, f.owner)), f.text)
                    for f in fields)
    assert learned > heuristic
