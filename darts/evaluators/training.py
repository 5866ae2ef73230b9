"""Low-fidelity evaluation: train an architecture's final network from scratch for a few epochs.

This is how the strategies that came before DARTS scored a sample (Zoph & Le trained every child
network; later work cut the epochs to make that affordable). It works for any space and dataset:
the caller supplies `build_network(arch, in_channels, num_classes)` and in-memory tensors (float,
NCHW, already normalized). The reward is the validation accuracy in percent.

Each architecture is trained from a seed derived from the evaluator's seed and the architecture
itself, so its reward does not depend on when it was sampled: a resumed search sees the same rewards.
The optimizer follows the NAS-Bench-201 recipe (SGD, Nesterov momentum 0.9, weight decay 5e-4,
learning rate 0.1 annealed by a cosine) at however many epochs you give it. `max_batches` (smoke runs)
caps a trial's training batches, all epochs together, and its validation batches.

Multi-fidelity search (darts.strategies.multi_fidelity) passes `report(epoch, accuracy) -> bool`: the
validation accuracy after each epoch, True to stop there. The cosine always spans all `epochs`, so a trial
stopped after r epochs trained exactly as the first r epochs of the full trial: its rungs are comparable.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn as nn

from darts.evaluators.base import arch_seed
from darts.training import ImageClassification, check_finite, evaluate, weight_step

BuildNetwork = Callable[[Any, int, int], nn.Module]
Report = Callable[[int, float], bool]  # (epochs done, validation accuracy in percent) -> stop now


class TrainingEvaluator:
    def __init__(self, build_network: BuildNetwork, train_x: torch.Tensor, train_y: torch.Tensor,
                 val_x: torch.Tensor, val_y: torch.Tensor, epochs: int = 1, batch_size: int = 64,
                 learning_rate: float = 0.1, momentum: float = 0.9, weight_decay: float = 5e-4,
                 grad_clip: float | None = 5.0, num_classes: int | None = None, seed: int = 0,
                 device: torch.device | str = "cpu", dataset: str = "data", arch_key: Callable[[Any], str] = repr,
                 max_batches: int | None = None):
        if epochs < 1:
            raise ValueError(f"low-fidelity training needs at least one epoch, got {epochs}")
        if max_batches is not None and max_batches < 1:
            raise ValueError(f"max_batches must be at least 1, got {max_batches}")
        if train_x.dim() != 4 or val_x.dim() != 4:
            raise ValueError("images must be float tensors of shape (N, C, H, W)")
        self.build_network = build_network
        self.device = torch.device(device)
        self.train_x, self.train_y = train_x.to(self.device), train_y.to(self.device).long()
        self.val_x, self.val_y = val_x.to(self.device), val_y.to(self.device).long()
        self.in_channels = int(train_x.shape[1])
        self.num_classes = num_classes or int(max(self.train_y.max(), self.val_y.max())) + 1
        self.epochs, self.batch_size = epochs, batch_size
        self.learning_rate, self.momentum, self.weight_decay = learning_rate, momentum, weight_decay
        self.grad_clip = grad_clip
        self.seed = seed
        self.arch_key = arch_key
        self.max_batches = max_batches
        self.task = ImageClassification()
        self.name = f"training:{dataset}:{epochs}ep" + (f":max{max_batches}batches" if max_batches else "")

    def arch_seed(self, arch: Any) -> int:
        return arch_seed(self.seed, self.arch_key(arch))

    def evaluate(self, arch: Any, report: Report | None = None) -> float:
        """Validation accuracy (percent) of `arch` trained from scratch from its own seed; with `report`, the
        accuracy after each epoch is reported (True: stop) and the last one reported is returned."""
        seed = self.arch_seed(arch)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = self.build_network(arch, self.in_channels, self.num_classes).to(self.device)
        if report is None:
            self.train(model, torch.Generator().manual_seed(seed))
            return self.validate(model)
        reported: list[float] = []

        def after_epoch(epoch: int) -> bool:
            reported.append(self.validate(model))
            return bool(report(epoch, reported[-1]))
        self.train(model, torch.Generator().manual_seed(seed), after_epoch)
        return reported[-1]

    def validate(self, model: nn.Module) -> float:
        """Accuracy (percent) on the validation images (at most `max_batches` batches); the mode is kept."""
        size = 2 * self.batch_size
        starts = range(0, len(self.val_x), size)[:self.max_batches]
        batches = ((self.val_x[i:i + size], self.val_y[i:i + size]) for i in starts)
        return float(evaluate(model, self.task, batches)["acc"])

    def train(self, model: nn.Module, generator: torch.Generator,
              after_epoch: Callable[[int], bool] | None = None) -> int:
        """SGD with a per-step cosine over the epochs (at most `max_batches` steps in all); the steps taken.
        `after_epoch(epochs done) -> stop` is called after every epoch, those left without steps by the cap
        included, so a report has one value per epoch."""
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(params, lr=self.learning_rate, momentum=self.momentum, nesterov=True,
                                    weight_decay=self.weight_decay)
        n = len(self.train_x)
        steps_per_epoch = max(1, n // self.batch_size)  # drop the last partial batch (BatchNorm needs > 1)
        total, step = self.epochs * steps_per_epoch, 0
        if self.max_batches is not None:
            total = min(total, self.max_batches)
        model.train()
        for epoch in range(self.epochs):
            if step == total and after_epoch is None:
                break
            order = torch.randperm(n, generator=generator).to(self.device)
            for b in range(min(steps_per_epoch, total - step)):
                for group in optimizer.param_groups:  # cosine annealing, per step
                    group["lr"] = 0.5 * self.learning_rate * (1 + math.cos(math.pi * step / total))
                idx = order[b * self.batch_size:(b + 1) * self.batch_size]
                loss = self.task.loss(model, (self.train_x[idx], self.train_y[idx]))
                check_finite(loss, "low-fidelity training loss", epoch, b)
                weight_step(params, loss, optimizer, self.grad_clip)
                step += 1
            if after_epoch is not None and after_epoch(epoch + 1):
                break
        return step
