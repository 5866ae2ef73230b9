"""Plain DARTS against each robust mode on the NAS-Bench-201 space (docs/results/robust_nb201.md), several seeds each.

Every run is one `darts-search --space nb201` subprocess (resumable: a finished run is read back, a killed
one continues with --resume), all with the same data, supernet and budget; each run logs the Hessian
eigenvalue and the parameter-free operations every epoch (--hessian_eigen, which does not change the
search). The derived cell of each run is looked up in the benchmark's tables: 12-epoch CIFAR-10 validation
accuracy (cifar10-valid split) and 200-epoch CIFAR-10 test accuracy, named as such; neither is used by any
search. Printed: a table per mode (mean +- std over seeds), written to OUT/summary.json and OUT/summary.md,
with the eigenvalue and parameter-free-operation curves as OUT/eigenvalue.png and OUT/param_free_ops.png.

    python benchmarks/robust_nb201.py --data CIFAR_JPEG_DIR --benchmark data/nb201/nats_bench_tss_200ep.csv \
        --out robust-nb201 --jobs 2

CIFAR_JPEG_DIR is the class-folder JPEG rebuild of CIFAR-10 (train/ and test/; docs/data.md):
lossy, so the searches ran on "JPEG-rebuilt CIFAR-10", not CIFAR-10; the table figures are the benchmark's.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from run_folders import run_in_folder  # benchmarks/, beside this script

MODES = {
    "darts": [],
    "gdas": ["--relaxation", "gumbel"],
    "drnas": ["--relaxation", "dirichlet"],
    "beta-darts": ["--beta_decay", "1.0"],
    "darts-": ["--aux_skip", "1.0"],
    "darts-pt": ["--selection", "pt"],
    "darts-es": ["--early_stop"],
}


def run_one(args, mode: str, seed: int) -> dict:
    out = Path(args.out) / f"{mode}-seed{seed}"
    genotype = out / "genotype.json"
    started = time.perf_counter()
    if not genotype.is_file():
        run_in_folder([sys.executable, "-m", "darts", "search"], [
            "--space", "nb201", "--dataset", args.dataset,
            "--data", args.data, "--image_size", str(args.image_size), "--layers", str(args.layers),
            "--init_channels", str(args.init_channels), "--batch_size", str(args.batch_size),
            "--epochs", str(args.epochs), "--max_batches", str(args.max_batches), "--seed", str(seed),
            "--threads", "1", "--hessian_eigen", "--hessian_eigen_batches", "1",
            "--hessian_eigen_iterations", str(args.eigen_iterations), "--no_plots",
            "--no_channels_last",  # NCHW, as its results page ran (channels_last rounds differently)
            ] + (["--cache", args.cache] if args.cache else []) + MODES[mode] + (
            ["--pt_interval", str(args.pt_interval)] if mode == "darts-pt" else []),
            out, Path(args.out) / f"{mode}-seed{seed}.log", always=["--no_progress"])
    rows = [json.loads(line) for line in (out / "alphas.jsonl").read_text().splitlines()]
    return {"mode": mode, "seed": seed, "arch": json.loads(genotype.read_text())["arch"],
            "eigenvalue": [r["metrics"].get("hessian_eigenvalue") for r in rows],
            "param_free_ops": [r["metrics"].get("param_free_ops") for r in rows],
            "search_seconds": sum(r["metrics"]["seconds"] for r in rows),
            "epochs_run": len(rows), "wall_seconds_this_call": time.perf_counter() - started}


def mean_std(values: list[float]) -> str:
    return f"{statistics.mean(values):.2f} +- {statistics.stdev(values) if len(values) > 1 else 0.0:.2f}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--dataset", default="folder")
    p.add_argument("--cache", default=None)
    p.add_argument("--benchmark", required=True, help="nats_bench_tss_200ep.csv (nb201_12ep_valid.csv beside it)")
    p.add_argument("--out", default="robust-nb201")
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--image_size", type=int, default=16)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--init_channels", type=int, default=8)
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--max_batches", type=int, default=16)
    p.add_argument("--eigen_iterations", type=int, default=10)
    p.add_argument("--pt_interval", type=int, default=1)
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)

    from darts.spaces.nb201.benchmark import Nb201Benchmark
    bench = Nb201Benchmark(args.benchmark, isomorphs="exact")
    jobs = [(m, s) for s in range(args.seeds) for m in args.modes]
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(lambda job: run_one(args, *job), jobs))
    for r in runs:
        r["valid12"] = bench.query(r["arch"], "cifar10", 12, "valid")
        r["test200"] = bench.query(r["arch"], "cifar10", 200, "test")

    lines = ["| mode | cifar10-valid 12-epoch acc. | CIFAR-10 200-epoch test acc. | final eigenvalue | "
             "param-free ops (final) | search s / run |", "|---|---|---|---|---|---|"]
    summary = {"settings": vars(args), "runs": runs, "modes": {}}
    for mode in args.modes:
        rs = [r for r in runs if r["mode"] == mode]
        eig = [r["eigenvalue"][-1] for r in rs if r["eigenvalue"][-1] is not None]
        summary["modes"][mode] = {k: [r[k] for r in rs] for k in ("valid12", "test200", "arch")}
        lines.append(f"| {mode} | {mean_std([r['valid12'] for r in rs])} | {mean_std([r['test200'] for r in rs])} | "
                     f"{mean_std(eig) if eig else '-'} | {mean_std([r['param_free_ops'][-1] for r in rs])} | "
                     f"{statistics.mean(r['search_seconds'] for r in rs):.0f} |")
    table = "\n".join(lines)
    print(table)
    (Path(args.out) / "summary.md").write_text(table + "\n")
    (Path(args.out) / "summary.json").write_text(json.dumps(summary, indent=1))

    from visualize.plots import plot_best_so_far
    for key, label in (("eigenvalue", "dominant Hessian eigenvalue"), ("param_free_ops", "parameter-free ops")):
        # plain DARTS last, on top: DARTS-PT and DARTS-ES are the same search until they select or stop
        curves = {m: [[v for v in r[key] if v is not None] for r in runs if r["mode"] == m]
                  for m in reversed(args.modes)}
        plot_best_so_far(curves, Path(args.out) / f"{key}.png", xlabel="search epochs completed", ylabel=label,
                         title="NB201 supernet on JPEG-rebuilt CIFAR-10")
    return 0


if __name__ == "__main__":
    sys.exit(main())
