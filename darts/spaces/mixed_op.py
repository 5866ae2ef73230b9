"""The continuous relaxation at the heart of DARTS: an edge computes a softmax-weighted sum of ops.

    o_bar(x) = sum_o softmax(alpha)_o * o(x)

Shared by every space whose edges are a choice among modules (DARTS CNN, NAS-Bench-201). The 'none'
operation contributes exactly zero to the sum and to every gradient, so it is skipped rather than
computed; `path` runs a single chosen op (used by strategies that sample one architecture, e.g. ENAS).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn


class MixedOp(nn.Module):
    def __init__(self, ops: Sequence[nn.Module], names: Sequence[str]):
        super().__init__()
        self.names = list(names)
        self._ops = nn.ModuleList(ops)
        # Indices of ops that can change the sum (all but 'none').
        self._active = [i for i, n in enumerate(self.names) if n != "none"]

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        out = None
        for i in self._active:
            y = weights[i] * self._ops[i](x)
            out = y if out is None else out + y
        if out is None:  # an edge whose only candidate is 'none'
            out = self._ops[0](x)
        return out

    def path(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """Output of the single op `index` (a discrete, sampled choice)."""
        return self._ops[index](x)
