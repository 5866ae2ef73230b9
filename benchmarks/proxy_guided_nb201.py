"""Proxy-guided search on NAS-Bench-201 under its authors' protocol: does screening random cells by a zero-cost
proxy (darts/strategies/proxy_guided.py) find better cells in the same number of queries, and at what cost?

Each strategy runs once per seed with and without the proxy. The reward of a query is the cell's 12-epoch
validation accuracy from the table (CIFAR-10, the cifar10-valid split); after B queries the chosen cell is the
best-rewarded so far, and printed is its 200-epoch test accuracy, mean ± std over seeds, for B = 10, 25, 50, 100.
With the proxy, `--screen_candidates` random cells are scored first and the `--screen_top` best are the first
queries (and, with `--proxy_filter K`, each later query is the best-scored of K proposals). The proxy's time is
measured, not simulated: the table's column beside B is the mean proxy seconds a run had spent by its B-th query
(on this machine; a query stands for one 12-epoch training, 61-154 s of the benchmark's simulated time).

A cell's score depends only on the cell (its network is built from a seed derived from --proxy_seed and the cell,
scored on one minibatch of --proxy_seed's draw), so all seeds share one score per cell: scores and the seconds
each took are kept in --score_cache (JSON, written after every run), and a cached score is charged the seconds
it took when it was computed. The images are the JPEG-rebuilt CIFAR-10 ($DARTS_SHARED_DATA/cifar10-jpeg, lossy:
a figure here is on JPEG-rebuilt CIFAR-10), set up as benchmarks/proxy_correlation.py does.

    python benchmarks/proxy_guided_nb201.py --benchmark data/nb201/nats_bench_tss_200ep.csv \\
        --score_cache nb201_naswot_scores.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # proxy_correlation, beside this script
from proxy_correlation import extract_training_images, image_minibatch, score_cells  # noqa: E402

from darts.checkpoint import atomic_write_json  # noqa: E402
from darts.data.folder import default_cache_dir  # noqa: E402
from darts.proxies import get_proxy  # noqa: E402
from darts.spaces.nb201.benchmark import Nb201Benchmark, Nb201BenchmarkEvaluator  # noqa: E402
from darts.spaces.nb201.sampling import Nb201ArchSpace  # noqa: E402
from darts.strategies.base import run_strategy  # noqa: E402
from darts.strategies.proxy_guided import ProxyGuided, check_guide_options  # noqa: E402
from darts.strategies.registry import SAMPLE_STRATEGIES, build_strategy  # noqa: E402


class CachedScores:
    """Proxy score and measured seconds per NB201 cell index, computed once (proxy_correlation.score_cells) and
    kept in a JSON file; called with a cell, returns (score, seconds) for ProxyGuided to charge."""

    def __init__(self, path: Path | None, proxy: str, x, y, seed: int, options: dict, batch_size: int | None):
        self.path, self.proxy, self.x, self.y = path, proxy, x, y
        self.seed, self.options, self.batch_size = seed, options, batch_size
        self.settings = {"proxy": proxy, "seed": seed, "batch_size": batch_size, **options,
                         "images": int(len(x))}
        self.cells: dict[str, list[float]] = {}
        if path is not None and path.is_file():
            saved = json.loads(path.read_text())
            if saved.get("settings") != self.settings:
                raise SystemExit(f"error: {path} holds scores of other settings {saved.get('settings')}; "
                                 f"give another --score_cache")
            self.cells = saved["cells"]
        self.computed = 0

    def __call__(self, arch) -> tuple[float, float]:
        key = str(arch.index)
        if key not in self.cells:
            scores, seconds = score_cells([arch.index], [self.proxy], self.x, self.y, self.seed, self.options,
                                          self.batch_size)
            self.cells[key] = [float(scores[self.proxy][0]), float(seconds[self.proxy][0])]
            self.computed += 1
        score, seconds = self.cells[key]
        return (float("nan") if score is None else score), seconds  # JSON keeps an undefined score as null

    def save(self) -> None:
        if self.path is not None:
            atomic_write_json(self.path, {"settings": self.settings, "cells": self.cells})


def one_run(bench, name: str, seed: int, budget: int, scorer: CachedScores | None, args) -> tuple[list, list]:
    """(chosen cell index after each query, proxy seconds spent by each query) of one search."""
    strategy = build_strategy(name, Nb201ArchSpace(), seed=seed)
    if scorer is not None:
        strategy = ProxyGuided(strategy, scorer, args.proxy, args.screen_candidates, args.screen_top,
                               args.proxy_filter)
    spent: list[float] = []
    on_step = (lambda record: spent.append(strategy.history_fields()["proxy_seconds_total"])) if scorer else None
    records = run_strategy(strategy, Nb201BenchmarkEvaluator(bench, "cifar10", "valid12"), budget,
                           on_step=on_step, progress=False).records
    chosen, best, trace = None, float("-inf"), []
    for r in records:
        if r["reward"] > best:
            chosen, best = Nb201ArchSpace().decode(r["arch"]).index, r["reward"]
        trace.append(chosen)
    return trace, spent or [0.0] * budget


def row(bench, traces: list, spent: list, budgets: list[int]) -> list[str]:
    cells = []
    for b in budgets:
        acc = [bench.query(t[b - 1], "cifar10", 200, "test") for t in traces]
        sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
        cells.append(f"{statistics.fmean(acc):.2f} ± {sd:.2f}")
        cells.append(f"{statistics.fmean(s[b - 1] for s in spent):.1f}")
    return cells


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--benchmark", required=True, help="200-epoch table (nats_bench_tss_200ep.csv; the 12-epoch "
                                                      "table nb201_12ep_valid.csv beside it)")
    p.add_argument("--seeds", type=int, default=100, help="runs per strategy and arm (default 100)")
    p.add_argument("--seed-start", type=int, default=0, help="first seed")
    p.add_argument("--budgets", type=int, nargs="+", default=[10, 25, 50, 100], help="queries")
    p.add_argument("--strategies", nargs="+", default=["random", "evolution", "bo"], choices=list(SAMPLE_STRATEGIES))
    p.add_argument("--proxy", default="naswot", help="the screening proxy (default naswot)")
    p.add_argument("--screen_candidates", type=int, default=100, help="random cells scored per run (default 100)")
    p.add_argument("--screen_top", type=int, default=10, help="the best-scored, queried first (default 10)")
    p.add_argument("--proxy_filter", type=int, default=1, help="later queries: best-scored of K proposals (1: off)")
    p.add_argument("--score_cache", type=Path, help="JSON of every scored cell's score and seconds, shared by runs")
    p.add_argument("--proxy_seed", type=int, default=0, help="the networks' weights and the minibatch")
    p.add_argument("--images", type=Path, help="the JPEG CIFAR-10 archive (default: $DARTS_SHARED_DATA/"
                                               "cifar10-jpeg/cifar10-jpeg.tar.gz)")
    p.add_argument("--cache", type=Path, default=default_cache_dir(), help="where the extracted images go")
    p.add_argument("--images_per_class", type=int, default=100, help="training images extracted per class")
    p.add_argument("--batch_size", type=int, default=None, help="the proxy's minibatch (default: its paper's)")
    p.add_argument("--init_channels", type=int, default=16, help="C of the networks (the benchmark's 16)")
    p.add_argument("--layers", type=int, default=15, help="cells of the networks (the benchmark's 15)")
    return p.parse_args(argv)


def scorer_of(args) -> CachedScores:
    get_proxy(args.proxy)  # an unknown name fails before any work
    check_guide_options(args.screen_candidates, args.screen_top, args.proxy_filter)
    archive = args.images or Path(os.environ.get("DARTS_SHARED_DATA", "../shared/data")) / "cifar10-jpeg" / \
        "cifar10-jpeg.tar.gz"
    folder = extract_training_images(archive, args.cache / f"cifar10-jpeg-train{args.images_per_class}",
                                     args.images_per_class)
    x, y = image_minibatch(folder, args.batch_size or get_proxy(args.proxy).batch_size, args.proxy_seed)
    options = {"init_channels": args.init_channels, "layers": args.layers}
    return CachedScores(args.score_cache, args.proxy, x, y, args.proxy_seed, options, args.batch_size)


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    bench = Nb201Benchmark(args.benchmark)
    scorer = scorer_of(args)
    seeds = range(args.seed_start, args.seed_start + args.seeds)
    budget, start = max(args.budgets), time.perf_counter()
    print(f"NAS-Bench-201 CIFAR-10: 200-epoch test accuracy of the cell chosen by 12-epoch validation after B "
          f"queries, mean ± std over {len(seeds)} seeds ({seeds.start}-{seeds.stop - 1}); beside it the mean "
          f"proxy seconds spent by then (measured). Proxy {args.proxy} on JPEG-rebuilt CIFAR-10, networks "
          f"C={args.init_channels} with {args.layers} cells; screen {args.screen_candidates} -> top "
          f"{args.screen_top}, filter {args.proxy_filter}")
    print("| strategy | " + " | ".join(f"B={b} | s" for b in args.budgets) + " |")
    print("|" + "---|" * (2 * len(args.budgets) + 1))
    for name in args.strategies:
        for guided in (False, True):
            traces, spent = [], []
            for seed in seeds:
                trace, seconds = one_run(bench, name, seed, budget, scorer if guided else None, args)
                traces.append(trace)
                spent.append(seconds)
                scorer.save()
            label = f"{name} + {args.proxy} screen" if guided else name
            print(f"| {label} | " + " | ".join(row(bench, traces, spent, args.budgets)) + " |", flush=True)
    print(f"\n{len(scorer.cells)} cells scored in all ({scorer.computed} in this run); "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
