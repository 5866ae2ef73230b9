"""The controller of Zoph & Le (2017) for whole networks with skip connections ("anchor points").

For each layer i the LSTM emits the layer's categorical decisions (e.g. filter height, width, count,
stride), each a softmax over its choices whose sampled option is embedded and fed back as the next
input (as the flat `Controller`, whose LSTM, embeddings and classifiers it reuses). One more LSTM step
then gives the layer's anchor state h_i, and for every earlier layer j

    P(j is an input of layer i) = sigmoid(v^T tanh(W_prev h_j + W_curr h_i))

(the paper's section 3.3: an attention head over the controller's own anchor states). The next
layer's first input is the mean of the anchor states of the inputs chosen (a learned vector when there
are none), so later layers are conditioned on the connections made.

Decisions come flat, in the order the space lays them out: layer by layer, its categorical fields
then one binary decision per earlier layer (1 = connected). The log-probability and entropy cover
both kinds, so one policy gradient trains the LSTM, the classifiers and the attention head together.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from darts.strategies.controller import Controller, ControllerSample


class AnchorHead(nn.Module):
    """logit_ij = v^T tanh(W_prev h_j + W_curr h_i): the skip-connection attention of the paper."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.w_prev = nn.Linear(hidden_size, hidden_size, bias=False)
        self.w_curr = nn.Linear(hidden_size, hidden_size, bias=False)
        self.v = nn.Linear(hidden_size, 1, bias=False)

    def forward(self, previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        """previous (i, hidden) anchor states of earlier layers, current (hidden,) -> (i,) logits."""
        return self.v(torch.tanh(self.w_prev(previous) + self.w_curr(current))).squeeze(-1)


def bernoulli_log_prob(logits: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """log sigmoid(z) where chosen is 1, log(1 - sigmoid(z)) where 0 (numerically stable)."""
    return -F.binary_cross_entropy_with_logits(logits, chosen, reduction="none")


def bernoulli_entropy(logits: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits)
    return F.binary_cross_entropy_with_logits(logits, p, reduction="none")


class AnchorController(Controller):
    """`layers` layers of categorical `fields` (number of choices each) plus anchor-point skip connections."""

    def __init__(self, layers: int, fields: Sequence[int], hidden_size: int = 35, num_layers: int = 2,
                 temperature: float | None = None, tanh_constant: float | None = None, init_range: float = 0.1):
        super().__init__(fields, hidden_size, num_layers, temperature, tanh_constant, init_range)
        self.layers = int(layers)
        if self.layers < 1:
            raise ValueError(f"need at least one layer, got {layers}")
        self.no_input = nn.Parameter(torch.empty(1, hidden_size))
        self.anchor = AnchorHead(hidden_size)
        for p in [self.no_input, *self.anchor.parameters()]:
            nn.init.uniform_(p, -init_range, init_range)

    def num_decisions(self) -> int:
        return self.layers * len(self.choices) + self.layers * (self.layers - 1) // 2

    def forward(self, decisions: Sequence[int] | None = None, generator: torch.Generator | None = None,
                greedy: bool = False) -> ControllerSample:
        """Sample (decisions None), take the most likely option of every step (greedy), or score given
        decisions; log-prob and entropy keep their graph."""
        if decisions is not None and len(decisions) != self.num_decisions():
            raise ValueError(f"expected {self.num_decisions()} decisions, got {len(decisions)}")
        given = None if decisions is None else iter(int(d) for d in decisions)
        inp, state, anchors = self.start, None, []
        chosen, log_prob, entropy = [], self.start.new_zeros(()), self.start.new_zeros(())
        for i in range(self.layers):
            for k in range(len(self.choices)):
                out, state = self.lstm(inp, state)
                log_p = F.log_softmax(self.logits(out[0], k), dim=-1)
                d = self._pick_categorical(log_p, given, generator, greedy)
                chosen.append(d)
                log_prob = log_prob + log_p[d]
                entropy = entropy - (log_p.exp() * log_p).sum()
                inp = self.embeddings[k](torch.tensor([d], device=inp.device))
            out, state = self.lstm(inp, state)
            inp = self.no_input
            if anchors:
                logits = self.anchor(torch.stack(anchors), out[0])
                links = self._pick_links(logits, given, generator, greedy)
                chosen += [int(x) for x in links.tolist()]
                log_prob = log_prob + bernoulli_log_prob(logits, links).sum()
                entropy = entropy + bernoulli_entropy(logits).sum()
                if links.any():
                    inp = (torch.stack(anchors) * links[:, None]).sum(0, keepdim=True) / links.sum()
            anchors.append(out[0])
        return ControllerSample(chosen, log_prob, entropy)

    @staticmethod
    def _pick_categorical(log_p, given, generator, greedy) -> int:
        if given is not None:
            d = next(given)
            if not 0 <= d < log_p.shape[-1]:
                raise ValueError(f"a decision must lie in 0..{log_p.shape[-1] - 1}, got {d}")
            return d
        if greedy:
            return int(log_p.detach().argmax())
        return int(torch.multinomial(log_p.detach().exp(), 1, generator=generator))

    @staticmethod
    def _pick_links(logits, given, generator, greedy) -> torch.Tensor:
        if given is not None:
            links = [next(given) for _ in range(logits.shape[0])]
            if any(x not in (0, 1) for x in links):
                raise ValueError(f"skip-connection decisions must be 0 or 1, got {links}")
            return torch.tensor(links, dtype=logits.dtype, device=logits.device)
        p = torch.sigmoid(logits.detach())
        if greedy:
            return (p > 0.5).to(logits.dtype)
        u = torch.rand(p.shape, generator=generator, device=p.device)
        return (u < p).to(logits.dtype)
