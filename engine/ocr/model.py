"""The recognizer: a LeNet-5 family CNN over one candidate character (LeCun et al. 1998).

Input: a 28x28 size-normalized image of the ink of 1-4 consecutive segments (MNIST style: fit in
20x20, centred by centre of mass), plus 5 geometry numbers that normalization throws away but a
reader needs — height / line height, vertical offset / line height, width / line height, so that
a "." is not a "0" and a "," is not a "1"; and whether the left / right side of the span is a cut
through ink, so that a stroke cut out of a "7" need not pass for a "1". Output: 13 scores, the 10
digits, "." and ",", and NOT_A_CHAR for bad segments (a piece of a digit, two digits together),
as in the 1998 paper's heuristic over-segmentation, where the recognizer must learn to say "this
is not a character". Two measured options, off by default: batch norm, and a second input
channel showing the span in its surroundings (LeNetConfig.context).
"""
from __future__ import annotations

import copy
import dataclasses

import torch
import torch.nn as nn
import torch.nn.functional as F

from engine.ocr.cutter import GATE, CutNet, Cutter
from engine.ocr.fast_conv import conv_bn, max_pool_2x2
from engine.ocr.pairs import Attached, PairNet, PairReader
from engine.ocr.segment import HeuristicAbove

NUM_CLASSES = 13              # 0-9, '.', ',', NOT_A_CHAR
NOT_A_CHAR = 12
NUM_GEOMETRY = 5


@dataclasses.dataclass
class LeNetConfig:
    c1: int = 20              # feature maps of the first 5x5 convolution (LeNet-5: 6)
    c3: int = 50              # feature maps of the second 5x5 convolution (LeNet-5: 16)
    f5: int = 256             # hidden units of the fully connected layer (LeNet-5: 120)
    dropout: float = 0.25     # on the f5 layer, while training
    batchnorm: int = 0        # 1: batch normalization after each convolution, its statistics
                              # frozen during GTN training (docs/OCR_NOTEBOOK.md run 8a: better digits,
                              # not better amounts)
    context: int = 0          # 1: a second input channel, the span seen in its surroundings
                              # (spans.ContextField: does the ink go on past the span's edges?)
    cutter: int = 16          # channels of the learned cut finder its segmentations come from
                              # (engine/ocr/cutter.py); 0: the heuristic projection-minimum cuts
    cut_gate: float = GATE    # × digit height: narrower components keep the heuristic cuts
                              # (files from before this field: cutter.GATE, what they were trained with)
    amount_form: int = 0      # 1: a reading that is no amount's form is read again as the best path
                              # that is, a small mark may then be left out (grammar.py; --init may set it)
    span_width: float = 1.6   # × digit height: the widest span read as one character, and
    span_pieces: int = 4      # the most segments it may join (spans.py; both may change with --init:
                              # 1.8 and 5 let a long-barred "5" or a "0" cut in five be read whole,
                              # docs/OCR_NOTEBOOK.md stop 24)
    # alternative segmentations decoded in the same lattice (engine/ocr/alternatives.py), trained
    # after the recognizer: they change decoding, not the recognizer's weights
    alt_heuristic: int = 0    # 1: also the heuristic projection-minimum cuts ...
    alt_heuristic_width: float = 1.5   # ... in components at least this many digit heights wide
                                       # (narrower ones keep the model's own cuts: no extra spans)
    alt_cutter: int = 0       # channels of a second learned cut finder ("cut2.*"; 0: none)
    alt_cut_gate: float = GATE   # its gate (× digit height)
    # the pair reader (engine/ocr/pairs.py: two touching digits read as one image; "pair.*"),
    # trained after the recognizer, like the alternative segmentations
    pair_reader: int = 0      # 1: its spans and arcs join the lattice
    pair_scale: float = 1.0   # its arc weight = pair_scale · log P(pair) + pair_offset,
    pair_offset: float = -1.0  # calibrated on validation amounts (engine/ocr/train_pairs.py)
    pair_top: int = 5         # pairs per pair span in the lattice (--pair-top; 2 reads as well as 5
                              # and costs less at the decode's p95: docs/OCR_NOTEBOOK.md, stop 23)
    pair_pieces: int = 6      # cut pieces per pair span when decoding, at most (--pair-pieces; the
                              # reader trains on up to pairs.MAX_PIECES; 3 reads as well, faster)

DECODING = ("pair_top", "pair_pieces", "span_width", "span_pieces", "amount_form")   # decoding options --init may change without retraining

CALIBRATED = ("pair_scale", "pair_offset")   # set by training, not by flags


