"""Alphas -> Genotype for the convolutional space (the paper's section 2.4): both cells by the shared rules of
darts/spaces/common/cell_discretize.py, under a Derivation (node rule, skip cap, cost cap)."""
from __future__ import annotations

from typing import Sequence

import torch

from darts.genotype import Genotype
from darts.spaces.common.cell_discretize import derive_cell, derive_cell_capped, derive_cell_within, node_rule
from darts.spaces.derivation import ARGMAX, Derivation


def cell_edges(steps: int, chain: bool = False) -> list[tuple[int, int]]:
    """(node, input) of each edge of a search cell, in the alphas' row order. Inputs 0 and 1 are the cell's
    inputs, 2 + i node i. DARTS: node i reads every earlier state. A chain: node i reads the state before it only
    (node 0 the newer cell input), so a node's two ops both come from that one edge."""
    return [(i, j) for i in range(steps) for j in ([i + 1] if chain else range(2 + i))]


def derive_genotype(weights_normal: torch.Tensor, weights_reduce: torch.Tensor, primitives: Sequence[str],
                    steps: int = 4, multiplier: int = 4, edge_scale_normal=None, edge_scale_reduce=None,
                    derivation: Derivation = ARGMAX) -> Genotype:
    """Both cells under `derivation` (darts.spaces.derivation): its node rule; with `max_skip`, P-DARTS's cap on
    the normal cell's skip connections; with `cost_cap` ((normal costs[edge, op], budget, input costs),
    (reduce ...)), each cell the strongest that fits its budget (derive_cell_within). The default: the paper's."""
    rule = node_rule(derivation.node_rule)
    concat = list(range(2 + steps - multiplier, steps + 2))
    if derivation.cost_cap is not None:
        (c_normal, b_normal, in_normal), (c_reduce, b_reduce, in_reduce) = derivation.cost_cap
        return Genotype(
            normal=derive_cell_within(weights_normal, primitives, steps, c_normal, b_normal, edge_scale_normal,
                                      input_costs=in_normal, rule=rule),
            normal_concat=concat,
            reduce=derive_cell_within(weights_reduce, primitives, steps, c_reduce, b_reduce, edge_scale_reduce,
                                      input_costs=in_reduce, rule=rule),
            reduce_concat=concat)
    if derivation.max_skip is not None and "skip_connect" in primitives:
        normal = derive_cell_capped(weights_normal, primitives, steps, derivation.max_skip,
                                    edge_scale=edge_scale_normal, rule=rule)
    else:
        normal = derive_cell(weights_normal, primitives, steps, edge_scale=edge_scale_normal, rule=rule)
    return Genotype(normal=normal, normal_concat=concat,
                    reduce=derive_cell(weights_reduce, primitives, steps, edge_scale=edge_scale_reduce, rule=rule),
                    reduce_concat=concat)
