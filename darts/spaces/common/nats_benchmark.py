"""NATS-Bench records as a reward: the authors' protocol (NATS-Bench, section 5) on either space.

A search is rewarded with the 12-epoch validation accuracy (CIFAR-10: on its `cifar10-valid` split) and
the chosen architecture is reported by its test accuracy after the full budget (200 epochs on the topology
space, 90 on the size space; CIFAR-10: the network trained on the full training set). Rewarding with the
test column selects on the test set, so it is only offered under a name that says so.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from darts.errors import UserError
from darts.spaces.common.nats_records import NatsRecords

FULL_EPOCHS = {"tss": 200, "sss": 90}
_DATASETS = {"cifar10": "cifar10", "cifar-10": "cifar10", "cifar10-valid": "cifar10", "cifar100": "cifar100",
             "cifar-100": "cifar100", "imagenet16-120": "ImageNet16-120", "imagenet16": "ImageNet16-120"}


def rewards(kind: str) -> dict[str, tuple[int, str]]:
    """Reward name -> (epochs, split) for a space kind ("tss" or "sss")."""
    full = FULL_EPOCHS[kind]
    return {"valid12": (12, "valid"), f"test{full}-leaks-test": (full, "test")}


class NatsTableEvaluator:
    """Reward = one column of NATS-Bench's records (percent); architectures are looked up by `str(arch)`."""

    def __init__(self, records: NatsRecords, dataset: str = "cifar10", reward: str = "valid12"):
        self.records = records
        self.dataset = _DATASETS.get(str(dataset).lower())
        if self.dataset is None:
            raise UserError(f"NATS-Bench has results for cifar10, cifar100 and ImageNet16-120, not {dataset}")
        table = rewards(records.kind)
        if reward not in table:
            raise UserError(f"unknown NATS-Bench reward {reward!r}; choose one of {', '.join(table)} "
                            f"(the -leaks-test reward selects on the test set the result is reported on)")
        self.reward = reward
        self.epochs, self.split = table[reward]
        self.name = f"nats-{records.kind}-table:{self.dataset}:{reward}"

    def _source(self, split: str) -> str:
        """CIFAR-10 validation comes from the half-training-set runs, as in the benchmark."""
        return "cifar10-valid" if self.dataset == "cifar10" and split == "valid" else self.dataset

    def evaluate(self, arch: Any) -> float:
        return self.records.accuracy(str(arch), self._source(self.split), self.epochs, self.split)

    def report(self, arch: Any) -> dict:
        """The full-budget test accuracy and the network's size, apart from the reward."""
        full = FULL_EPOCHS[self.records.kind]
        result = self.records.result(str(arch), self.dataset, full)
        return {f"nats_{self.dataset}_test{full}": result.test_accuracy, "nats_params_m": result.params_m,
                "nats_flops_m": result.flops_m}


def table_evaluator_and_report(path: str | Path, dataset: str, reward: str):
    """(evaluator, report) for `Space.table` from a fast-mode directory (e.g. NATS-sss-v1_0-50262-simple/)."""
    evaluator = NatsTableEvaluator(NatsRecords(path), dataset, reward or "valid12")
    return evaluator, evaluator.report
