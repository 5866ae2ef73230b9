"""Sample efficiency of the classic strategies on NAS-Bench-201: best accuracy found against queries.

Every strategy runs once per seed for the largest budget; the best table accuracy among its first B
queries is its result at budget B. Printed: mean and standard deviation over seeds, the standard error
of the mean, and for each learning strategy its gain over random search with the standard error of
that difference. The reward is the table's 200-epoch *test* accuracy, so these figures measure how
quickly a strategy finds good cells, not an honest test score.

Hyperparameters are the strategies' defaults. They were tuned on seeds 1000-1049 (`--seed-start 1000
--seeds 50`); report figures on seeds 0.. so the tuning seeds are never the reported ones.

    python benchmarks/nb201_strategies.py --benchmark ../shared/data/nb201/nats_bench_tss_200ep.csv
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from darts.evaluators import Nb201Table, Nb201TableEvaluator  # noqa: E402
from darts.evaluators.nb201_table import dataset_name  # noqa: E402
from darts.spaces.nb201 import Nb201ArchSpace  # noqa: E402
from darts.strategies.base import run_strategy  # noqa: E402
from darts.strategies.registry import SAMPLE_STRATEGIES, build_strategy  # noqa: E402


def best_so_far_curves(table: Nb201Table, dataset: str, strategy: str, seeds: range, budget: int,
                       options: dict) -> list[list[float]]:
    curves = []
    for seed in seeds:
        evaluator = Nb201TableEvaluator(table, dataset)
        s = build_strategy(strategy, Nb201ArchSpace(), seed=seed, **options)
        result = run_strategy(s, evaluator, budget, progress=False)
        curves.append([r["best_reward"] for r in result.records])
    return curves


def summarize(curves: list[list[float]], budget: int) -> tuple[float, float, float]:
    values = [c[budget - 1] for c in curves]
    mean, std = statistics.fmean(values), statistics.stdev(values)
    return mean, std, std / math.sqrt(len(values))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--benchmark", required=True, help="NAS-Bench-201 table (nats_bench_tss_200ep.csv)")
    p.add_argument("--dataset", default="cifar10", help="table column used as reward (default cifar10)")
    p.add_argument("--seeds", type=int, default=100, help="runs per strategy (default 100)")
    p.add_argument("--seed-start", type=int, default=0, help="first seed (tuning used 1000)")
    p.add_argument("--budgets", type=int, nargs="+", default=[25, 50, 100, 200])
    p.add_argument("--strategies", nargs="+", default=list(SAMPLE_STRATEGIES), choices=list(SAMPLE_STRATEGIES))
    p.add_argument("--option", action="append", default=[], metavar="STRATEGY.NAME=VALUE",
                   help="override a strategy option, e.g. reinforce.learning_rate=0.02 (for tuning)")
    p.add_argument("--json", type=Path, help="write the best-so-far curves (mean, std per query) here")
    p.add_argument("--plot", type=Path, help="draw best-so-far accuracy against queries (mean, +-1 std) here")
    args = p.parse_args(argv)
    torch.set_num_threads(1)

    options: dict[str, dict] = {name: {} for name in SAMPLE_STRATEGIES}
    for item in args.option:
        key, _, value = item.partition("=")
        strategy, _, name = key.partition(".")
        options[strategy][name] = json.loads(value)

    table = Nb201Table(args.benchmark)
    optimum = table.best(args.dataset)
    budget = max(args.budgets)
    seeds = range(args.seed_start, args.seed_start + args.seeds)
    curves, seconds = {}, {}
    for name in args.strategies:
        start = time.perf_counter()
        curves[name] = best_so_far_curves(table, args.dataset, name, seeds, budget, options[name])
        seconds[name] = time.perf_counter() - start

    dataset = dataset_name(args.dataset)
    print(f"NAS-Bench-201 {dataset}: best test accuracy found after B queries, {args.seeds} seeds "
          f"({seeds.start}-{seeds.stop - 1}); optimum {optimum.accuracy[dataset]:.2f} (index {optimum.index})")
    header = "| strategy | " + " | ".join(f"B={b}" for b in args.budgets) + " | s/run |"
    print(header)
    print("|" + "---|" * (len(args.budgets) + 2))
    for name in args.strategies:
        cells = []
        for b in args.budgets:
            mean, std, se = summarize(curves[name], b)
            cells.append(f"{mean:.2f} ± {std:.2f} (se {se:.2f})")
        print(f"| {name} | " + " | ".join(cells) + f" | {seconds[name] / args.seeds:.3f} |")
    if "random" in curves:
        print("\ngain over random search (mean difference / standard error of the difference):")
        for name in args.strategies:
            if name == "random":
                continue
            cells = []
            for b in args.budgets:
                m, _, se = summarize(curves[name], b)
                mr, _, ser = summarize(curves["random"], b)
                diff, se_diff = m - mr, math.hypot(se, ser)
                cells.append(f"B={b}: {diff:+.2f} ({diff / se_diff:+.1f} se)")
            print(f"  {name}: " + ", ".join(cells))
    if any(options.values()):
        print(f"options: {options}")
    if args.json:
        out = {"dataset": dataset, "optimum": optimum.accuracy[dataset],
               "seeds": [seeds.start, seeds.stop], "curves": {}}
        for name, cs in curves.items():
            per_query = list(zip(*cs))
            out["curves"][name] = {"mean": [statistics.fmean(v) for v in per_query],
                                   "std": [statistics.stdev(v) for v in per_query]}
        args.json.write_text(json.dumps(out) + "\n")
        print(f"curves written to {args.json}")
    if args.plot:
        from visualize.plots import plot_best_so_far
        path = plot_best_so_far(curves, args.plot, xlabel="queries to the table",
                                ylabel=f"best {dataset} test accuracy (%)",
                                title=f"NAS-Bench-201, {args.seeds} seeds (optimum {optimum.accuracy[dataset]:.2f})")
        print(f"plot written to {path}")


if __name__ == "__main__":
    main()
