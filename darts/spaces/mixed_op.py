"""The continuous relaxation at the heart of DARTS: an edge computes a softmax-weighted sum of ops.

    o_bar(x) = sum_o softmax(alpha)_o * o(x)

Shared by every space whose edges are a choice among modules (DARTS CNN, NAS-Bench-201). The 'none'
operation contributes exactly zero to the sum and to every gradient, so it is skipped rather than
computed. `path` runs a single chosen op, and `forward(x, index)` with an int index does the same, so a
cell that hands each edge its row of weights can instead hand it a sampled op index (ENAS: one path of
the supernet per step, costing what the child network costs).

Partial channel connections (PC-DARTS, Xu et al. 2020), `partial_channels=K`: only the first 1/K of
the channels go through the ops (built for C/K channels), the rest bypass the edge unchanged (max-pooled
2x2 on a stride-2 edge, ceil mode so odd sizes such as 7x7 match the strided ops' ceil(H/2)), and a
channel shuffle interleaves the two so that the next edge samples other channels. Memory and compute of
the ops fall by about K. K=1 is plain DARTS.

An auxiliary skip connection (DARTS-, Chu et al., ICLR 2021), `aux`: a parameter-free identity (or, on a
stride-2 edge, a factorized reduction of its own) added outside the mixture with the weight `aux_weight`,
which the search decays to 0 (darts/robust/aux_skip.py).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


def interleave_channels(parts: Sequence[torch.Tensor]) -> torch.Tensor:
    """Channel j of part i becomes channel j * len(parts) + i: the channel shuffle of the concatenated
    parts (ShuffleNet's reshape-transpose-reshape), in one copy."""
    return torch.stack(list(parts), dim=2).flatten(1, 2)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(N, C, H, W) -> C split into `groups` groups whose channels are interleaved."""
    return interleave_channels(x.chunk(groups, dim=1))


class MixedOp(nn.Module):
    def __init__(self, ops: Sequence[nn.Module], names: Sequence[str], partial_channels: int = 1,
                 stride: int = 1, aux: nn.Module | None = None):
        """`ops` must be built for 1/`partial_channels` of the edge's channels; `stride` is theirs
        (it decides whether the bypassed channels are pooled); `aux`: DARTS-'s auxiliary skip, or None."""
        super().__init__()
        if partial_channels < 1:
            raise ValueError(f"partial_channels must be at least 1, got {partial_channels}")
        self.partial_channels, self.stride = int(partial_channels), int(stride)
        self.names = list(names)
        self._ops = nn.ModuleList(ops)
        # Indices of ops that can change the sum (all but 'none').
        self._active = [i for i, n in enumerate(self.names) if n != "none"]
        self.aux = aux
        self.aux_weight = 0.0  # a plain number set each epoch, not state: a function of the epoch

    def forward(self, x: torch.Tensor, weights: torch.Tensor | int,
                edge_weight: torch.Tensor | None = None) -> torch.Tensor:
        """weights: the edge's softmaxed alphas (n_ops,), or an int: the index of the one op to run.
        edge_weight: a scalar multiplying the edge's output (PC-DARTS edge normalisation). It is folded
        into the op weights and the bypassed channels rather than applied to the output, which would
        keep one more full-size tensor per edge for the backward pass; the result is the same."""
        if isinstance(weights, int):
            return self.path(x, weights)
        if edge_weight is not None:
            weights = weights * edge_weight
        return self._partial(x, lambda part: self._mix(part, weights), edge_weight)

    def _mix(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        out = None
        for i in self._active:
            y = weights[i] * self._ops[i](x)
            out = y if out is None else out + y
        if out is None:  # an edge whose only candidate is 'none'
            out = self._ops[0](x)
        if self.aux is not None:  # computed at weight 0 too: the architect differentiates w.r.t. its weights
            out = out + self.aux_weight * self.aux(x)
        return out

    def path(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """Output of the single op `index` (a discrete, sampled choice)."""
        return self._partial(x, self._ops[index])

    def _partial(self, x: torch.Tensor, edge, bypass_scale: torch.Tensor | None = None) -> torch.Tensor:
        """`edge` applied to the first 1/K of the channels, the rest bypassing it (times `bypass_scale`),
        shuffled together."""
        k = self.partial_channels
        if k == 1:
            return edge(x)
        c = x.shape[1] // k
        out, rest = edge(x[:, :c]), x[:, c:]
        if self.stride > 1:
            rest = F.max_pool2d(rest, self.stride, self.stride, ceil_mode=True)
        if bypass_scale is not None:
            rest = rest * bypass_scale
        return interleave_channels([out, *rest.chunk(k - 1, dim=1)])
