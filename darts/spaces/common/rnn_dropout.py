"""The AWD-LSTM regularisers the DARTS language model uses (Merity et al., 2018).

All masks are variational: drawn once per forward pass and shared by every time step, so a unit is
either dropped for the whole window or kept. Masks follow the input's device and dtype and use the
global generator (saved in checkpoints).
"""
from __future__ import annotations

import torch


def variational_mask(like: torch.Tensor, shape: tuple, p: float) -> torch.Tensor | None:
    """A {0, 1/(1-p)} mask of `shape`, or None when nothing is dropped (p = 0)."""
    if not p:
        return None
    keep = 1.0 - p
    return like.new_empty(shape).bernoulli_(keep).div_(keep)


def locked_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout on (T, B, D) with one mask per sequence (the same units dropped at every step)."""
    mask = variational_mask(x, (1, x.shape[1], x.shape[2]), p) if training else None
    return x if mask is None else x * mask


def embedding_dropout(weight: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Drop whole words: rows of the embedding matrix are zeroed (and the rest rescaled) for this pass."""
    mask = variational_mask(weight, (weight.shape[0], 1), p) if training else None
    return weight if mask is None else weight * mask
