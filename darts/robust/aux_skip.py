"""DARTS- (Chu et al., ICLR 2021): an auxiliary skip connection beside every edge's mixture,

    o_bar(x) = sum_o softmax(alpha)_o o(x) + beta_e x,    beta_e = beta_0 (1 - e / (E - 1)),

whose weight falls linearly to 0 over the search's epochs, so the derived cell need not earn its residual
path through the skip-connection alpha (the unfair advantage behind DARTS's collapse). The supernet is
built with the auxiliary modules (`aux_skip=True`: identity, a factorized reduction on stride-2 edges);
this epoch-start hook sets their weight, a function of the epoch only, so a resumed run gets the same.
"""
from __future__ import annotations

from darts.spaces.mixed_op import MixedOp


def aux_skip_weight(beta0: float, epoch: int, epochs: int) -> float:
    """beta_0 (1 - e / (E - 1)), 0 from the last search epoch on."""
    return beta0 * max(0.0, 1.0 - epoch / max(epochs - 1, 1))


class AuxiliarySkipDecay:
    """Epoch-start hook of DartsSearch: sets every MixedOp's `aux_weight`."""

    def __init__(self, model, beta0: float, epochs: int):
        self.edges = [m for m in model.modules() if isinstance(m, MixedOp) and m.aux is not None]
        if not self.edges:
            raise ValueError("the supernet has no auxiliary skip connections: build it with aux_skip=True")
        self.beta0, self.epochs = beta0, epochs

    def __call__(self, epoch: int) -> None:
        weight = aux_skip_weight(self.beta0, epoch, self.epochs)
        for edge in self.edges:
            edge.aux_weight = weight
