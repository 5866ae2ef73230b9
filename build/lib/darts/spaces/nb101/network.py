"""The network NAS-Bench-101 trained every cell in (Ying et al. 2019, section 2.1 and figure 1; its model_builder).

    3x3 conv-BN-ReLU stem (128 channels)
    3 stacks of 3 cells; 2x2 max-pool (stride 2) and doubled channels before the second and third stack
    global average pool -> dense layer

Inside a cell (on the pruned spec) channels are split so that the output, the concatenation of the
vertices feeding it, has the cell's channel count: those vertices get C // k channels (the first C % k one
more), every other vertex the largest count among the vertices it feeds, and a larger tensor feeding a
smaller vertex is truncated to its first channels. The cell input reaches each vertex through its own 1x1
conv-BN-ReLU projection and is added (also projected) to the output when the two are joined directly.
Vertices sum their inputs and then apply their op. Convolutions have no bias; BatchNorm has scale and shift.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from darts.errors import UserError
from darts.spaces.nb101.spec import CONV1X1, CONV3X3, MAXPOOL3X3, Matrix, ModelSpec

class ConvBnRelu(nn.Sequential):
    """BatchNorm keeps PyTorch's running-average momentum (0.1): the benchmark's decay of 0.997 only changes the
    running statistics, which then lag hundreds of steps behind, too slow for rewards after a few epochs."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int):
        super().__init__(nn.Conv2d(C_in, C_out, kernel_size, padding=kernel_size // 2, bias=False),
                         nn.BatchNorm2d(C_out), nn.ReLU(inplace=False))


def vertex_op(op: str, C: int) -> nn.Module:
    if op == CONV3X3:
        return ConvBnRelu(C, C, 3)
    if op == CONV1X1:
        return ConvBnRelu(C, C, 1)
    if op == MAXPOOL3X3:
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NAS-Bench-101 operation {op!r}")


def vertex_channels(C_in: int, C_out: int, matrix: Matrix) -> list[int]:
    """Output channels of every vertex of a pruned cell (the benchmark's compute_vertex_channels)."""
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[-1] = C_in, C_out
    if n == 2:
        return channels
    fan_in = sum(matrix[v][n - 1] for v in range(1, n - 1))  # the input's edge to the output is added, not concatenated
    base, extra = divmod(C_out, fan_in)
    if base == 0:
        raise UserError(f"a NAS-Bench-101 cell with {fan_in} vertices feeding its output needs at least {fan_in} "
                        f"channels, got {C_out}; raise --init_channels")
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            channels[v] = base + (1 if extra > 0 else 0)
            extra -= 1
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            channels[v] = max(channels[w] for w in range(v + 1, n - 1) if matrix[v][w])
    return channels


class Nb101Cell(nn.Module):
    def __init__(self, matrix: Matrix, ops: Sequence[str], C_in: int, C_out: int):
        """matrix, ops: a pruned, valid cell."""
        super().__init__()
        n = len(matrix)
        self.matrix, self.n = matrix, n
        self.channels = vertex_channels(C_in, C_out, matrix)
        self.projections = nn.ModuleDict({str(v): ConvBnRelu(C_in, C_out if v == n - 1 else self.channels[v], 1)
                                          for v in range(1, n) if matrix[0][v]})
        self.ops = nn.ModuleList([nn.Identity()] + [vertex_op(ops[v], self.channels[v]) for v in range(1, n - 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, m = self.n, self.matrix
        values = [x]
        for t in range(1, n - 1):
            terms = [values[s][:, :self.channels[t]] for s in range(1, t) if m[s][t]]
            if m[0][t]:
                terms.append(self.projections[str(t)](x))
            values.append(self.ops[t](sum(terms[1:], terms[0])))
        joined = [values[v] for v in range(1, n - 1) if m[v][n - 1]]
        out = torch.cat(joined, dim=1) if joined else None
        if m[0][n - 1]:
            projected = self.projections[str(n - 1)](x)
            out = projected if out is None else out + projected
        return out


class Nb101Network(nn.Module):
    """`spec` in the benchmark's skeleton: C = stem channels (128), `stacks` stacks of `cells_per_stack` cells."""

    def __init__(self, spec: ModelSpec, C: int = 128, stacks: int = 3, cells_per_stack: int = 3,
                 num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        matrix, ops = spec.validate().pruned
        self.spec = spec
        self.stem = ConvBnRelu(in_channels, C, 3)
        layers, C_prev = [], C
        for stack in range(stacks):
            C_stack = C * 2 ** stack
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))  # TF 'same' padding on odd sizes
            for _ in range(cells_per_stack):
                layers.append(Nb101Cell(matrix, ops, C_prev, C_stack))
                C_prev = C_stack
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.layers(self.stem(x))
        return self.classifier(h.mean(dim=(2, 3)))
