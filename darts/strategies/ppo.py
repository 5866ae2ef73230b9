"""Proximal policy optimisation (Schulman et al. 2017) of the LSTM controller, as NASNet trains it.

REINFORCE (darts.strategies.reinforce) takes one gradient step per architecture. PPO instead collects a
batch of m architectures a_j with their rewards R_j and log-probabilities under the policy that sampled
them (pi_old), then takes `epochs` Adam steps on the clipped surrogate

    L = mean_j min(r_j A_j, clip(r_j, 1 - eps, 1 + eps) A_j) + entropy_weight * mean_j H_j,
    r_j = pi(a_j) / pi_old(a_j),   A_j = R_j - b,

maximised (its negative is the loss). The clip removes the incentive to move r_j beyond [1-eps, 1+eps],
so several epochs on one batch do not step far from the policy that produced it. b is the exponential
moving average of earlier rewards (the first batch's mean to start with), updated after each batch.

The controller, its sampling, the optimiser and the baseline are REINFORCE's; `tell` scores the
architecture it is given under the current policy (which is pi_old until the batch is full), so the
pending batch is plain numbers in `state_dict()` and a restored strategy continues exactly.
"""
from __future__ import annotations

from typing import Any

import torch

from darts.strategies.base import ArchSpace
from darts.strategies.reinforce import Reinforce


def clipped_objective(log_prob: torch.Tensor, old_log_prob: torch.Tensor, advantage: torch.Tensor,
                      clip: float) -> torch.Tensor:
    """mean_j min(r_j A_j, clip(r_j, 1 - clip, 1 + clip) A_j) with r_j = exp(log_prob_j - old_log_prob_j)."""
    ratio = torch.exp(log_prob - old_log_prob)
    return torch.min(ratio * advantage, ratio.clamp(1 - clip, 1 + clip) * advantage).mean()


class PPO(Reinforce):
    """PPO: batches of m architectures, several epochs of the clipped surrogate on the LSTM controller."""

    name = "ppo"
    option_rules = {**Reinforce.option_rules, "epochs": {"minimum": 1}, "clip": {"above": 0.0, "below": 1.0}}

    def __init__(self, space: ArchSpace, seed: int = 0, learning_rate: float = 0.02, batch_size: int = 5,
                 epochs: int = 4, clip: float = 0.2, baseline_decay: float = 0.9, entropy_weight: float = 1.0,
                 hidden_size: int = 64, num_layers: int = 1, temperature: float | None = None,
                 tanh_constant: float | None = None, device: torch.device | str = "cpu"):
        self.check_arguments({"batch_size": batch_size, "epochs": epochs, "clip": clip})
        super().__init__(space, seed, learning_rate, baseline_decay, entropy_weight, hidden_size, num_layers,
                         temperature, tanh_constant, device)
        self.batch_size, self.epochs, self.clip = batch_size, epochs, clip
        self.batch: list[tuple[list[int], float, float]] = []  # (decisions, log pi_old, reward)

    def tell(self, arch: Any, reward: float) -> None:
        decisions = self.space.to_decisions(arch)
        with self._threads(), torch.no_grad():
            old = float(self.controller(decisions).log_prob)
        self.batch.append((decisions, old, float(reward)))
        if len(self.batch) >= self.batch_size:
            self._update()
            self.batch = []

    def _update(self) -> None:
        rewards = [r for _, _, r in self.batch]
        if self.baseline is None:
            self.baseline = sum(rewards) / len(rewards)
        device = self.controller.start.device
        advantage = torch.tensor([r - self.baseline for r in rewards], device=device)
        old = torch.tensor([lp for _, lp, _ in self.batch], device=device)
        with self._threads():
            for _ in range(self.epochs):
                samples = [self.controller(d) for d, _, _ in self.batch]
                log_prob = torch.stack([s.log_prob for s in samples])
                entropy = torch.stack([s.entropy for s in samples]).mean()
                loss = -clipped_objective(log_prob, old, advantage, self.clip) - self.entropy_weight * entropy
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
        for r in rewards:
            self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * r

    def state_dict(self) -> dict:
        return {**super().state_dict(), "batch": [[d, lp, r] for d, lp, r in self.batch]}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.batch = [([int(x) for x in d], float(lp), float(r)) for d, lp, r in state["batch"]]
