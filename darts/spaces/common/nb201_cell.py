"""The NAS-Bench-201 cell, shared by the supernet and the final networks.

Node 0 is the cell's input; node j (1..3) is the sum of one edge from every earlier node; node 3 is the
output. Only what an edge computes differs: in the supernet a MixedOp called with that edge's softmax
weights, in a final network one operation. Edges that are 'none' contribute nothing and are skipped;
a node whose every edge is skipped is zero, as in the benchmark.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from darts.spaces.common.nb201_arch import EDGES, NUM_NODES


class Nb201Cell(nn.Module):
    def __init__(self, edges: Sequence[nn.Module], active: Sequence[bool] | None = None):
        """edges: one module per edge in EDGES order; active[e] False drops edge e ('none')."""
        super().__init__()
        if len(edges) != len(EDGES):
            raise ValueError(f"a NAS-Bench-201 cell has {len(EDGES)} edges, got {len(edges)}")
        self.edges = nn.ModuleList(edges)
        self.active = [True] * len(EDGES) if active is None else [bool(a) for a in active]

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """weights: (6, n_ops) softmaxed alphas when the edges are MixedOps, else None."""
        nodes = [x]
        for j in range(1, NUM_NODES):
            total = None
            for e, (target, source) in enumerate(EDGES):
                if target != j or not self.active[e]:
                    continue
                edge = self.edges[e]
                y = edge(nodes[source]) if weights is None else edge(nodes[source], weights[e])
                total = y if total is None else total + y
            nodes.append(torch.zeros_like(x) if total is None else total)
        return nodes[-1]
