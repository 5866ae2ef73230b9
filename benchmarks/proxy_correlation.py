"""How well zero-cost proxies rank NAS-Bench-201 cells: Spearman and Kendall tau of each proxy's score with the
table's 200-epoch test accuracy and 12-epoch validation accuracy (CIFAR-10), with bootstrap 95 % intervals and
the time per architecture on this machine, beside #params and FLOPs.

N cells are drawn without replacement from the 15,625 with a fixed seed. Each cell's network is built at the
benchmark's size (C=16, N=5; --init_channels / --layers shrink it for a smoke run) from a seed derived from
the run's seed and the cell, and every proxy scores it on the same minibatch of training images, each with the
batch its paper uses (64; NASWOT and ZiCo 128) unless --batch_size is given. The images are the JPEG-rebuilt
CIFAR-10 ($DARTS_SHARED_DATA/cifar10-jpeg/cifar10-jpeg.tar.gz, JPEG quality about 75: lossy, so a figure here is
on JPEG-rebuilt CIFAR-10, not on CIFAR-10 itself): the first --images_per_class training images of each class
are extracted once into --cache and read with the package's image-folder reader.

    python benchmarks/proxy_correlation.py --benchmark data/nb201/nats_bench_tss_200ep.csv --cells 1000

A proxy that is undefined on a cell (jacob_cov with a constant Jacobian) is left out of that proxy's
correlations; the table says how many cells it was undefined on.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from darts.checkpoint import atomic_write_json
from darts.data.folder import default_cache_dir, load_image_folder
from darts.evaluators.base import arch_seed
from darts.proxies import get_proxy, minibatch, network_of, proxies as registered
from darts.spaces.common.nb201_arch import NUM_ARCHS, Nb201Arch
from darts.spaces.nb201.benchmark import Nb201Benchmark
from darts.spaces.registry import DataShape

TARGETS = (("test200", 200, "test"), ("valid12", 12, "valid"))
CIFAR10_CLASSES = 10


def extract_training_images(archive: Path, out: Path, per_class: int) -> Path:
    """The first `per_class` training images of each class (by file name) of the JPEG CIFAR-10 archive, in
    OUT/<class>/; extracted into a temporary folder beside OUT and renamed, once."""
    if out.is_dir():
        return out
    with tarfile.open(archive, "r:gz") as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
    by_class: dict[str, list[str]] = {}
    for name in sorted(names):
        parts = name.split("/")
        if len(parts) == 3 and parts[0] == "train" and parts[2].endswith(".jpg") and ".." not in parts:
            by_class.setdefault(parts[1], []).append(name)
    wanted = {n for files in by_class.values() for n in files[:per_class]}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=out.name + ".tmp"))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name in wanted:
                    _, cls, fname = member.name.split("/")
                    (tmp / cls).mkdir(exist_ok=True)
                    (tmp / cls / fname).write_bytes(tar.extractfile(member).read())
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def image_minibatch(folder: Path, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`size` training images of the folder drawn with the seed, normalized (darts.proxies.minibatch)."""
    dataset = load_image_folder(folder, image_size=32, cache=False)
    if size > len(dataset.train_x):
        raise SystemExit(f"error: a minibatch of {size} needs as many training images; raise --images_per_class")
    return minibatch(dataset, size, seed)


def sample_cells(n: int, seed: int) -> list[int]:
    if not 2 <= n <= NUM_ARCHS:
        raise SystemExit(f"error: --cells must be in 2..{NUM_ARCHS}, got {n}")
    return random.Random(seed).sample(range(NUM_ARCHS), n)


def score_cells(cells: list[int], names: list[str], x: torch.Tensor, y: torch.Tensor, seed: int,
                options: dict, batch_size: int | None, journal: Path | None = None) -> tuple[dict, dict]:
    """(proxy -> score per cell, proxy -> seconds per cell); each cell's network built once from its seed. With a
    `journal`, each scored cell is appended to it as a JSON line and the cells it already holds are read back
    instead of scored again, so a long run that is stopped continues where it was."""
    scores = {n: [] for n in names}
    seconds = {n: [] for n in names}
    shape = DataShape(3, x.shape[2], x.shape[3], CIFAR10_CLASSES)
    done = _journal_rows(journal, names)
    for index in cells:
        if index in done:
            for name in names:
                scores[name].append(done[index]["scores"][name])
                seconds[name].append(done[index]["seconds"][name])
            continue
        arch = Nb201Arch.from_index(index)
        network = network_of(arch, shape, arch_seed(seed, str(arch)), options)
        for name in names:
            proxy = get_proxy(name)
            n = batch_size or proxy.batch_size
            start = time.perf_counter()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                value = proxy.compute(network, x[:n], y[:n], torch.nn.functional.cross_entropy)
            seconds[name].append(time.perf_counter() - start)
            scores[name].append(value)
        if journal is not None:
            row = {"cell": index, "scores": {n: scores[n][-1] for n in names},
                   "seconds": {n: seconds[n][-1] for n in names}}
            with open(journal, "a") as f:
                f.write(json.dumps(row) + "\n")
                f.flush()
                os.fsync(f.fileno())
    return scores, seconds


