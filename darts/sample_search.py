"""Sample-based search (random, evolution, REINFORCE) on a space, rewarded by a table or by training.

The strategies know a space only through its ArchSpace adapter and a reward only through an
evaluator, so this module is the one place that pairs them for the command line and the library:

    nb201 + table     -> Nb201TableEvaluator (instant; measures sample efficiency, see its docstring)
    any space + data  -> TrainingEvaluator (a few epochs from scratch, validation accuracy)
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from darts.data.augment import normalize
from darts.data.images import ImageDataset
from darts.errors import UserError
from darts.evaluators.nb201_table import Nb201Table, Nb201TableEvaluator, dataset_name
from darts.evaluators.training import TrainingEvaluator
from darts.ops import PRIMITIVES
from darts.runs import RunDir
from darts.strategies.base import run_strategy
from darts.strategies.registry import build_strategy

log = logging.getLogger("darts")

SPACES = ("darts", "nb201")


def arch_space(space: str, primitives=PRIMITIVES):
    if space == "nb201":
        from darts.spaces.nb201.sampling import Nb201ArchSpace
        return Nb201ArchSpace()
    if space == "darts":
        from darts.spaces.darts_cnn.sampling import DartsCnnArchSpace
        return DartsCnnArchSpace(primitives)
    raise UserError(f"unknown space {space!r} for sample-based strategies; choose one of {', '.join(SPACES)}")


def table_evaluator(benchmark: str | Path, dataset: str) -> Nb201TableEvaluator:
    try:
        table_dataset = dataset_name(dataset)
    except UserError:
        raise UserError(f"the NAS-Bench-201 table has accuracies for cifar10, cifar100 and ImageNet16-120, not "
                        f"{dataset}: drop --benchmark to reward by training, or pick one of those") from None
    return Nb201TableEvaluator(Nb201Table(benchmark), table_dataset)


def training_evaluator(space: str, data: ImageDataset, train_portion: float, epochs: int, batch_size: int,
                       learning_rate: float, seed: int, device, init_channels: int, layers: int) -> TrainingEvaluator:
    """Low fidelity: train each sampled network from scratch on the first part of the training split and
    score it on the rest (the test set is never touched)."""
    n = len(data.train_x)
    split = int(n * train_portion)
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    x = normalize(data.train_x, mean, std)
    if space == "nb201":
        from darts.spaces.nb201.network import build_nb201_network
        build = lambda arch, c, k: build_nb201_network(arch, c, k, C=init_channels, N=max(1, layers // 3))
    else:
        from darts.spaces.darts_cnn.network import NetworkCIFAR
        build = lambda g, c, k: NetworkCIFAR(g, init_channels, k, layers, auxiliary=False, in_channels=c)
    return TrainingEvaluator(build, x[:split], data.train_y[:split], x[split:], data.train_y[split:], epochs=epochs,
                             batch_size=batch_size, learning_rate=learning_rate, num_classes=data.num_classes,
                             seed=seed, device=device, dataset=data.name, arch_key=lambda a: str(a))


def run_sample_search(strategy_name: str, space: str, evaluator, budget: int, seed: int, run: RunDir,
                      progress: bool = True) -> Any:
    """Run a strategy for `budget` evaluations; history.jsonl and its state make it resumable."""
    adapter = arch_space(space)
    strategy = build_strategy(strategy_name, adapter, seed=seed)
    history = run.file("history.jsonl") if run.enabled else None
    log.info("%s search of the %s space: %d evaluations, reward = %s", strategy_name, space, budget, evaluator.name)
    result = run_strategy(strategy, evaluator, budget, history_path=history, progress=progress,
                          on_step=lambda r: log.debug("step %d reward %.3f best %.3f", r["step"], r["reward"],
                                                      r["best_reward"]))
    best = result.best_arch
    log.info("best architecture (reward %.3f): %s", result.best_reward, best)
    run.write_json("genotype.json", best.to_dict())
    return best
