"""A reader of NATS-Bench's own record files (Dong et al., "NATS-Bench", TPAMI 2021), without its package.

NATS-Bench's "fast mode" directories (e.g. NATS-tss-v1_0-3ffb9-simple/, NATS-sss-v1_0-50262-simple/) hold
`meta.pickle.pbz2` (the list of architecture strings, row i = index i) and one bz2-compressed pickle per
architecture, `{index:06d}.pickle.pbz2`: {hp: {"arch_index", "arch_str", "all_results", "dataset_seed"}},
hp being the training budget in epochs as text ("12" and "200" for the topology space, "01", "12" and "90"
for the size space). all_results[(dataset, seed)] holds per-epoch training accuracy ("train_acc1es"),
per-epoch evaluation accuracy ("eval_acc1es", keyed "<split>@<epoch>"), params (millions), flop (millions),
latency (seconds per batch) and per-epoch times. The reader is format-level: both spaces, any dataset.

Splits follow the benchmark's API (get_more_info): on "cifar10-valid" (trained on half the training set)
valid = its "x-valid" half and test = "ori-test"; "cifar10" (full training set) has only "ori-test"; on
"cifar100" and "ImageNet16-120" the original test set is halved into "x-valid" and "x-test". Accuracies
are in percent, averaged over the seeds the record holds.

The files are pickles, which can run code when loaded; `load_pickle` only rebuilds plain containers and
numpy numbers / arrays (darts.safe_pickle), so a bad file fails instead of running anything.
"""
from __future__ import annotations

import bz2
import pickle
import statistics
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Union

from darts.errors import UserError
from darts.safe_pickle import load_restricted

META_FILE = "meta.pickle.pbz2"
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
SPLITS = ("train", "valid", "test")


def load_pickle(path: str | Path) -> Any:
    """A benchmark pickle (bz2-compressed when its name ends in .pbz2 or .bz2), loaded without running code."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"benchmark file {path} not found")
    opener = bz2.open if path.suffix in (".pbz2", ".bz2") else open
    try:
        with opener(path, "rb") as f:
            return load_restricted(f)
    except (pickle.UnpicklingError, EOFError, OSError, ValueError) as e:
        raise UserError(f"{path} is not a readable benchmark pickle: {e}") from None


@dataclass(frozen=True)
class NatsResult:
    """One architecture trained for `epochs` on `dataset`: final accuracies (percent, mean over `seeds`),
    per-epoch curves, and cost as the benchmark measured it."""
    index: int
    arch: str                  # topology string |op~0|+|...| or channels "64:32:48:8:64"
    dataset: str
    epochs: int
    seeds: tuple[int, ...]
    train_accuracy: float
    valid_accuracy: float | None   # None where the benchmark has no validation split (cifar10)
    test_accuracy: float | None
    params_m: float            # parameters, millions
    flops_m: float             # FLOPs, millions
    latency_s: float           # seconds per batch
    train_time_s: float        # seconds for all epochs of one seed
    curves: dict = field(default_factory=dict, compare=False)  # split -> per-epoch accuracy (None: not recorded)


ArchKey = Union[int, str]


class NatsRecords:
    """The records of one fast-mode directory; files are read on first use and kept."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        meta = load_pickle(self.folder / META_FILE)
        if not isinstance(meta, dict) or not isinstance(meta.get("meta_archs"), list):
            raise UserError(f"{self.folder / META_FILE} is not a NATS-Bench meta file (no 'meta_archs' list)")
        self.archs: list[str] = list(meta["meta_archs"])
        self._index = {a: i for i, a in enumerate(self.archs)}
        self.kind = "sss" if ":" in self.archs[0] else "tss"
        self._raw = lru_cache(maxsize=4096)(self._load)

    def __len__(self) -> int:
        return len(self.archs)

    def index_of(self, arch: ArchKey) -> int:
        """Index of an architecture string (or an index, checked)."""
        if isinstance(arch, str):
            if arch not in self._index:
                raise UserError(f"{arch!r} is not an architecture of {self.folder}")
            return self._index[arch]
        if isinstance(arch, bool) or not isinstance(arch, int) or not 0 <= arch < len(self.archs):
            raise UserError(f"a NATS-Bench index is an integer in 0..{len(self.archs) - 1}, got {arch!r}")
        return arch

    def _load(self, index: int) -> dict:
        path = self.folder / f"{index:06d}.pickle.pbz2"
        if not path.is_file():
            raise UserError(f"{path} not found: the directory holds no record of architecture {index} "
                            f"({self.archs[index]})")
        return load_pickle(path)

    def budgets(self, arch: ArchKey) -> list[int]:
        """Training budgets (epochs) recorded for an architecture."""
        return sorted(int(hp) for hp in self._raw(self.index_of(arch)))

    def result(self, arch: ArchKey, dataset: str = "cifar10-valid", epochs: int = 12) -> NatsResult:
        index = self.index_of(arch)
        record = self._raw(index)
        hp = next((h for h in record if int(h) == int(epochs)), None)
        if hp is None:
            raise UserError(f"NATS-Bench has no {epochs}-epoch results for {self.archs[index]}; budgets: "
                            f"{', '.join(map(str, self.budgets(index)))}")
        runs = [r for (d, _), r in record[hp]["all_results"].items() if d == dataset]
        if not runs:
            raise UserError(f"NATS-Bench has no {dataset!r} results; datasets: {', '.join(DATASETS)}")
        return _summarise(index, self.archs[index], dataset, int(epochs), runs)

    def accuracy(self, arch: ArchKey, dataset: str, epochs: int, split: str) -> float:
        """Final accuracy (percent, mean over seeds) on `split` (train / valid / test)."""
        if split not in SPLITS:
            raise UserError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        value = getattr(self.result(arch, dataset, epochs), f"{split}_accuracy")
        if value is None:
            raise UserError(f"NATS-Bench has no {split} split on {dataset}: use cifar10-valid for a validation "
                            f"split of CIFAR-10")
        return value


