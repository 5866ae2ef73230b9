"""The network around NAS-Bench-201 cells, as the benchmark trained them.

    3x3 conv (C channels) + BatchNorm
    N cells at C   -> residual reduction -> N cells at 2C -> residual reduction -> N cells at 4C
    BatchNorm + ReLU -> global average pooling -> linear classifier

The benchmark used C = 16, N = 5. Cells keep channels and resolution; the reductions are ResNet basic
blocks with stride 2. Search and final networks share this skeleton and differ only in their cells.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

from darts.ops import ReLUConvBN
from darts.spaces.common.nb201_cell import Nb201Cell


class ResidualReduction(nn.Module):
    """ResNet basic block with stride 2: two ReLU-Conv-BN 3x3 plus an avg-pool + 1x1-conv shortcut.

    The shortcut pools with ceil_mode so odd sizes (7x7) agree with the strided conv; even sizes are
    unaffected.
    """

    def __init__(self, C_in: int, C_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(C_in, C_out, 3, 2, 1, affine=True)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1, 1, affine=True)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2, ceil_mode=True), nn.Conv2d(C_in, C_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class Nb201Skeleton(nn.Module):
    def __init__(self, make_cell: Callable[[int], Nb201Cell], C: int = 16, N: int = 5, num_classes: int = 10,
                 in_channels: int = 3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers, C_prev = [], C
        for stage, C_stage in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                layers.append(ResidualReduction(C_prev, C_stage))
            layers.extend(make_cell(C_stage) for _ in range(N))
            C_prev = C_stage
        self.layers = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(C_prev), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward_with(self, x: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        """Logits; `weights` (softmaxed alphas) go to every cell, None for a final network."""
        h = self.stem(x)
        for layer in self.layers:
            h = layer(h, weights) if isinstance(layer, Nb201Cell) else layer(h)
        h = self.global_pooling(self.lastact(h))
        return self.classifier(h.flatten(1))
