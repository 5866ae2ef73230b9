"""How far a latency table's prediction is from the measured latency of whole networks: NAS-Bench-201 cells
(C=16, N=5) and DARTS cells (C=36, 20 layers), CIFAR-shaped inputs (3x32x32), batch 1 and 64, on the CPU.

    python benchmarks/latency_table_error.py                                   # 100 NB201 + 20 DARTS cells
    python benchmarks/latency_table_error.py --cells_nb201 3 --cells_darts 2 --build_cells 2 --repeats 2 --small

Per space, the table is built as `darts-latency build` builds it (one covering cell per operation index plus
--build_cells random cells of seed 0, the last --calibrate of them timed whole for the overhead per operation),
then --cells_* other random cells (seed 1) are predicted and timed whole (median of --repeats after a warm-up),
one thread unless --threads. Reported per space and batch: the median and 90th percentile of |predicted -
measured| / measured, and Spearman's rank correlation (scipy) between predicted and measured.
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from scipy.stats import spearmanr

from darts.checkpoint import atomic_write_json
from darts.cli.latency import covering_and_random_cells
from darts.latency import LatencyTable, measure_latency
from darts.proxies.score import network_of
from darts.spaces.registry import DataShape, get_space

SHAPE = DataShape(3, 32, 32, 10)
SMALL = {"nb201": {"init_channels": 4, "layers": 3}, "darts": {"init_channels": 4, "layers": 3}}


def space_error(name: str, cells: int, args) -> dict:
    """{batch: figures} for `cells` random test cells of space `name`."""
    space = get_space(name)
    sizes = SMALL[name] if args.small else {}
    opts = space.resolve(sizes)
    build_cells = covering_and_random_cells(space, opts, args.build_cells, seed=0)
    arch_space, rng = space.arch_space(opts), random.Random(1)
    test_cells = [arch_space.sample_random(rng) for _ in range(cells)]
    input_shape = (SHAPE.in_channels, SHAPE.height, SHAPE.width)
    start = time.perf_counter()
    table = LatencyTable.build([network_of(g, SHAPE, space_options=sizes) for g in build_cells], input_shape,
                               args.batch, f"cpu:{args.threads}", repeats=args.repeats, warmup=args.warmup,
                               calibrate=min(args.calibrate, args.build_cells))
    built_s = time.perf_counter() - start
    out = {}
    for batch in args.batch:
        pred, meas, trace_ms = [], [], []
        for g in test_cells:
            network = network_of(g, SHAPE, space_options=sizes)
            t = time.perf_counter()
            pred.append(table.predict(network, input_shape, batch, measure_missing=True))
            trace_ms.append((time.perf_counter() - t) * 1e3)
            meas.append(measure_latency(network, input_shape, batch, f"cpu:{args.threads}", repeats=args.repeats,
                                        warmup=args.warmup)["median_ms"])
        errors = sorted(abs(p - m) / m for p, m in zip(pred, meas))
        out[batch] = {"cells": cells, "median_rel_error": statistics.median(errors),
                      "p90_rel_error": errors[min(len(errors) - 1, int(0.9 * len(errors)))],
                      "spearman": float(spearmanr(pred, meas).statistic) if cells > 2 else float("nan"),
                      "mean_measured_ms": statistics.fmean(meas), "mean_predicted_ms": statistics.fmean(pred),
                      "predict_ms_per_cell": statistics.median(trace_ms), "table_entries": len(table.entries),
                      "overhead_us_per_op": 1e3 * table.overhead.get(batch, 0.0), "table_build_s": built_s}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cells_nb201", type=int, default=100)
    p.add_argument("--cells_darts", type=int, default=20)
    p.add_argument("--build_cells", type=int, default=20, help="random cells the table is built from")
    p.add_argument("--calibrate", type=int, default=5, help="of those, timed whole for the overhead per operation")
    p.add_argument("--batch", type=int, action="append", help="default: 1 and 64")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--small", action="store_true", help="tiny networks (C=4, 3 layers): checks that it runs")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = p.parse_args()
    args.batch = args.batch or [1, 64]
    results = {name: space_error(name, cells, args)
               for name, cells in (("nb201", args.cells_nb201), ("darts", args.cells_darts)) if cells > 0}
    print("| space | batch | cells | median rel. error | p90 rel. error | Spearman | measured ms | predicted ms "
          "| predict ms/cell |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, by_batch in results.items():
        for batch, r in by_batch.items():
            print(f"| {name} | {batch} | {r['cells']} | {r['median_rel_error']:.3f} | {r['p90_rel_error']:.3f} | "
                  f"{r['spearman']:.3f} | {r['mean_measured_ms']:.2f} | {r['mean_predicted_ms']:.2f} | "
                  f"{r['predict_ms_per_cell']:.1f} |")
    if args.json:
        atomic_write_json(Path(args.json), {"settings": vars(args), "results": results})


if __name__ == "__main__":
    main()