def eval_split(dataset: str, split: str) -> str | None:
    """The record's evaluation set that the benchmark's API reports as `split` on `dataset`."""
    if split == "valid":
        return None if dataset == "cifar10" else "x-valid"
    return "ori-test" if dataset in ("cifar10", "cifar10-valid") else "x-test"


def _curve(runs: list[dict], name: str | None, epochs: int) -> list[float | None] | None:
    """Per-epoch accuracy, mean over seeds; None at epochs the record skips (some 200-epoch runs were
    evaluated on a split only after their last epoch)."""
    if name is None:
        return None
    if name == "train":
        per_seed = [[r["train_acc1es"].get(e) for e in range(epochs)] for r in runs]
    else:
        per_seed = [[r["eval_acc1es"].get(f"{name}@{e}") for e in range(epochs)] for r in runs]
    return [None if any(v is None for v in values) else statistics.fmean(map(float, values))
            for values in zip(*per_seed)]


def _summarise(index: int, arch: str, dataset: str, epochs: int, runs: list[dict]) -> NatsResult:
    curves = {"train": _curve(runs, "train", epochs)}
    for split in ("valid", "test"):
        curves[split] = _curve(runs, eval_split(dataset, split), epochs)
    final = {s: (c[-1] if c else None) for s, c in curves.items()}
    first = runs[0]
    return NatsResult(
        index=index, arch=arch, dataset=dataset, epochs=epochs, seeds=tuple(sorted(int(r["seed"]) for r in runs)),
        train_accuracy=final["train"], valid_accuracy=final["valid"], test_accuracy=final["test"],
        params_m=float(first["params"]), flops_m=float(first["flop"]), latency_s=float(first["latency"][0]),
        train_time_s=statistics.fmean(sum(map(float, r["train_times"].values())) for r in runs),
        curves={s: c for s, c in curves.items() if c is not None})


def read_records(folder: str | Path) -> NatsRecords:
    """The records of a NATS-Bench fast-mode directory (topology or size space)."""
    return NatsRecords(folder)
