"""Rewards by a zero-cost proxy: an architecture's final network, built from its own seed, scored on one fixed
minibatch of training data without any training (darts.proxies). Same protocol as TrainingEvaluator (`name`,
`evaluate(arch)`), and as deterministic: the network's initial weights come from a seed derived from the
evaluator's seed and the architecture itself, so a resumed search sees the same rewards.

The reward is the proxy's raw score (higher is better; #params and FLOPs reward size): random search and
evolution use only its order, the other strategies its magnitude too. A score that is undefined (NaN) or
infinite is reported as -inf, below every defined one.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from darts.evaluators.base import arch_seed
from darts.proxies import get_proxy, minibatch

BuildNetwork = Callable[[Any, int, int], nn.Module]


class ProxyEvaluator:
    def __init__(self, build_network: BuildNetwork, inputs: torch.Tensor, targets: torch.Tensor, proxy: str = "naswot",
                 num_classes: int | None = None, batch_size: int | None = None, seed: int = 0,
                 device: torch.device | str = "cpu", dataset: str = "data", arch_key: Callable[[Any], str] = repr):
        self.proxy = get_proxy(proxy)
        if inputs.dim() != 4:
            raise ValueError("images must be float tensors of shape (N, C, H, W)")
        n = min(len(inputs), batch_size or self.proxy.batch_size)
        self.device = torch.device(device)
        self.inputs, self.targets = inputs[:n].to(self.device), targets[:n].to(self.device).long()
        self.build_network, self.seed, self.arch_key = build_network, seed, arch_key
        self.in_channels = int(inputs.shape[1])
        self.num_classes = num_classes or int(targets.max()) + 1
        self.name = f"proxy:{self.proxy.name}:{dataset}:{n}images"

    @classmethod
    def from_dataset(cls, build_network: BuildNetwork, dataset, proxy: str, portion: float = 1.0, seed: int = 0,
                     device: torch.device | str = "cpu", arch_key: Callable[[Any], str] = repr) -> "ProxyEvaluator":
        """The evaluator of an ImageDataset: the proxy's minibatch drawn (seeded) from the first `portion` of the
        training split, as the low-fidelity evaluator trains on it (the test split is never read)."""
        size = get_proxy(proxy).batch_size
        x, y = minibatch(dataset, min(size, max(1, int(len(dataset.train_x) * portion))), seed, portion)
        return cls(build_network, x, y, proxy, num_classes=dataset.num_classes, seed=seed, device=device,
                   dataset=dataset.name, arch_key=arch_key)

    def arch_seed(self, arch: Any) -> int:
        return arch_seed(self.seed, self.arch_key(arch))

    def score(self, arch: Any) -> float:
        """The proxy's score of `arch`'s network, initialised from the architecture's own seed."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.arch_seed(arch))
            network = self.build_network(arch, self.in_channels, self.num_classes).to(self.device)
            return self.proxy.compute(network, self.inputs, self.targets, F.cross_entropy)

    def evaluate(self, arch: Any) -> float:
        value = self.score(arch)
        return value if math.isfinite(value) else float("-inf")
