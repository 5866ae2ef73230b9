"""An LSTM controller that emits a sequence of categorical decisions (Zoph & Le 2017; ENAS 2018).

At step k the LSTM reads an input vector, and decision k's own linear classifier turns the LSTM output
into logits over that decision's `choices[k]` options. The chosen option is embedded (with decision k's
own embedding table) and fed back as the next step's input, so later decisions are conditioned on
earlier ones. The first input is a learned vector.

The controller knows nothing about architectures: a space says how many options each decision has
(`ArchSpace.decisions()`) and how decisions become an architecture. REINFORCE and ENAS share it.

Options from ENAS that flatten the distribution early in training:
    logits <- logits / temperature,  then  logits <- tanh_constant * tanh(logits).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


@contextlib.contextmanager
def cpu_threads(n: int) -> Iterator[None]:
    """Run torch CPU ops on `n` intra-op threads, then restore the setting.

    The controller's tensors hold a few hundred numbers: extra threads only add synchronisation, which
    costs 10-100x when the cores are busy (e.g. with data loading or another process).
    """
    previous = torch.get_num_threads()
    if previous == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass
class ControllerSample:
    decisions: list[int]
    log_prob: torch.Tensor  # sum over decisions of log p(decision | earlier ones)
    entropy: torch.Tensor   # sum over decisions of each step's categorical entropy


class Controller(nn.Module):
    def __init__(self, choices: Sequence[int], hidden_size: int = 64, num_layers: int = 1,
                 temperature: float | None = None, tanh_constant: float | None = None, init_range: float = 0.1):
        super().__init__()
        self.choices = [int(c) for c in choices]
        if not self.choices or min(self.choices) < 1:
            raise ValueError(f"every decision needs at least one option, got {list(choices)}")
        self.temperature = temperature
        self.tanh_constant = tanh_constant
        self.start = nn.Parameter(torch.zeros(1, hidden_size))
        self.lstm = nn.LSTM(hidden_size, hidden_size, num_layers)
        self.embeddings = nn.ModuleList(nn.Embedding(c, hidden_size) for c in self.choices)
        self.classifiers = nn.ModuleList(nn.Linear(hidden_size, c) for c in self.choices)
        for p in self.parameters():  # small uniform init: near-uniform decisions at the start
            nn.init.uniform_(p, -init_range, init_range)

    def logits(self, output: torch.Tensor, k: int) -> torch.Tensor:
        logits = self.classifiers[k](output)
        if self.temperature is not None:
            logits = logits / self.temperature
        if self.tanh_constant is not None:
            logits = self.tanh_constant * torch.tanh(logits)
        return logits

    def forward(self, decisions: Sequence[int] | None = None, generator: torch.Generator | None = None,
                greedy: bool = False) -> ControllerSample:
        """Sample a sequence (decisions None), take each step's most likely option (greedy), or score a
        given sequence; log-prob and entropy keep their graph."""
        if decisions is not None and len(decisions) != len(self.choices):
            raise ValueError(f"expected {len(self.choices)} decisions, got {len(decisions)}")
        device = self.start.device
        inp, state = self.start, None
        chosen, log_prob, entropy = [], self.start.new_zeros(()), self.start.new_zeros(())
        for k, n in enumerate(self.choices):
            out, state = self.lstm(inp, state)  # unbatched: (seq=1, hidden)
            log_p = F.log_softmax(self.logits(out[0], k), dim=-1)
            if greedy and decisions is None:
                d = int(log_p.detach().argmax())
            elif decisions is None:
                d = int(torch.multinomial(log_p.detach().exp(), 1, generator=generator))
            else:
                d = int(decisions[k])
                if not 0 <= d < n:
                    raise ValueError(f"decision {k} must lie in 0..{n - 1}, got {d}")
            chosen.append(d)
            log_prob = log_prob + log_p[d]
            entropy = entropy - (log_p.exp() * log_p).sum()
            inp = self.embeddings[k](torch.tensor([d], device=device))
        return ControllerSample(chosen, log_prob, entropy)