def _journal_rows(journal: Path | None, names: list[str]) -> dict:
    """Cell -> its journal row (complete lines that scored every proxy asked; a torn last line is ignored)."""
    rows = {}
    if journal is not None and journal.exists():
        for line in journal.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if all(n in row.get("scores", {}) for n in names):
                rows[row["cell"]] = row
    return rows


def correlations(scores, accuracies, boot: int = 1000, seed: int = 0) -> dict:
    """Spearman and Kendall tau of the finite scores with their accuracies, each with a percentile bootstrap 95 %
    interval over `boot` resamplings of the cells; and how many scores were left out as undefined."""
    s, a = np.asarray(scores, dtype=float), np.asarray(accuracies, dtype=float)
    keep = np.isfinite(s)
    s, a = s[keep], a[keep]
    out = {"undefined": int((~keep).sum()), "n": int(len(s))}
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(s), len(s)) for _ in range(boot)] if len(s) > 1 else []
    for key, fn in (("spearman", stats.spearmanr), ("kendall", stats.kendalltau)):
        point = float(fn(s, a)[0]) if len(s) > 1 else float("nan")
        with warnings.catch_warnings():  # a resampling of one repeated cell has no rank correlation
            warnings.simplefilter("ignore")
            resampled = [float(fn(s[i], a[i])[0]) for i in draws]
        resampled = [r for r in resampled if math.isfinite(r)]
        low, high = (np.percentile(resampled, [2.5, 97.5]) if resampled else (float("nan"), float("nan")))
        out[key] = (point, float(low), float(high))
    return out


def markdown(rows: dict, seconds: dict, cells: int) -> str:
    def cell(v):
        return f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"
    head = ("| proxy | Spearman test200 | Kendall test200 | Spearman valid12 | Kendall valid12 | s / cell | "
            "undefined |\n|---|---|---|---|---|---|---|")
    lines = [head]
    for name, by_target in rows.items():
        t, v = by_target["test200"], by_target["valid12"]
        lines.append(f"| {name} | {cell(t['spearman'])} | {cell(t['kendall'])} | {cell(v['spearman'])} | "
                     f"{cell(v['kendall'])} | {float(np.mean(seconds[name])):.3f} | {t['undefined']} of {cells} |")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--benchmark", required=True, help="200-epoch table (nats_bench_tss_200ep.csv; the 12-epoch "
                                                      "table nb201_12ep_valid.csv beside it)")
    p.add_argument("--images", type=Path, help="the JPEG CIFAR-10 archive (default: $DARTS_SHARED_DATA/"
                                               "cifar10-jpeg/cifar10-jpeg.tar.gz)")
    p.add_argument("--cache", type=Path, default=default_cache_dir(), help="where the extracted images go")
    p.add_argument("--images_per_class", type=int, default=100, help="training images extracted per class (the "
                                                                     "folder reader holds a fifth out)")
    p.add_argument("--cells", type=int, default=1000, help="cells sampled (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="the cells, the networks' weights and the minibatch")
    p.add_argument("--proxies", nargs="+", default=None, help="default: every registered proxy")
    p.add_argument("--batch_size", type=int, default=None, help="one batch for every proxy (default: each "
                                                                "proxy's paper's)")
    p.add_argument("--init_channels", type=int, default=16, help="C of the networks (the benchmark's 16)")
    p.add_argument("--layers", type=int, default=15, help="cells of the networks (the benchmark's 15)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamplings (default 1000)")
    p.add_argument("--json", type=Path, help="write every cell's scores, accuracies and times here")
    p.add_argument("--journal", type=Path, help="append each scored cell here and continue from it when run again")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    names = args.proxies or list(registered())
    for name in names:
        get_proxy(name)  # an unknown name fails before any work
    bench = Nb201Benchmark(args.benchmark)
    archive = args.images or Path(os.environ.get("DARTS_SHARED_DATA", "../shared/data")) / "cifar10-jpeg" / \
        "cifar10-jpeg.tar.gz"
    folder = extract_training_images(archive, args.cache / f"cifar10-jpeg-train{args.images_per_class}",
                                     args.images_per_class)
    size = args.batch_size or max(get_proxy(n).batch_size for n in names)
    x, y = image_minibatch(folder, size, args.seed)
    cells = sample_cells(args.cells, args.seed)
    options = {"init_channels": args.init_channels, "layers": args.layers}
    scores, seconds = score_cells(cells, names, x, y, args.seed, options, args.batch_size, args.journal)
    accuracy = {key: [bench.query(i, "cifar10", epochs, split) for i in cells] for key, epochs, split in TARGETS}
    rows = {n: {key: correlations(scores[n], accuracy[key], args.bootstrap, args.seed) for key, _, _ in TARGETS}
            for n in names}
    print(f"{len(cells)} NAS-Bench-201 cells (seed {args.seed}), JPEG-rebuilt CIFAR-10, networks C={args.init_channels}"
          f" with {args.layers} cells; 95 % bootstrap intervals ({args.bootstrap} resamplings)\n")
    print(markdown(rows, seconds, len(cells)))
    if args.json:
        atomic_write_json(args.json, {"cells": cells, "scores": scores, "seconds": seconds, "accuracy": accuracy,
                                      "correlations": rows})


if __name__ == "__main__":
    main()
