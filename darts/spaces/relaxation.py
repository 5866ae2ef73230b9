"""The continuous relaxation of a categorical choice, a part every supernet is given.

DARTS relaxes the choice among an edge's candidate operations into a softmax over its alphas,
o_bar(x) = sum_o softmax(alpha)_o o(x). A supernet asks its relaxation for the mixing weights of a
forward pass (`mix`) and for the probabilities its discretizer and logs read (`probabilities`); other
relaxations (Gumbel-softmax samples as in GDAS, Dirichlet samples as in DrNAS) are small subclasses
registered here by name, so a supernet never hard-codes the softmax. Those two live above the spaces, in
darts/robust/relaxations.py; the strategy registry that offers --relaxation loads them.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from darts.errors import UserError


class Relaxation(nn.Module):
    """Base and default: the paper's softmax (deterministic; the same weights in training and evaluation)."""

    name = "softmax"

    def mix(self, alphas: torch.Tensor) -> torch.Tensor:
        """Mixing weights of a forward pass, one row per edge (may be random in training mode)."""
        return F.softmax(alphas, dim=-1)

    def probabilities(self, alphas: torch.Tensor) -> torch.Tensor:
        """The expected weights, for the discretizer and the logs."""
        return F.softmax(alphas, dim=-1)


RELAXATIONS: dict[str, type[Relaxation]] = {Relaxation.name: Relaxation}


def register_relaxation(cls: type[Relaxation]) -> type[Relaxation]:
    RELAXATIONS[cls.name] = cls
    return cls


def make_relaxation(name: str | Relaxation | None = None) -> Relaxation:
    """A relaxation by name (None: the softmax); an instance is returned as it is."""
    if isinstance(name, Relaxation):
        return name
    cls = RELAXATIONS.get(name or Relaxation.name)
    if cls is None:
        raise UserError(f"unknown relaxation {name!r}; registered: {', '.join(RELAXATIONS)} (gumbel and dirichlet "
                        f"are registered by importing darts.robust.relaxations)")
    return cls()

