"""How well a trained NAS-Bench-201 supernet ranks cells with inherited weights: Spearman and Kendall tau of the
weight-sharing accuracy (darts/evaluators/supernet.py) with the table's 200-epoch CIFAR-10 test accuracy and
12-epoch validation accuracy, for supernets trained for several epoch counts, with bootstrap 95 % intervals.

Two supernets per epoch count, each one `darts search --space nb201` subprocess on the same images:
  darts    first-order DARTS (the mixture of all ops trains the weights, alphas on the other half);
  uniform  ENAS's shared-weight training with --controller_tanh_constant 1e-9: every step trains one path drawn
           uniformly (SPOS / random search with parameter sharing); its controller learns nothing.
Each supernet then scores the same K cells (drawn with a seed from the 15,625): the path's BatchNorm statistics
are recomputed on --bn_batches training batches (SPOS), then accuracy on the held-out half of the training images;
"no BN recompute" scores with the supernet's own running statistics, for comparison.

The images are the JPEG-rebuilt CIFAR-10 ($DARTS_SHARED_DATA/cifar10-jpeg/cifar10-jpeg.tar.gz; lossy, so a figure
here is on JPEG-rebuilt CIFAR-10): the first --images_per_class training images of each class, downscaled to
--image_size; the folder reader holds a fifth out as its test split, which nothing here reads.

    python benchmarks/weight_sharing_nb201.py --benchmark data/nb201/nats_bench_tss_200ep.csv --out ws-nb201
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from pathlib import Path

from proxy_correlation import correlations, extract_training_images, sample_cells, TARGETS  # benchmarks/
from run_folders import run_in_folder

TRAINERS = {"darts": ["--strategy", "darts"],
            "uniform": ["--strategy", "enas", "--controller_tanh_constant", "1e-9", "--controller_train_steps", "1",
                        "--derive_samples", "1"]}


def train_supernet(args, folder: Path, trainer: str, epochs: int) -> Path:
    """The search folder of `trainer` run for `epochs` (a finished one is reused, a killed one resumed)."""
    out = Path(args.out) / f"{trainer}-{epochs}ep"
    if not (out / "genotype.json").is_file():
        run_in_folder([sys.executable, "-m", "darts", "search"], [
            "--space", "nb201", "--dataset", "folder", "--data", str(folder), "--image_size", str(args.image_size),
            "--layers", str(args.layers), "--init_channels", str(args.init_channels),
            "--batch_size", str(args.batch_size), "--epochs", str(epochs), "--seed", str(args.seed),
            "--threads", "1", "--no_plots", "--no_channels_last"] + TRAINERS[trainer]
            + (["--max_batches", str(args.max_batches)] if args.max_batches else []),
            out, Path(args.out) / f"{trainer}-{epochs}ep.log", always=["--no_progress"])
    return out


def evaluator(args, dataset, run: Path, bn_batches: int):
    """The command line's weight-sharing evaluator (--evaluator supernet) of the run's supernet."""
    from darts.modalities import ImageModality
    settings = {"dataset": "folder", "space": "nb201", "train_portion": 0.5, "batch_size": args.batch_size,
                "seed": args.seed, "supernet": str(run), "supernet_bn_batches": bn_batches,
                "max_batches": args.val_batches, "evaluator": "supernet"}
    return ImageModality(settings, dataset=dataset).supernet_evaluator(None, "cpu")


def score(args, dataset, run: Path, cells: list[int]) -> dict:
    from darts.spaces.common.nb201_arch import Nb201Arch
    out = {}
    for label, bn in (("recomputed BN", args.bn_batches), ("no BN recompute", 0)):
        ev = evaluator(args, dataset, run, bn)
        start = time.perf_counter()
        out[label] = [ev.evaluate(Nb201Arch.from_index(i)) for i in cells]
        out[label + " s/cell"] = (time.perf_counter() - start) / len(cells)
    return out


def parse_args(argv=None) -> argparse.Namespace:
    from darts.data.folder import default_cache_dir
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--benchmark", required=True, help="nats_bench_tss_200ep.csv (nb201_12ep_valid.csv beside it)")
    p.add_argument("--images", type=Path, help="the JPEG CIFAR-10 archive (default: $DARTS_SHARED_DATA/"
                                               "cifar10-jpeg/cifar10-jpeg.tar.gz)")
    p.add_argument("--cache", type=Path, default=default_cache_dir(), help="where the extracted images go")
    p.add_argument("--out", default="ws-nb201")
    p.add_argument("--images_per_class", type=int, default=250)
    p.add_argument("--image_size", type=int, default=16)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--init_channels", type=int, default=8)
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--epochs", type=int, nargs="+", default=[2, 6], help="supernet training epochs (one run each)")
    p.add_argument("--trainers", nargs="+", default=list(TRAINERS), choices=list(TRAINERS))
    p.add_argument("--max_batches", type=int, default=None, help="cap on training batches per epoch (smoke runs)")
    p.add_argument("--cells", type=int, default=100)
    p.add_argument("--bn_batches", type=int, default=4)
    p.add_argument("--val_batches", type=int, default=None, help="validation batches per cell (default: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bootstrap", type=int, default=1000)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message="An input array is constant")  # an untrained supernet: reported nan
    from darts.checkpoint import atomic_write_json
    from darts.data.folder import load_image_folder
    from darts.spaces.nb201.benchmark import Nb201Benchmark
    bench = Nb201Benchmark(args.benchmark)
    archive = args.images or Path(os.environ.get("DARTS_SHARED_DATA", "../shared/data")) / "cifar10-jpeg" / \
        "cifar10-jpeg.tar.gz"
    folder = extract_training_images(archive, args.cache / f"cifar10-jpeg-train{args.images_per_class}",
                                     args.images_per_class)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    dataset = load_image_folder(folder, image_size=args.image_size, cache=False)
    cells = sample_cells(args.cells, args.seed)
    accuracy = {key: [bench.query(i, "cifar10", e, split) for i in cells] for key, e, split in TARGETS}
    lines = ["| supernet | epochs | BN statistics | Spearman test200 | Kendall test200 | Spearman valid12 | "
             "Kendall valid12 | s / cell |", "|---|---|---|---|---|---|---|---|"]
    results = []
    for epochs in args.epochs:
        for trainer in args.trainers:
            scores = score(args, dataset, train_supernet(args, folder, trainer, epochs), cells)
            for label in ("recomputed BN", "no BN recompute"):
                rows = {k: correlations(scores[label], accuracy[k], args.bootstrap, args.seed) for k, _, _ in TARGETS}
                results.append({"trainer": trainer, "epochs": epochs, "bn": label, "scores": scores[label],
                                "correlations": rows, "seconds_per_cell": scores[label + " s/cell"]})
                c = [f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]" for k in ("test200", "valid12")
                     for v in (rows[k]["spearman"], rows[k]["kendall"])]
                lines.append(f"| {trainer} | {epochs} | {label} | {' | '.join(c)} | {scores[label + ' s/cell']:.3f} |")
    cpu = sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    table = (f"{len(cells)} NAS-Bench-201 cells (seed {args.seed}); supernets C={args.init_channels}, {args.layers} "
             f"cells, on {len(dataset.train_x)} JPEG-rebuilt CIFAR-10 training images at {args.image_size}x"
             f"{args.image_size}; 95 % bootstrap intervals\n\n" + "\n".join(lines) + f"\n\nCPU time of this call: "
             f"{cpu / 60:.1f} min\n")
    print(table)
    stem = f"summary-{'-'.join(args.trainers)}-{'-'.join(map(str, args.epochs))}ep-bn{args.bn_batches}"  # one per call
    (Path(args.out) / f"{stem}.md").write_text(table)
    atomic_write_json(Path(args.out) / f"{stem}.json", {"settings": {k: str(v) for k, v in vars(args).items()},
                                                        "cells": cells, "accuracy": accuracy, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
