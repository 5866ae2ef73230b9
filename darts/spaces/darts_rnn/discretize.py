"""Alphas -> RecurrentGenotype (the paper's section 2.4 for the recurrent cell).

Each intermediate node keeps its single strongest incoming edge (strength: the largest softmax weight
among non-'none' ops), which becomes its argmax op with 'none' excluded. The rule is the convolutional
space's with one input node and one edge per node, so the code is shared.
"""
from __future__ import annotations

from typing import Sequence

import torch

from darts.genotype import RecurrentGenotype
from darts.spaces.common.cell_discretize import derive_cell


def derive_recurrent_genotype(weights: torch.Tensor, primitives: Sequence[str], steps: int = 8) -> RecurrentGenotype:
    """weights: (steps * (steps + 1) / 2, n_ops) softmaxed alphas; node i (1-based) has inputs 0..i-1."""
    gene = derive_cell(weights, primitives, steps, k=1, inputs=1)
    return RecurrentGenotype(recurrent=gene, concat=list(range(1, steps + 1)))
