"""NAS-Bench-101's table, queried in the benchmark's own terms and read without TensorFlow.

The official release is a TFRecord file read by TensorFlow. We read the same data as NASLib stores it, a
pickle {spec hash: (fixed stats, computed stats)}: fixed stats hold `module_adjacency`, `module_operations`
and `trainable_parameters`; computed stats map an epoch budget (4, 12, 36, 108) to a list of runs (three
seeds in the full table), each with final_/halfway_ train, validation and test accuracy and training time.
Accuracies are fractions, as the official API returns them.

    bench = NB101Benchmark("nb101_full.pkl")
    bench.query(ModelSpec(matrix, ops), epochs=108)   # the mean over the stored runs
    bench.query(spec, run="random")                   # one run drawn by the benchmark's seeded generator

The official `query` returns one run drawn at random; ours defaults to the mean over runs, so a search sees
one reward per cell (the paper reports means too); `run="random"` or a run number gives the official choice.
The authors' protocol (NAS-Bench-101, section 5): reward with validation accuracy, report test accuracy.
"""
from __future__ import annotations

import random
import statistics
from pathlib import Path

from darts.errors import UserError
from darts.spaces.common.nats_records import load_pickle
from darts.spaces.nb101.spec import ModelSpec

EPOCHS = (4, 12, 36, 108)
METRICS = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")


class NB101Benchmark:
    """Query API over a NASLib-format NAS-Bench-101 pickle (`seed` drives run="random")."""

    def __init__(self, path: str | Path, seed: int = 0):
        self.path = Path(path)
        data = load_pickle(self.path)
        if not isinstance(data, dict) or not data or not all(isinstance(v, tuple) and len(v) == 2
                                                             for v in data.values()):
            raise UserError(f"{self.path} is not a NAS-Bench-101 table in NASLib's format "
                            f"({{hash: (fixed stats, computed stats)}})")
        self.data = data
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, spec: ModelSpec) -> bool:
        return spec.is_valid() and spec.hash_spec() in self.data

    def hash_iterator(self):
        """Every cell hash in the table (as the official API's hash_iterator)."""
        return iter(self.data)

    def is_valid(self, spec: ModelSpec) -> bool:
        return spec.is_valid()

    def get_metrics_from_hash(self, key: str) -> tuple[dict, dict]:
        """(fixed stats, computed stats) of a cell hash, as stored."""
        if key not in self.data:
            raise UserError(f"cell {key} is not in {self.path} ({len(self.data)} cells)")
        return self.data[key]

    def get_metrics_from_spec(self, spec: ModelSpec) -> tuple[dict, dict]:
        return self.get_metrics_from_hash(spec.hash_spec())

    def query(self, spec: ModelSpec, epochs: int = 108, run: int | str = "mean", stop_halfway: bool = False) -> dict:
        """The official query's dict for `spec` trained `epochs`: one run (a number or "random") or the mean."""
        fixed, computed = self.get_metrics_from_spec(spec)
        runs = computed.get(epochs)
        if not runs:
            raise UserError(f"NAS-Bench-101 has no {epochs}-epoch results here; budgets: "
                            f"{', '.join(map(str, sorted(computed)))}")
        prefix = "halfway_" if stop_halfway else "final_"
        picked = self._pick(runs, run)
        out = {"module_adjacency": fixed["module_adjacency"], "module_operations": fixed["module_operations"],
               "trainable_parameters": int(fixed["trainable_parameters"])}
        for name in METRICS:
            out[name] = statistics.fmean(float(r[prefix + name]) for r in picked)
        return out

    def _pick(self, runs: list, run: int | str) -> list:
        if run == "mean":
            return list(runs)
        if run == "random":
            return [runs[self.rng.randrange(len(runs))]]
        if isinstance(run, int) and 0 <= run < len(runs):
            return [runs[run]]
        raise UserError(f"run must be 'mean', 'random' or a run number in 0..{len(runs) - 1}, got {run!r}")


REWARDS = {"valid108": (108, "validation_accuracy"), "valid36": (36, "validation_accuracy"),
           "valid12": (12, "validation_accuracy"), "valid4": (4, "validation_accuracy"),
           "test108-leaks-test": (108, "test_accuracy")}


class Nb101TableEvaluator:
    """Reward = a column of the table in percent: 108-epoch validation accuracy unless told otherwise."""

    def __init__(self, bench: NB101Benchmark, reward: str = "valid108"):
        if reward not in REWARDS:
            raise UserError(f"unknown NAS-Bench-101 reward {reward!r}; choose one of {', '.join(REWARDS)} "
                            f"(test108-leaks-test selects on the test set the result is reported on)")
        self.bench, self.reward = bench, reward
        self.epochs, self.column = REWARDS[reward]
        self.name = f"nb101-table:cifar10:{reward}"

    def evaluate(self, spec: ModelSpec) -> float:
        return 100.0 * self.bench.query(spec, self.epochs)[self.column]

    def report(self, spec: ModelSpec) -> dict:
        """The figures logged beside the reward: 108-epoch test accuracy (percent) and parameters."""
        result = self.bench.query(spec, 108)
        return {"nb101_cifar10_test108": 100.0 * result["test_accuracy"],
                "nb101_params": result["trainable_parameters"]}


def table_evaluator_and_report(path: str | Path, dataset: str, reward: str):
    """(evaluator, report) for `Space.table`: NAS-Bench-101 trained on CIFAR-10 only."""
    if str(dataset).lower().replace("-", "") != "cifar10":
        raise UserError(f"NAS-Bench-101 holds CIFAR-10 results only, not {dataset}")
    evaluator = Nb101TableEvaluator(NB101Benchmark(path), reward or "valid108")
    return evaluator, evaluator.report
