"""The tree cell of a genotype and the language model around it.

The cell follows darts_rnn's cell interface (`ninp`, `nhid`, forward(inputs (T, B, ninp), state) ->
(outputs (T, B, ninp), state)) so the DARTS language model (embedding, locked dropout, decoder tied to
the embedding) runs it unchanged. Its state packs (h, c) side by side, so `nhid` = 2 x size and a zero
state is a zero h and a zero c. Leaves k compute W_k x_t + b_k and U_k h_{t-1} + d_k, all leaves in
one product each; weights start uniform in +-1/sqrt(size), as torch.nn.LSTMCell's.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from darts.spaces.common.language_model import RNNModel
from darts.spaces.nasrl_rnn.genotype import TreeGenotype, children

COMBINE = {"add": torch.add, "mult": torch.mul, "max": torch.maximum}
ACTIVATE = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda a: a,
            "sin": torch.sin}


class TreeCell(nn.Module):
    def __init__(self, genotype: TreeGenotype, size: int):
        super().__init__()
        self.genotype, self.size, self.leaves = genotype, size, genotype.leaves
        self.ninp, self.nhid = size, 2 * size
        self.w_x = nn.Linear(size, self.leaves * size)
        self.w_h = nn.Linear(size, self.leaves * size)
        bound = 1.0 / math.sqrt(size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def step(self, x_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step from x_t's leaf projections (B, L*size): (h_t, c_t)."""
        g = self.genotype
        xs, hs = x_proj.chunk(self.leaves, -1), self.w_h(h).chunk(self.leaves, -1)
        values, c_new = [], None
        for k, (comb, act) in enumerate(g.nodes):
            pair = children(k, self.leaves)
            a, b = (xs[k], hs[k]) if pair is None else (values[pair[0]], values[pair[1]])
            pre = COMBINE[comb](a, b)
            if k == g.cell_out:
                c_new = pre
            out = ACTIVATE[act](pre)
            if k == g.cell_in:
                out = ACTIVATE[g.inject[1]](COMBINE[g.inject[0]](out, c))
            values.append(out)
        return values[-1], c_new

    def forward(self, inputs: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """inputs (T, B, size), state (B, 2*size) = [h, c] -> outputs h_1..h_T (T, B, size), last state."""
        x_proj = self.w_x(inputs)
        h, c = state.chunk(2, -1)
        outputs = []
        for t in range(inputs.shape[0]):
            h, c = self.step(x_proj[t], h, c)
            outputs.append(h)
        return torch.stack(outputs), torch.cat([h, c], -1)


class TanhCell(nn.Module):
    """The vanilla RNN cell h_t = tanh(W x_t + U h_{t-1} + b), the baseline a searched cell must beat."""

    def __init__(self, size: int):
        super().__init__()
        self.ninp = self.nhid = size
        self.rnn = nn.RNN(size, size, nonlinearity="tanh")

    def forward(self, inputs: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs, last = self.rnn(inputs, state[None])
        return outputs, last[0]


def language_model(cell: nn.Module, ntokens: int, dropout: float = 0.0, dropouti: float = 0.0,
                   dropoute: float = 0.0) -> RNNModel:
    """Embedding of the cell's size -> cell over time -> decoder tied to the embedding."""
    return RNNModel(ntokens, cell, dropout, dropouti, dropoute)
