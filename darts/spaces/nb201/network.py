"""The final NAS-Bench-201 network: every cell is the given architecture (C=16, N=5 as benchmarked)."""
from __future__ import annotations

import torch
import torch.nn as nn

from darts.spaces.common.nb201_arch import Nb201Arch, parse_arch
from darts.spaces.common.nb201_cell import Nb201Cell
from darts.spaces.common.nb201_ops import nb201_op
from darts.spaces.common.nb201_skeleton import Nb201Skeleton


def final_cell(arch: Nb201Arch, C: int) -> Nb201Cell:
    return Nb201Cell([nb201_op(op, C, affine=True) for op in arch.ops], active=[op != "none" for op in arch.ops])


class Nb201Network(Nb201Skeleton):
    def __init__(self, arch: Nb201Arch | str, C: int = 16, N: int = 5, num_classes: int = 10, in_channels: int = 3):
        arch = parse_arch(arch)
        super().__init__(lambda C_stage: final_cell(arch, C_stage), C, N, num_classes, in_channels)
        self.arch = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with(x, None)


def build_nb201_network(arch: Nb201Arch | str, in_channels: int, num_classes: int, C: int = 16,
                        N: int = 5) -> nn.Module:
    """The `build_network(arch, in_channels, num_classes)` callable the training evaluator expects."""
    return Nb201Network(arch, C=C, N=N, num_classes=num_classes, in_channels=in_channels)