class LeNet(nn.Module):
    def __init__(self, config: LeNetConfig = LeNetConfig()):
        super().__init__()
        self.config = config
        self.c1 = nn.Conv2d(2 if config.context else 1, config.c1, 5)   # 28 → 24, pooled to 12
        self.c3 = nn.Conv2d(config.c1, config.c3, 5)         # 12 → 8, pooled to 4
        self.f5 = nn.Linear(config.c3 * 4 * 4 + NUM_GEOMETRY, config.f5)
        self.out = nn.Linear(config.f5, NUM_CLASSES)
        self.drop = nn.Dropout(config.dropout)
        self.bn1 = nn.BatchNorm2d(config.c1) if config.batchnorm else nn.Identity()
        self.bn3 = nn.BatchNorm2d(config.c3) if config.batchnorm else nn.Identity()
        # the segmenter's cut finder (cutter.Cutter, a plain object: not this network's parameters),
        # attached by training or loading; decoding and GTN training segment with it
        self.cutter = None
        self.alt_cutter = None    # the second cut finder (config.alt_cutter), likewise attached
        self.pair = None          # the pair reader's PairNet (config.pair_reader) in a pairs.Attached

    @property
    def pair_reader(self):
        """The pair reader decoding uses (pairs.PairReader), or None."""
        if not self.config.pair_reader or self.pair is None:
            return None
        c = self.config
        return PairReader(self.pair.net, c.pair_scale, c.pair_offset, c.pair_top, c.pair_pieces)

    def cut_finders(self) -> list:
        """The cut finders whose segmentations the lattice holds, the model's own first (a
        cutter.Cutter, or None for the heuristic cuts; segment.HeuristicAbove for the heuristic
        cuts of the wide components as an alternative)."""
        finders = [self.cutter]
        if self.alt_cutter is not None:
            finders.append(self.alt_cutter)
        if self.config.alt_heuristic and self.cutter is not None:
            finders.append(HeuristicAbove(self.config.alt_heuristic_width))
        return finders

    def with_heuristic_cuts(self, on: bool = True) -> "LeNet":
        """The same recognizer (the same weights, shared) decoding with or without the heuristic
        cuts as an alternative segmentation in its lattice (engine/ocr/alternatives.py)."""
        twin = copy.copy(self)
        twin.config = dataclasses.replace(self.config, alt_heuristic=int(on))
        return twin

    def freeze_batchnorm(self) -> "LeNet":
        """Keep the normalization statistics of pre-training (GTN steps see one amount's spans,
        mostly pieces of digits: their batch statistics are not the data's)."""
        for m in (self.bn1, self.bn3):
            m.eval()
        return self

    def forward(self, images: torch.Tensor, geometry: torch.Tensor) -> torch.Tensor:
        """images (B, 28, 28) in [0, 1] ink-high — (B, 2, 28, 28) with the context channel —,
        geometry (B, 5) → log-probabilities (B, 13)."""
        x = images.unsqueeze(1) if images.dim() == 3 else images  # (B, channels, 28, 28)
        if torch.is_grad_enabled():
            # training keeps torch's pooling, so that `seqlab train` reproduces its weights bit for bit
            x = F.max_pool2d(F.relu(self.bn1(self.c1(x))), 2)    # (B, c1, 12, 12)
            x = F.max_pool2d(F.relu(self.bn3(self.c3(x))), 2)    # (B, c3, 4, 4)
        else:
            # decoding: the same numbers, faster — channels-last convolutions, the frozen batch
            # norm folded into them (conv_bn), and pooling before the ReLU (they commute) as the
            # max of four strided views (torch's CPU max_pool2d is slower than that on these small
            # maps: docs/BENCHMARKS.md, OCR decode latency)
            x = x.contiguous(memory_format=torch.channels_last)
            x = F.relu(max_pool_2x2(conv_bn(self.c1, self.bn1, x)))
            x = F.relu(max_pool_2x2(conv_bn(self.c3, self.bn3, x)))
        x = torch.cat([x.contiguous().flatten(1), geometry], dim=1)   # (B, c3*16 + 5)
        x = self.drop(F.relu(self.f5(x)))
        return F.log_softmax(self.out(x), dim=1)


def to_tensors(model: LeNet, prefix: str = "", half: bool = True) -> dict:
    """State dict for safetensors (fp16 halves the file; costs nothing at this precision)."""
    return {prefix + k: (v.half() if half and v.is_floating_point() else v)
            for k, v in model.state_dict().items()}


def cutter_tensors(model: LeNet, half: bool = False) -> dict:
    """The cut finders' weights, under "cut." and "cut2." (none with the heuristic cuts), and the pair
    reader's under "pair."; float32 by default: 40 KB (+ 680 KB for the pair reader), and segmenting
    with rounded weights could move a cut by a pixel from where training put it."""
    out = {}
    for prefix, finder in (("cut.", model.cutter), ("cut2.", model.alt_cutter)):
        if finder is not None:
            out.update({prefix + k: (v.half() if half else v) for k, v in finder.net.state_dict().items()})
    if model.pair is not None:
        out.update({"pair." + k: v for k, v in model.pair.net.state_dict().items()})
    return out


def from_tensors(tensors: dict, config: dict, prefix: str = "") -> LeNet:
    config = {"cutter": 0, **config}          # files from before the cut finder: heuristic cuts
    model = LeNet(LeNetConfig(**config))
    state = {k[len(prefix):]: v.float() for k, v in tensors.items() if k.startswith(prefix)}
    model.load_state_dict(state)
    cut = {k[4:]: v.float() for k, v in tensors.items() if k.startswith("cut.")}
    if model.config.cutter and cut:          # saved without its cut finder: the heuristic cuts
        net = CutNet(model.config.cutter)
        net.load_state_dict(cut)
        model.cutter = Cutter(net, model.config.cut_gate)
    cut2 = {k[5:]: v.float() for k, v in tensors.items() if k.startswith("cut2.")}
    if model.config.alt_cutter:
        if not cut2:
            raise KeyError("the config names a second cut finder (alt_cutter) the file lacks (cut2.*)")
        net = CutNet(model.config.alt_cutter)
        net.load_state_dict(cut2)
        model.alt_cutter = Cutter(net, model.config.alt_cut_gate)
    pair = {k[5:]: v.float() for k, v in tensors.items() if k.startswith("pair.")}
    if model.config.pair_reader:
        if not pair:
            raise KeyError("the config names a pair reader (pair_reader) the file lacks (pair.*)")
        net = PairNet()
        net.load_state_dict(pair)
        model.pair = Attached(net.to(memory_format=torch.channels_last).eval())
    # channels-last convolution weights (with the channels-last input of forward's decoding path)
    # keep torch's CPU kernels in the fast layout end to end: the CNN decodes ~1.5x faster
    return model.to(memory_format=torch.channels_last).eval()
