"""REINFORCE with an LSTM controller (Zoph & Le 2017): the classic "NAS with reinforcement learning".

The controller samples an architecture as a sequence of decisions; after its reward R arrives, one
policy-gradient step on

    loss = -(R - b) * log p(decisions) - entropy_weight * H(p)

where b is an exponential moving average of earlier rewards (the variance-reducing baseline) and the
entropy bonus keeps the controller from collapsing onto one architecture too early. Adam updates the
controller after every `batch_size` = m architectures (default 1), with the paper's estimate averaged
over them: (1/m) sum_k sum_t grad log P(a_t | a_{1:t-1}) (R_k - b), b as it was before the batch.

A space whose ArchSpace has an `anchor_layout()` (layers, and the choices of each layer's fields, each layer
followed by its links to earlier layers) gets the anchor-point controller of darts.strategies.anchor_controller;
other spaces get the flat categorical `Controller`.

The entropy weight is in reward units (rewards are accuracies in percent). Defaults were tuned on
NAS-Bench-201 (benchmarks/nb201_strategies.py, seeds 1000-1029, never the reported seeds): Adam
learning rate 0.02 and entropy weight 1.0; the benchmark's own REINFORCE baseline used lr 0.01, EMA
momentum 0.9 and no entropy bonus, which on 200 queries collapses onto a few cells (54 distinct of 200)
and falls behind random search.

`tell` scores the architecture it is given (teacher forcing through the controller), so it needs no
memory of what `ask` sampled, and a strategy restored from `state_dict()` continues exactly.
"""
from __future__ import annotations

import contextlib
from typing import Any

import torch

from darts.strategies.anchor_controller import AnchorController
from darts.strategies.base import ArchSpace, Strategy
from darts.strategies.controller import Controller, cpu_threads


class Reinforce(Strategy):
    name = "reinforce"
    option_rules = {"learning_rate": {"above": 0.0}, "baseline_decay": {"minimum": 0.0, "below": 1.0},
                    "entropy_weight": {"minimum": 0.0}, "hidden_size": {"minimum": 1}, "num_layers": {"minimum": 1},
                    "temperature": {"above": 0.0}, "tanh_constant": {"above": 0.0}, "batch_size": {"minimum": 1}}

    def __init__(self, space: ArchSpace, seed: int = 0, learning_rate: float = 0.02, baseline_decay: float = 0.9,
                 entropy_weight: float = 1.0, hidden_size: int = 64, num_layers: int = 1,
                 temperature: float | None = None, tanh_constant: float | None = None,
                 device: torch.device | str = "cpu", batch_size: int = 1):
        super().__init__(space, seed)
        self.check_arguments({"learning_rate": learning_rate, "baseline_decay": baseline_decay,
                              "entropy_weight": entropy_weight, "hidden_size": hidden_size, "num_layers": num_layers,
                              "temperature": temperature, "tanh_constant": tanh_constant, "batch_size": batch_size})
        self.baseline_decay = baseline_decay
        self.entropy_weight = entropy_weight
        self.batch_size = batch_size
        torch_seed = random_seed_for_torch(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed)
            layout = getattr(space, "anchor_layout", None)
            controller = (AnchorController(*layout(), hidden_size, num_layers, temperature, tanh_constant)
                          if layout is not None
                          else Controller(space.decisions(), hidden_size, num_layers, temperature, tanh_constant))
            self.controller = controller.to(device)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=learning_rate)
        self.generator = torch.Generator(device=self.controller.start.device).manual_seed(torch_seed)
        self.baseline: float | None = None
        self.pending: list[tuple[Any, float]] = []  # architectures told since the last step

    def _threads(self):
        on_cpu = self.controller.start.device.type == "cpu"
        return cpu_threads(1) if on_cpu else contextlib.nullcontext()

    def ask(self) -> Any:
        with self._threads(), torch.no_grad():
            sample = self.controller(generator=self.generator)
        return self.space.from_decisions(sample.decisions)

    def tell(self, arch: Any, reward: float) -> None:
        self.pending.append((arch, float(reward)))
        if len(self.pending) < self.batch_size:
            return
        if self.baseline is None:
            self.baseline = self.pending[0][1]
        with self._threads():
            loss = 0.0
            for arch, reward in self.pending:
                sample = self.controller(self.space.to_decisions(arch))
                loss = loss - (reward - self.baseline) * sample.log_prob - self.entropy_weight * sample.entropy
            loss = loss / len(self.pending)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        for _, reward in self.pending:
            self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * reward
        self.pending = []

    def state_dict(self) -> dict:
        return {**super().state_dict(), "controller": self.controller.state_dict(),
                "optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state(),
                "baseline": self.baseline, "pending": [[self.space.encode(a), r] for a, r in self.pending]}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.baseline = state["baseline"]
        self.pending = [(self.space.decode(a), float(r)) for a, r in state.get("pending", [])]


def random_seed_for_torch(seed: int) -> int:
    """Torch seeds must be non-negative 64-bit integers; map any Python int to one."""
    return int(seed) % (2 ** 63)
