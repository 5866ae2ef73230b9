"""Multi-objective search on NAS-Bench-201 CIFAR-10: accuracy against a cost, under the authors' protocol.

Objectives: the 12-epoch validation accuracy (the authors' search reward, maximized) and a cost per cell
(minimized): `--cost params`, the parameter count of the benchmarked network (C=16, N=5, CIFAR-10) in
millions, or `--latency_table FILE --batch 1|64`, a latency table's prediction in ms (needs darts.latency).
Every strategy runs once per seed for the largest budget; at each budget B the front is that of its first B
queries. Printed, mean ± std over seeds: the hypervolume of the validation front against the fixed
reference point (`--reference`, default 10 % accuracy, chance level, and 1.6 M parameters, above the
largest cell), the same front's hypervolume with each point's 200-epoch test accuracy instead (the front is
chosen on validation, reported on test), the front's size, and the 200-epoch test accuracy of its most
accurate cell. `random` is single-objective random search run through the same loop (the baseline).

The parameter count is additive over the cell's edges (every edge maps C to C channels and the cell is
repeated unchanged), so it is computed once per (edge, operation) from built networks, checked against whole
networks of random cells, then summed per cell.

    python benchmarks/pareto_nb201.py --benchmark data/nb201/nats_bench_tss_200ep.csv --seeds 100
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import torch

from darts.pareto import hypervolume
from darts.spaces.nb201.benchmark import Nb201Benchmark
from darts.spaces.nb201.sampling import Nb201ArchSpace
from darts.strategies.multi_objective import Objective, front_of, run_multi_objective
from darts.strategies.multi_objective_evolution import ParetoEvolution
from darts.strategies.multi_objective_optuna import MOTPE, NSGA2
from darts.strategies.random_search import RandomSearch

STRATEGIES = {"nsga2": NSGA2, "motpe": MOTPE, "pareto_evolution": ParetoEvolution, "random": RandomSearch}
DATASET = "cifar10"


def params_cost(bench: Nb201Benchmark, checks: int = 20):
    """cell -> parameters (millions), from per-(edge, op) increments over the all-`none` cell, checked."""
    space = Nb201ArchSpace()
    sizes = space.decisions()
    count = lambda d: bench.cost(space.from_decisions(d).index, DATASET)["params"]  # noqa: E731
    base = count([0] * len(sizes)) if _none_first(space) else None
    if base is None:
        raise SystemExit("the additive parameter count assumes decision 0 is `none`; it is not")
    step = [[count([v if k == e else 0 for k in range(len(sizes))]) - base for v in range(n)]
            for e, n in enumerate(sizes)]
    total = lambda d: base + sum(step[e][v] for e, v in enumerate(d))  # noqa: E731
    rng = random.Random(0)
    for _ in range(checks):
        d = [rng.randrange(n) for n in sizes]
        if total(d) != count(d):
            raise SystemExit(f"parameter count is not additive for decisions {d}: {total(d)} != {count(d)}")
    return lambda arch: total(space.to_decisions(arch)) / 1e6


def _none_first(space: Nb201ArchSpace) -> bool:
    return "none" in str(space.from_decisions([0] * len(space.decisions())))


def latency_cost(path: str, batch: int):
    """cell -> predicted latency (ms) from a latency table, the network built once per cell."""
    try:
        from darts.latency import LatencyTable
    except ImportError:
        raise SystemExit("--latency_table needs darts.latency (the latency tables); use --cost params") from None
    from darts.spaces.nb201.network import build_nb201_network
    table, cache = LatencyTable.load(path), {}

    def cost(arch) -> float:
        if arch.index not in cache:
            net = build_nb201_network(arch, 3, 10)
            cache[arch.index] = float(table.predict(net, (3, 32, 32), batch))
        return cache[arch.index]
    return cost


def run_seed(name: str, seed: int, objectives, budget: int):
    cls = STRATEGIES[name]
    space = Nb201ArchSpace()
    strategy = cls(space, seed=seed) if cls is RandomSearch else cls(space, seed=seed,
                                                                      directions=("maximize", "minimize"))
    return run_multi_objective(strategy, objectives, budget, progress=False).records


def measure(records, objectives, budget: int, reference, bench: Nb201Benchmark) -> dict:
    """The front of the first `budget` queries: its hypervolume on validation and on test, size, best test."""
    result = front_of(records[:budget], objectives, reference)
    space = Nb201ArchSpace()
    cost_name = objectives[1].name
    test = [(bench.query(space.decode(p["arch"]).index, DATASET, 200, "test"), p["objectives"][cost_name])
            for p in result.front]
    best = max(result.front, key=lambda p: p["objectives"]["valid12"])
    return {"hv_valid": result.hypervolume, "hv_test": hypervolume(test, reference),
            "size": len(result.front), "best_test": bench.query(space.decode(best["arch"]).index, DATASET, 200, "test")}


def plot(records, objectives, reference, bench: Nb201Benchmark, path: Path, title: str) -> None:
    """One run's front against two reference cells of the table: the best by validation, and all 3x3 convs."""
    from darts.spaces.common.nb201_arch import Nb201Arch, parse_arch
    from visualize.pareto import plot_front
    conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    cells = {"best valid12 in the table": bench.best(DATASET, 12, "valid"), "all 3x3 convolutions": parse_arch(conv).index}
    refs = [(label, [o.fn(Nb201Arch.from_index(i)) for o in objectives]) for label, i in cells.items()]
    summary = front_of(records, objectives, reference).summary
    print(f"front drawn to {plot_front(summary, records, path, references=refs, title=title)}")


