"""Alphas -> Genotype for the convolutional space (the paper's section 2.4).

For each intermediate node keep the `k` strongest incoming edges, where an edge's strength is its
largest softmax weight among non-'none' operations; each kept edge becomes its argmax op ('none'
excluded).

P-DARTS's cap (Chen et al., ICCV 2019), `max_skip`: while the derived normal cell holds more skip
connections than allowed, the weakest chosen skip connection's weight is set to 0 and the cell derived again.
"""
from __future__ import annotations

from typing import Sequence

import torch

from darts.genotype import Genotype


def derive_cell(weights: torch.Tensor, primitives: Sequence[str], steps: int, k: int = 2,
                edge_scale: torch.Tensor | None = None, inputs: int = 2) -> list:
    """weights: (n_edges, n_ops) softmaxed alphas of one cell; edge_scale optionally multiplies each
    edge's strength (PC-DARTS edge normalisation); `inputs` nodes precede the intermediate ones
    (2 in a convolutional cell, 1 in the recurrent cell, which keeps k=1 edge per node)."""
    w = weights.detach().float().cpu()
    ops = list(primitives)
    real = [j for j, name in enumerate(ops) if name != "none"]
    if not real:
        raise ValueError("the candidate set has no operation besides 'none'")
    strength = w[:, real].max(dim=1).values
    if edge_scale is not None:
        strength = strength * edge_scale.detach().float().cpu()
    gene, start = [], 0
    for i in range(steps):
        n = i + inputs
        rows = range(start, start + n)
        # Stable sort: ties keep the lower input index first, as the original does.
        for r in sorted(rows, key=lambda r: -float(strength[r]))[: min(k, n)]:
            j = real[int(torch.argmax(w[r, real]))]
            gene.append((ops[j], r - start))
        start += n
    return gene


def derive_cell_capped(weights: torch.Tensor, primitives: Sequence[str], steps: int, max_skip: int,
                       edge_scale: torch.Tensor | None = None) -> list:
    """derive_cell with at most `max_skip` skip connections (P-DARTS)."""
    w = weights.detach().float().cpu().clone()
    skip = list(primitives).index("skip_connect")
    starts = [sum(2 + j for j in range(i)) for i in range(steps)]
    while True:
        gene = derive_cell(w, primitives, steps, edge_scale=edge_scale)
        rows = [starts[k // 2] + j for k, (op, j) in enumerate(gene) if op == "skip_connect"]
        weighted = [r for r in rows if float(w[r, skip]) > 0]
        if len(rows) <= max_skip or not weighted:
            return gene
        w[min(weighted, key=lambda r: float(w[r, skip])), skip] = 0.0


def derive_genotype(weights_normal: torch.Tensor, weights_reduce: torch.Tensor, primitives: Sequence[str],
                    steps: int = 4, multiplier: int = 4, edge_scale_normal=None, edge_scale_reduce=None,
                    max_skip: int | None = None) -> Genotype:
    """`max_skip`: P-DARTS's cap on the normal cell's skip connections (None: no cap, the paper's DARTS)."""
    concat = list(range(2 + steps - multiplier, steps + 2))
    if max_skip is not None and "skip_connect" in primitives:
        normal = derive_cell_capped(weights_normal, primitives, steps, max_skip, edge_scale=edge_scale_normal)
    else:
        normal = derive_cell(weights_normal, primitives, steps, edge_scale=edge_scale_normal)
    return Genotype(
        normal=normal, normal_concat=concat,
        reduce=derive_cell(weights_reduce, primitives, steps, edge_scale=edge_scale_reduce), reduce_concat=concat,
    )
