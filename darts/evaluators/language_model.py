"""Low-fidelity language-model rewards: train a cell's language model for a few windows, reward
c / validation perplexity (Zoph & Le 2017, sec. 4.2: c a constant, 80; `power` 2 gives c / ppl^2).

Same protocol as darts.evaluators.training.TrainingEvaluator (`name`, `evaluate(arch)`), and as
deterministic: each architecture trains from a seed derived from the evaluator's seed and the
architecture itself, so a resumed search sees the same rewards. Training is plain SGD with gradient
clipping on fixed windows of `bptt` tokens (the AWD-LSTM / DARTS PTB settings: lr 20, clip 0.25), and
validation runs over the first `valid_batches` windows of the validation text in 10 columns. A cell
whose training loss or validation perplexity is not finite gets reward 0. `max_batches` (smoke runs) caps
both window counts.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn as nn

from darts.data.text import TextStream
from darts.evaluators.base import arch_seed
from darts.language_task import LanguageModel
from darts.training import TrainingDiverged, check_finite, evaluate, weight_step


class LmEvaluator:
    def __init__(self, build_model: Callable[[Any], nn.Module], train_tokens: torch.Tensor,
                 valid_tokens: torch.Tensor, train_batches: int = 100, valid_batches: int | None = 20,
                 batch_size: int = 32, bptt: int = 35, learning_rate: float = 20.0, grad_clip: float = 0.25,
                 reward_c: float = 80.0, power: float = 1.0, seed: int = 0, device: torch.device | str = "cpu",
                 dataset: str = "ptb", arch_key: Callable[[Any], str] = repr, max_batches: int | None = None):
        if train_batches < 1:
            raise ValueError(f"low-fidelity training needs at least one batch, got {train_batches}")
        if max_batches is not None:
            if max_batches < 1:
                raise ValueError(f"max_batches must be at least 1, got {max_batches}")
            train_batches = min(train_batches, max_batches)
            valid_batches = max_batches if valid_batches is None else min(valid_batches, max_batches)
        self.build_model, self.device = build_model, torch.device(device)
        self.train_tokens, self.valid_tokens = train_tokens, valid_tokens
        self.train_batches, self.valid_batches = train_batches, valid_batches
        self.batch_size, self.bptt = batch_size, bptt
        self.learning_rate, self.grad_clip = learning_rate, grad_clip
        self.reward_c, self.power, self.seed, self.arch_key = reward_c, power, seed, arch_key
        self.task = LanguageModel(alpha=0.0, beta=0.0)
        self.name = f"lm:{dataset}:{train_batches}x{batch_size}x{bptt}"

    def arch_seed(self, arch: Any) -> int:
        return arch_seed(self.seed, self.arch_key(arch))

    def perplexity(self, arch: Any) -> float:
        """Validation perplexity after the low-fidelity training (inf when training or validation diverges)."""
        seed = self.arch_seed(arch)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = self.build_model(arch).to(self.device)
            train = TextStream(self.train_tokens, self.batch_size, self.bptt, self.device, seed=seed, name="train")
            params = list(model.parameters())
            optimizer = torch.optim.SGD(params, lr=self.learning_rate)
            model.train()
            try:
                for step in range(self.train_batches):
                    loss, _ = self.task.loss_and_stats(model, train.next())
                    check_finite(loss, "low-fidelity language-model loss", 0, step)
                    weight_step(params, loss, optimizer, self.grad_clip)
            except TrainingDiverged:
                return float("inf")
        valid = TextStream(self.valid_tokens, 10, self.bptt, self.device, name="valid")
        ppl = float(evaluate(model, self.task, valid.evaluation_batches(self.valid_batches))["ppl"])
        return ppl if math.isfinite(ppl) else float("inf")  # states that overflow on the long validation run

    def evaluate(self, arch: Any) -> float:
        return self.reward_c / self.perplexity(arch) ** self.power
