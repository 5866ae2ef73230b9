"""The DARTS recurrent supernet: every earlier node feeds every later one through a MixedOp of activations.

Node i+1 = BN( sum_{j<=i} sum_{o != none} p_{j,o} * highway(s_j; c_j, o(h_j)) ),  (c_j, h_j) = s_j W_i,

with p = softmax(alphas) per edge; as in the original, one linear map W_i per node is shared by its
incoming edges and a BatchNorm without affine parameters normalises node 0 and every node (it makes
the mixed states comparable early in the search). h_t is the mean of all intermediate nodes. Since the
mixed weights of an edge sum to P_j = 1 - p_{j,none}, the sum is evaluated as
P_j s_j + sigmoid(c_j) (sum_o p_{j,o} o(h_j) - P_j s_j), one MixedOp call per node for all its edges.

`forward_path(tokens, hidden, genotype)` runs one discrete cell with the shared weights instead (ENAS):
each node reads only its chosen input through its chosen activation, without the search BatchNorm, so
it computes exactly what the final cell of that genotype computes with these weights.
"""
from __future__ import annotations

from functools import partial
from typing import Iterator, Sequence

import torch
import torch.nn as nn

from darts.genotype import RecurrentGenotype
from darts.rnn_ops import RNN_OPS, RNN_PRIMITIVES
from darts.spaces.darts_rnn.discretize import derive_recurrent_genotype
from darts.spaces.derivation import Derivation, offered
from darts.spaces.darts_rnn.model import LMOutput, RecurrentCell, RNNModel, check_sizes
from darts.spaces.mixed_op import MixedOp
from darts.spaces.relaxation import Relaxation, make_relaxation


class SearchCell(RecurrentCell):
    def __init__(self, ninp: int, nhid: int, dropouth: float, dropoutx: float, steps: int = 8,
                 primitives: Sequence[str] = RNN_PRIMITIVES):
        super().__init__(ninp, nhid, steps, dropouth, dropoutx)
        self.primitives = list(primitives)
        self.bn = nn.BatchNorm1d(nhid, affine=False)
        self.mixed = MixedOp([RNN_OPS[p]() for p in self.primitives], self.primitives)
        self.active = [k for k, p in enumerate(self.primitives) if p != "none"]

    def step(self, x_proj, h_prev, h_mask, probs):
        """probs: softmaxed alphas (n_edges, n_ops), or a RecurrentGenotype for one discrete path."""
        if isinstance(probs, RecurrentGenotype):
            edges = [(partial(self.mixed.path, index=self.primitives.index(op)), j) for op, j in probs.recurrent]
            return self.discrete_step(x_proj, h_prev, h_mask, edges, probs.concat)
        states = self.bn(self.init_state(x_proj, h_prev, h_mask)).unsqueeze(0)
        offset = 0
        for i in range(self.steps):
            c, h = self.node_input(states, h_mask, i)                  # (i+1, B, nhid) each
            p = probs[offset:offset + i + 1]                           # (i+1, n_ops): one row per edge
            kept = p[:, self.active].sum(1).view(-1, 1, 1) * states    # P_j s_j
            mixed = self.mixed(h, p.t().reshape(len(self.primitives), -1, 1, 1))
            s = (kept + c.sigmoid() * (mixed - kept)).sum(0)
            states = torch.cat([states, self.bn(s).unsqueeze(0)])
            offset += i + 1
        return states[1:].mean(0)


class RNNSearchModel(RNNModel):
    """The supernet searched by DARTS on text (`RNNModelSearch` in the original); search sizes are defaults."""

    ALPHA_NAMES = ("alphas_recurrent",)

    def __init__(self, ntoken: int, emsize: int = 300, nhid: int = 300, nhidlast: int = 300, dropout: float = 0.75,
                 dropouth: float = 0.25, dropoutx: float = 0.75, dropouti: float = 0.2, dropoute: float = 0.0,
                 steps: int = 8, primitives: Sequence[str] = RNN_PRIMITIVES,
                 relaxation: Relaxation | str | None = None):
        check_sizes(emsize, nhid, nhidlast)
        super().__init__(ntoken, SearchCell(emsize, nhid, dropouth, dropoutx, steps, primitives),
                         dropout, dropouti, dropoute)
        self.primitives, self.steps = list(primitives), steps
        self.relaxation = make_relaxation(relaxation)
        n_edges = steps * (steps + 1) // 2
        self.alphas_recurrent = nn.Parameter(1e-3 * torch.randn(n_edges, len(self.primitives)))

    def cell_args(self) -> tuple:
        return (self.relaxation.mix(self.alphas_recurrent),)

    def forward_path(self, tokens: torch.Tensor, hidden: torch.Tensor | None,
                     genotype: RecurrentGenotype) -> LMOutput:
        """The language model of the discrete cell `genotype` with the supernet's weights (alphas unused)."""
        if len(genotype.recurrent) != self.steps:
            raise ValueError(f"genotype has {len(genotype.recurrent)} nodes; this supernet has {self.steps}")
        for k, (op, j) in enumerate(genotype.recurrent):
            if op not in self.primitives or not 0 <= j <= k:
                raise ValueError(f"recurrent edge {k} ({op!r}, {j}) is not an edge of this supernet")
        return self(tokens, hidden, cell_args=(genotype,))

    # --- the contract every searchable space offers the strategies -------------------------------
    def alphas(self) -> list[nn.Parameter]:
        return [self.alphas_recurrent]

    def named_weights(self) -> Iterator[tuple[str, nn.Parameter]]:
        return ((n, p) for n, p in self.named_parameters() if n not in self.ALPHA_NAMES)

    def weights(self) -> list[nn.Parameter]:
        return [p for _, p in self.named_weights()]

    capabilities = frozenset()  # its cell derives by the argmax only; no search add-on needs more of it

    def genotype(self, derivation: Derivation | None = None) -> RecurrentGenotype:
        offered(derivation, self.capabilities, type(self).__name__)
        return derive_recurrent_genotype(self.relaxation.probabilities(self.alphas_recurrent), self.primitives,
                                         self.steps)

    def alpha_summary(self) -> dict:
        """Softmaxed alphas as plain lists, one row per edge (node 1's edge first), for logs and plots."""
        return {"primitives": self.primitives,
                "recurrent": self.relaxation.probabilities(self.alphas_recurrent.detach().float()).cpu().tolist()}
