"""The DARTS convolutional supernet: cells whose every edge is a MixedOp over the candidate ops.

Built exactly as the paper's code builds it (stem multiplier 3, reduction cells at 1/3 and 2/3 of
the depth, BatchNorm without affine parameters inside cells, pooling followed by BatchNorm), so the
parameter count matches the original's. Alphas are registered Parameters, kept out of `weights()`
so the weight optimizer never sees them.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from darts.genotype import Genotype
from darts.ops import PRIMITIVES, FactorizedReduce, ReLUConvBN, build_op
from darts.spaces.darts_cnn.discretize import derive_genotype
from darts.spaces.mixed_op import MixedOp


def search_op(name: str, C: int, stride: int) -> nn.Module:
    """A candidate op as used inside the supernet: no affine BN; pooling gets a BN of its own."""
    op = build_op(name, C, stride, affine=False)
    if "pool" in name:
        op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False))
    return op


class SearchCell(nn.Module):
    def __init__(self, primitives: Sequence[str], steps: int, multiplier: int, C_prev_prev: int, C_prev: int,
                 C: int, reduction: bool, reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        self.steps, self.multiplier = steps, multiplier
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(C_prev_prev, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0, affine=False)
        self.edges = nn.ModuleList()
        for i in range(steps):
            for j in range(2 + i):
                stride = 2 if reduction and j < 2 else 1
                self.edges.append(MixedOp([search_op(p, C, stride) for p in primitives], primitives))

    def forward(self, s0, s1, weights):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(self.steps):
            s = sum(self.edges[offset + j](h, weights[offset + j]) for j, h in enumerate(states))
            offset += len(states)
            states.append(s)
        return torch.cat(states[-self.multiplier:], dim=1)


class SearchNetwork(nn.Module):
    """The supernet searched by DARTS (`Network` in the original model_search.py)."""

    def __init__(self, C: int = 16, num_classes: int = 10, layers: int = 8, steps: int = 4, multiplier: int = 4,
                 stem_multiplier: int = 3, in_channels: int = 3, primitives: Sequence[str] = PRIMITIVES):
        super().__init__()
        self.config = dict(C=C, num_classes=num_classes, layers=layers, steps=steps, multiplier=multiplier,
                           stem_multiplier=stem_multiplier, in_channels=in_channels, primitives=list(primitives))
        self.primitives = list(primitives)
        self.steps, self.multiplier = steps, multiplier
        C_curr = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C_curr, 3, padding=1, bias=False), nn.BatchNorm2d(C_curr))
        C_prev_prev, C_prev, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                C_curr *= 2
            cell = SearchCell(self.primitives, steps, multiplier, C_prev_prev, C_prev, C_curr, reduction,
                              reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, multiplier * C_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)
        n_edges = sum(2 + i for i in range(steps))
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(n_edges, len(self.primitives)))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(n_edges, len(self.primitives)))

    # --- the contract every searchable space offers the strategies -------------------------------
    ALPHA_NAMES = ("alphas_normal", "alphas_reduce")

    def alphas(self) -> list[nn.Parameter]:
        return [self.alphas_normal, self.alphas_reduce]

    def named_weights(self) -> Iterator[tuple[str, nn.Parameter]]:
        return ((n, p) for n, p in self.named_parameters() if n not in self.ALPHA_NAMES)

    def weights(self) -> list[nn.Parameter]:
        return [p for _, p in self.named_weights()]

    def genotype(self) -> Genotype:
        return derive_genotype(F.softmax(self.alphas_normal, dim=-1), F.softmax(self.alphas_reduce, dim=-1),
                               self.primitives, self.steps, self.multiplier)

    def alpha_summary(self) -> dict:
        """Softmaxed alphas per cell type, as plain lists (one row per edge) for logs and plots."""
        return {"primitives": self.primitives,
                "normal": F.softmax(self.alphas_normal.detach().float(), dim=-1).cpu().tolist(),
                "reduce": F.softmax(self.alphas_reduce.detach().float(), dim=-1).cpu().tolist()}

    # ---------------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        w_normal = F.softmax(self.alphas_normal, dim=-1)
        w_reduce = F.softmax(self.alphas_reduce, dim=-1)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, w_reduce if cell.reduction else w_normal)
        out = self.global_pooling(s1)
        return self.classifier(out.flatten(1))
