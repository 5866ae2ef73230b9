"""The network of the NATS-Bench size space (Dong et al., TPAMI 2021; its "infer.shape.tiny" model).

    3x3 conv (c0 channels) + BatchNorm
    cell (-> c0) -> residual reduction (-> c1) -> cell (-> c2) -> residual reduction (-> c3) -> cell (-> c4)
    BatchNorm + ReLU -> global average pooling -> linear classifier

Each cell is the fixed NAS-Bench-201 topology. A cell may change the channel count: the edges leaving its
input map C_in -> C_out (a skip edge becomes a 1x1 conv + BatchNorm when they differ), every other edge
works at C_out. The benchmark has one cell per stage; `cells_per_stage` > 1 repeats each stage's cell at
that stage's width, and `channel_divisor` > 1 divides every width (size settings for quick experiments,
not part of the benchmark).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from darts.ops import ReLUConvBN
from darts.spaces.common.nb201_arch import EDGES, parse_arch
from darts.spaces.common.nb201_cell import Nb201Cell
from darts.spaces.common.nb201_skeleton import ResidualReduction
from darts.spaces.nats_sss.arch import TOPOLOGY, SizeArch


def edge_op(op: str, C_in: int, C_out: int) -> nn.Module:
    """A NAS-Bench-201 operation from C_in to C_out channels (stride 1)."""
    if op == "nor_conv_3x3":
        return ReLUConvBN(C_in, C_out, 3, 1, 1, affine=True)
    if op == "nor_conv_1x1":
        return ReLUConvBN(C_in, C_out, 1, 1, 0, affine=True)
    if op == "skip_connect":
        if C_in == C_out:
            return nn.Identity()
        return nn.Sequential(nn.Conv2d(C_in, C_out, 1, bias=False), nn.BatchNorm2d(C_out))
    raise ValueError(f"the size-space cell has no {op!r} edge")


def size_cell(C_in: int, C_out: int, topology: str = TOPOLOGY) -> Nb201Cell:
    arch = parse_arch(topology)
    return Nb201Cell([edge_op(op, C_in if source == 0 else C_out, C_out) for op, (_, source) in zip(arch.ops, EDGES)])


class NatsSizeNetwork(nn.Module):
    def __init__(self, arch: SizeArch, num_classes: int = 10, in_channels: int = 3, cells_per_stage: int = 1,
                 channel_divisor: int = 1):
        super().__init__()
        c = [max(1, w // channel_divisor) for w in arch.channels]
        self.arch = arch
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c[0], 3, padding=1, bias=False), nn.BatchNorm2d(c[0]))
        layers, C_prev = [], c[0]
        for stage, C_stage in enumerate((c[0], c[2], c[4])):
            if stage > 0:
                layers.append(ResidualReduction(C_prev, c[2 * stage - 1]))
                C_prev = c[2 * stage - 1]
            for _ in range(cells_per_stage):
                layers.append(size_cell(C_prev, C_stage))
                C_prev = C_stage
        self.layers = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(C_prev), nn.ReLU(inplace=False))
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.lastact(self.layers(self.stem(x)))
        return self.classifier(h.mean(dim=(2, 3)))
