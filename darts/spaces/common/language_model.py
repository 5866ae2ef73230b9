"""The language model around a recurrent cell, shared by the recurrent spaces (DARTS RNN, NAS-RL RNN).

Embedding (with word dropout `dropoute` and locked dropout `dropouti`), the cell unrolled over the window,
locked dropout `dropout` on its outputs, decoder tied to the embedding. A cell has `ninp`, `nhid` and
forward(inputs (T, B, ninp), state, *cell_args) -> (outputs (T, B, ninp), state).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from darts.language_task import LMOutput
from darts.spaces.common.rnn_dropout import embedding_dropout, locked_dropout

INIT_RANGE = 0.04  # weights start uniform in [-0.04, 0.04], as in the original


class RNNModel(nn.Module):
    """Embedding -> recurrent cell over time -> decoder tied to the embedding (`RNNModel` in the original)."""

    def __init__(self, ntoken: int, cell: nn.Module, dropout: float = 0.75, dropouti: float = 0.2,
                 dropoute: float = 0.0):
        super().__init__()
        self.ntoken, self.ninp, self.nhid = ntoken, cell.ninp, cell.nhid
        self.dropout, self.dropouti, self.dropoute = dropout, dropouti, dropoute
        self.embedding = nn.Embedding(ntoken, cell.ninp)
        nn.init.uniform_(self.embedding.weight, -INIT_RANGE, INIT_RANGE)
        self.cell = cell
        self.decoder_bias = nn.Parameter(torch.zeros(ntoken))

    def cell_args(self) -> tuple:
        """Extra arguments of every cell step (the search supernet passes its softmaxed alphas)."""
        return ()

    def forward(self, tokens: torch.Tensor, hidden: torch.Tensor | None = None,
                cell_args: tuple | None = None) -> LMOutput:
        """tokens (T, B) ids; hidden (B, nhid) or None for a zero state; cell_args replace `cell_args()`."""
        weight = embedding_dropout(self.embedding.weight, self.dropoute, self.training)
        emb = locked_dropout(F.embedding(tokens, weight), self.dropouti, self.training)
        if hidden is None:
            hidden = emb.new_zeros(tokens.shape[1], self.nhid)
        raw_output, hidden = self.cell(emb, hidden, *(self.cell_args() if cell_args is None else cell_args))
        output = locked_dropout(raw_output, self.dropout, self.training)
        logits = F.linear(output, self.embedding.weight, self.decoder_bias)
        return LMOutput(logits, hidden, raw_output, output)
