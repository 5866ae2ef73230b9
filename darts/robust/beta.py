"""beta-DARTS's Beta-Decay regulariser (Ye et al., CVPR 2022), added to the architect's validation loss:

    L_beta = lambda_e * mean over edges of  log sum_o exp(alpha_o),   lambda_e = lambda * e / (E - 1),

the smoothmax of each edge's alphas, whose gradient softmax(alpha) pulls the largest alphas down and keeps
the softmax from saturating; lambda grows linearly over the epochs. `epoch()` reads the loop's epoch, so a
resumed run has the same weight.
"""
from __future__ import annotations

from typing import Callable

import torch


def beta_decay(alphas: list[torch.Tensor]) -> torch.Tensor:
    """The mean over every edge (row) of every alpha tensor of logsumexp(alpha)."""
    rows = torch.cat([a.reshape(-1, a.shape[-1]).logsumexp(-1) for a in alphas])
    return rows.mean()


class BetaDecay:
    """alpha_regularizer of the Architect: lambda_e * beta_decay(alphas)."""

    def __init__(self, weight: float, epochs: int, epoch: Callable[[], int]):
        self.weight, self.epochs, self.epoch = weight, epochs, epoch

    def current_weight(self) -> float:
        return self.weight * min(self.epoch(), self.epochs - 1) / max(self.epochs - 1, 1)  # held after the search

    def __call__(self, alphas: list[torch.Tensor]) -> torch.Tensor:
        return self.current_weight() * beta_decay(alphas)