def mean_std(values) -> str:
    return f"{statistics.fmean(values):.4g} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.2g}"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--benchmark", required=True, help="200-epoch table (nats_bench_tss_200ep.csv)")
    p.add_argument("--valid12", help="12-epoch table (default: nb201_12ep_valid.csv beside --benchmark)")
    p.add_argument("--seeds", type=int, default=100, help="runs per strategy (default 100)")
    p.add_argument("--seed-start", type=int, default=0)
    p.add_argument("--budgets", type=int, nargs="+", default=[100, 300])
    p.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    p.add_argument("--cost", default="params", choices=["params"], help="the cost objective (default params)")
    p.add_argument("--latency_table", help="a latency table (darts.latency): the cost is its prediction in ms")
    p.add_argument("--batch", type=int, default=1, help="with --latency_table: the batch size predicted")
    p.add_argument("--reference", type=float, nargs=2, help="hypervolume reference (accuracy %%, cost); "
                                                             "default 10 and 1.6 (M params)")
    p.add_argument("--json", type=Path, help="write every seed's measures")
    p.add_argument("--plot", type=Path, help="draw the first strategy's front of its first seed, with reference cells")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    bench = Nb201Benchmark(args.benchmark, args.valid12)
    if args.latency_table:
        cost_name, cost = f"latency_ms_b{args.batch}", latency_cost(args.latency_table, args.batch)
    else:
        cost_name, cost = "params_m", params_cost(bench)
    if args.latency_table and args.reference is None:
        raise SystemExit("--latency_table: give --reference ACCURACY LATENCY_MS (a fixed point above every cell)")
    reference = list(args.reference or [10.0, 1.6])
    objectives = [Objective("valid12", "maximize", lambda a: bench.query(a.index, DATASET, 12, "valid")),
                  Objective(cost_name, "minimize", cost)]
    seeds = range(args.seed_start, args.seed_start + args.seeds)
    out: dict = {"reference": reference, "cost": cost_name, "seeds": [seeds.start, seeds.stop], "runs": {}}
    print(f"NAS-Bench-201 {DATASET}: (12-epoch validation, {cost_name}) fronts, {len(seeds)} seeds "
          f"({seeds.start}-{seeds.stop - 1}), hypervolume reference {reference}")
    print("| strategy | B | hypervolume (valid) | hypervolume (test-200) | front size | test-200 of best | s/seed |")
    print("|---|---|---|---|---|---|---|")
    for name in args.strategies:
        start, measures = time.perf_counter(), {b: [] for b in args.budgets}
        for seed in seeds:
            records = run_seed(name, seed, objectives, max(args.budgets))
            if args.plot and seed == seeds.start and name == args.strategies[0]:
                plot(records, objectives, reference, bench, args.plot, f"{name}, seed {seed}")
            for b in args.budgets:
                measures[b].append(measure(records, objectives, b, reference, bench))
        per_seed = (time.perf_counter() - start) / len(seeds)
        for b in args.budgets:
            m = measures[b]
            print(f"| {name} | {b} | {mean_std([x['hv_valid'] for x in m])} | {mean_std([x['hv_test'] for x in m])} "
                  f"| {mean_std([x['size'] for x in m])} | {mean_std([x['best_test'] for x in m])} | {per_seed:.2f} |")
        out["runs"][name] = {str(b): v for b, v in measures.items()}
    if args.json:
        args.json.write_text(json.dumps(out) + "\n")
        print(f"measures written to {args.json}")


if __name__ == "__main__":
    main()
