"""The DARTS recurrent cell and the language model around it (the paper's section 3.2 and appendix A.2).

Cell, per time step:  node 0 = highway(h_{t-1}; c0, tanh(h0)) with (c0, h0) = [x_t, h_{t-1}] W0;
node i = highway(s_j; c_i, f_i(h_i)) with (c_i, h_i) = s_j W_i for its chosen input j < i and
activation f_i; h_t = mean of the `concat` nodes. Dropout masks on x_t (dropoutx) and on every state
entering a linear map (dropouth) are drawn once per sequence. All weights start uniform in
[-0.04, 0.04] as in the original. The search cell (search.py) shares everything but the node rule.

Language model (darts.spaces.common.language_model): embedding (with word dropout `dropoute` and locked dropout `dropouti`), the cell unrolled
over the window, locked dropout `dropout` on its outputs, decoder tied to the embedding. Parameters
are counted as the original counts them: the tied matrix once.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from darts.errors import UserError
from darts.genotype import RecurrentGenotype
from darts.language_task import LMOutput  # noqa: F401  (the output every language model returns)
from darts.rnn_ops import build_activation, highway
from darts.spaces.common.language_model import INIT_RANGE, RNNModel
from darts.spaces.common.rnn_dropout import variational_mask


def _uniform(*shape) -> nn.Parameter:
    return nn.Parameter(torch.empty(*shape).uniform_(-INIT_RANGE, INIT_RANGE))


class RecurrentCell(nn.Module):
    """What search and final cells share: W0, one W per node, masks, node 0 and the loop over time."""

    def __init__(self, ninp: int, nhid: int, steps: int, dropouth: float, dropoutx: float):
        super().__init__()
        self.ninp, self.nhid, self.steps = ninp, nhid, steps
        self.dropouth, self.dropoutx = dropouth, dropoutx
        self.W0 = _uniform(ninp + nhid, 2 * nhid)
        self.Ws = nn.ParameterList([_uniform(nhid, 2 * nhid) for _ in range(steps)])

    def forward(self, inputs: torch.Tensor, hidden: torch.Tensor, *node_args) -> tuple[torch.Tensor, torch.Tensor]:
        """inputs (T, B, ninp), hidden (B, nhid) -> outputs (T, B, nhid), last state (B, nhid)."""
        T, B = inputs.shape[:2]
        x_mask = variational_mask(inputs, (B, self.ninp), self.dropoutx) if self.training else None
        h_mask = variational_mask(inputs, (B, self.nhid), self.dropouth) if self.training else None
        x = inputs if x_mask is None else inputs * x_mask
        # The input half of node 0's linear map for all steps in one product.
        x_proj = (x.reshape(T * B, self.ninp) @ self.W0[: self.ninp]).view(T, B, 2 * self.nhid)
        outputs = []
        for t in range(T):
            hidden = self.step(x_proj[t], hidden, h_mask, *node_args)
            outputs.append(hidden)
        return torch.stack(outputs), hidden

    def init_state(self, x_proj: torch.Tensor, h_prev: torch.Tensor, h_mask: torch.Tensor | None) -> torch.Tensor:
        """Node 0: highway between h_{t-1} and tanh of the candidate computed from x_t and h_{t-1}."""
        h_in = h_prev if h_mask is None else h_prev * h_mask
        c0, h0 = (x_proj + h_in @ self.W0[self.ninp:]).chunk(2, dim=-1)
        return highway(h_prev, c0, h0.tanh())

    def node_input(self, states: torch.Tensor, h_mask: torch.Tensor | None, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(gate logits, candidate) of node i+1 from predecessor states (..., B, nhid)."""
        s = states if h_mask is None else states * h_mask
        return (s @ self.Ws[i]).chunk(2, dim=-1)

    def step(self, x_proj: torch.Tensor, h_prev: torch.Tensor, h_mask, *node_args) -> torch.Tensor:
        raise NotImplementedError

    def discrete_step(self, x_proj: torch.Tensor, h_prev: torch.Tensor, h_mask, edges, concat) -> torch.Tensor:
        """A step of a discrete cell; edges: one (activation, input) pair per node. Final cells and the
        supernet's single paths (ENAS) both take it."""
        states = [self.init_state(x_proj, h_prev, h_mask)]
        for i, (activation, j) in enumerate(edges):
            c, h = self.node_input(states[j], h_mask, i)
            states.append(highway(states[j], c, activation(h)))
        return torch.stack([states[i] for i in concat]).mean(0)


class DartsCell(RecurrentCell):
    """The final cell of a genotype: node i+1 takes one (activation, input) edge."""

    def __init__(self, ninp: int, nhid: int, genotype: RecurrentGenotype, dropouth: float = 0.25,
                 dropoutx: float = 0.75):
        super().__init__(ninp, nhid, len(genotype.recurrent), dropouth, dropoutx)
        self.genotype = genotype
        self.activations = nn.ModuleList([build_activation(op) for op, _ in genotype.recurrent])

    def step(self, x_proj, h_prev, h_mask):
        edges = zip(self.activations, [j for _, j in self.genotype.recurrent])
        return self.discrete_step(x_proj, h_prev, h_mask, edges, self.genotype.concat)


def check_sizes(emsize: int, nhid: int, nhidlast: int) -> None:
    """The cell's output feeds the tied decoder, so all three sizes must agree (the original asserts it)."""
    if not emsize == nhid == nhidlast:
        raise UserError(f"--emsize {emsize}, --nhid {nhid} and --nhidlast {nhidlast} must be equal "
                        f"(the decoder is tied to the embedding)")
    if emsize < 1:
        raise UserError(f"--emsize must be at least 1, got {emsize}")


def language_model(genotype: RecurrentGenotype, ntoken: int, emsize: int = 850, nhid: int = 850,
                   nhidlast: int = 850, dropout: float = 0.75, dropouth: float = 0.25, dropoutx: float = 0.75,
                   dropouti: float = 0.2, dropoute: float = 0.0) -> RNNModel:
    """The final language model of a recurrent genotype (defaults: the paper's PTB evaluation sizes)."""
    check_sizes(emsize, nhid, nhidlast)
    return RNNModel(ntoken, DartsCell(emsize, nhid, genotype, dropouth, dropoutx), dropout, dropouti, dropoute)
