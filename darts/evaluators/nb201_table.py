"""The NAS-Bench-201 results table: the trained accuracy of every cell of the space, looked up instantly.

The file (e.g. ../shared/data/nb201/nats_bench_tss_200ep.csv) has one row per cell, row i = table
index i, with the 200-epoch test accuracy (percent, mean over seeds) on CIFAR-10, CIFAR-100 and
ImageNet16-120, the architecture string and the benchmark's isomorphism key.

Caveat: the table holds *test* accuracy only. A strategy that uses it as its reward is measured for
sample efficiency (how many queries it needs to find a good cell), not for an honest test score:
selecting on the test set and reporting the same number is optimistic by construction.
"""
from __future__ import annotations

import csv
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from darts.errors import UserError
from darts.spaces.nb201.arch import NUM_ARCHS, Nb201Arch, Nb201ArchError, parse_arch

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
COLUMNS = {"cifar10": "CIFAR10TestAccuracy200Epochs", "cifar100": "CIFAR100TestAccuracy200Epochs",
           "ImageNet16-120": "ImageNetTestAccuracy200Epochs"}
ARCH_COLUMN, CANONICAL_COLUMN = "ArchitectureString", "UniqueString"
_ALIASES = {"cifar10": "cifar10", "cifar-10": "cifar10", "cifar100": "cifar100", "cifar-100": "cifar100",
            "imagenet16-120": "ImageNet16-120", "imagenet16": "ImageNet16-120", "imagenet": "ImageNet16-120"}

ArchKey = Union[Nb201Arch, str, int]


def dataset_name(name: str) -> str:
    """The table's name for a dataset, accepting common spellings (CIFAR-10, imagenet16-120, ...)."""
    key = _ALIASES.get(str(name).lower())
    if key is None:
        raise UserError(f"the NAS-Bench-201 table has no dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return key


@dataclass(frozen=True)
class Nb201Record:
    index: int
    arch: Nb201Arch
    accuracy: dict  # dataset -> 200-epoch test accuracy in percent
    canonical: str  # the benchmark's isomorphism key


class Nb201Table:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"NAS-Bench-201 table {self.path} not found; pass the CSV file, "
                            f"e.g. --benchmark ../shared/data/nb201/nats_bench_tss_200ep.csv")
        with open(self.path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in (*COLUMNS.values(), ARCH_COLUMN, CANONICAL_COLUMN) if c not in (reader.fieldnames or [])]
            if missing:
                raise UserError(f"{self.path} is not a NAS-Bench-201 table: columns {', '.join(missing)} are missing")
            rows = list(reader)
        if len(rows) != NUM_ARCHS:
            raise UserError(f"{self.path} has {len(rows)} rows; a NAS-Bench-201 table has one per cell, {NUM_ARCHS}")
        self.accuracy = {d: [0.0] * NUM_ARCHS for d in DATASETS}
        self.canonical: list[str] = []
        self._classes: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            try:
                arch = parse_arch(row[ARCH_COLUMN])
            except Nb201ArchError as e:
                raise UserError(f"{self.path} row {i + 2}: {e}") from None
            if arch.index != i:
                raise UserError(f"{self.path} row {i + 2} holds cell {arch.index}, not {i}: the rows must be "
                                f"in the benchmark's index order")
            for d, col in COLUMNS.items():
                try:
                    self.accuracy[d][i] = float(row[col])
                except ValueError:
                    raise UserError(f"{self.path} row {i + 2}: {col} is {row[col]!r}, not a number") from None
            self.canonical.append(row[CANONICAL_COLUMN])
            self._classes.setdefault(row[CANONICAL_COLUMN], []).append(i)

    def __len__(self) -> int:
        return NUM_ARCHS

    @staticmethod
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

    def query(self, key: ArchKey) -> Nb201Record:
        i = self.index_of(key)
        return Nb201Record(i, Nb201Arch.from_index(i), {d: self.accuracy[d][i] for d in DATASETS}, self.canonical[i])

    def test_accuracy(self, key: ArchKey, dataset: str = "cifar10") -> float:
        return self.accuracy[dataset_name(dataset)][self.index_of(key)]

    def isomorphic(self, a: ArchKey, b: ArchKey) -> bool:
        """True when the two cells compute the same function (the benchmark's rule)."""
        return self.canonical[self.index_of(a)] == self.canonical[self.index_of(b)]

    def isomorphs(self, key: ArchKey) -> list[int]:
        """Indices of every cell isomorphic to `key`, itself included."""
        return list(self._classes[self.canonical[self.index_of(key)]])

    def num_unique(self) -> int:
        return len(self._classes)

    def best(self, dataset: str = "cifar10") -> Nb201Record:
        acc = self.accuracy[dataset_name(dataset)]
        return self.query(max(range(NUM_ARCHS), key=acc.__getitem__))


class Nb201TableEvaluator:
    """Reward = the table's test accuracy (percent) of the cell on one dataset: an instant query."""

    def __init__(self, table: Nb201Table, dataset: str = "cifar10"):
        self.table = table
        self.dataset = dataset_name(dataset)
        self.name = f"nb201-table:{self.dataset}"

    def evaluate(self, arch: ArchKey) -> float:
        return self.table.test_accuracy(arch, self.dataset)
