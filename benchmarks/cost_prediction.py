"""How well an op cost table predicts what a cell costs to train: for each cell, the summed op costs of the
retrained network's cells (darts/resource_cost.py's table, the basis of --cost_weight and --cost_cap) against
the training step time of that network, both as ratios to the first cell given.

Three tables from one set of timings: "first cells" times each op at the first normal and first reduction
cell's shapes and counts it once per cell of the type (the first version of
--cost_weight's table); "every cell" times it at every cell's own shape (cell_shapes); "every cell + inputs" adds what a
cell pays for reading each of its inputs (input_costs), the table the search measures now.

    python benchmarks/cost_prediction.py --arch ResidualSepConv DARTS_V2 run/genotype.json \
        --init_channels 16 --layers 5 --in_channels 1 --image_size 28

The step is train_final.py's (benchmarks/final_throughput.py: fp32, channels_last, no auxiliary head, no drop
path); the cells take turns in every round. Measure on a quiet machine.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # final_throughput, beside this script
import final_throughput  # noqa: E402
from darts.spaces.genotype_io import load_genotype  # noqa: E402
from darts.ops import PRIMITIVES  # noqa: E402
from darts.spaces.darts_cnn.resource_cost import ROWS, cell_cost, cell_shapes, input_costs, time_ops  # noqa: E402


def tables(args) -> dict[str, dict]:
    """Three tables from one timing of each distinct shape: the first version's (first cells, ops only), every cell
    (ops only) and every cell with what using each cell input costs (the search's table now)."""
    shapes = cell_shapes(args.layers, args.init_channels, args.image_size, args.image_size)
    timed = {s: time_ops(PRIMITIVES, *s[1:], "cpu", args.cost_batch, args.cost_repeats, 3, True, False)
             for s in dict.fromkeys(shapes)}
    every = {row: {p: sum(timed[s].get(p, 0.0) for s in shapes if s[0] == row) for p in PRIMITIVES} for row in ROWS}
    first = {row: next(s for s in shapes if s[0] == row) for row in ROWS}
    counts = {row: sum(s[0] == row for s in shapes) for row in ROWS}
    once = {row: {p: counts[row] * timed[first[row]].get(p, 0.0) for p in PRIMITIVES} for row in ROWS}
    inputs = input_costs(args.layers, args.init_channels, args.in_channels, args.image_size, args.image_size, "cpu",
                         args.cost_batch, args.cost_repeats, 3, True, False)
    return {"first cells": once, "every cell": every, "every cell + inputs": {**every, "inputs": inputs}}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", nargs="+", required=True, help="cells (names or genotype JSON); ratios are to the first")
    p.add_argument("--init_channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--in_channels", type=int, default=1)
    p.add_argument("--image_size", type=int, default=28)
    p.add_argument("--batch_size", type=int, default=96, help="of the training step")
    p.add_argument("--cost_batch", type=int, default=64, help="of the op timings (the search's)")
    p.add_argument("--cost_repeats", type=int, default=10)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    args = p.parse_args(argv)
    genotypes = [load_genotype(a) for a in args.arch]
    costs = tables(args)
    step = argparse.Namespace(arch=args.arch, init_channels=args.init_channels, layers=args.layers,
                              batch_size=args.batch_size, in_channels=args.in_channels, image_size=args.image_size,
                              auxiliary=False, drop_path_prob=0.0, repeats=args.repeats, warmup=args.warmup)
    measured = final_throughput.measure(step, torch.device("cpu"), ["fp32_channels_last"])
    rows = []
    for arch, g, m in zip(args.arch, genotypes, measured):
        row = {"arch": arch, "step_ms_per_image": 1000 / m["train_images_per_s"]}
        for name, t in costs.items():
            row[name] = cell_cost(g.normal, t, False) + cell_cost(g.reduce, t, True)
        rows.append(row)
    ref = rows[0]
    names = list(costs)
    lines = [f"network C={args.init_channels}, {args.layers} cells, {args.in_channels}x{args.image_size}x"
             f"{args.image_size}, {torch.get_num_threads()} threads, torch {torch.__version__}",
             "| cell | " + " | ".join(f"predicted, {n} (vs first)" for n in names) + " | training step (vs first) |",
             "|---" * (len(names) + 2) + "|"]
    for r in rows:
        lines.append(f"| {r['arch']} | " + " | ".join(f"{r[n]:.1f} ms ({r[n] / ref[n]:.2f}x)" for n in names) +
                     f" | {r['step_ms_per_image']:.2f} ms/image ({r['step_ms_per_image'] / ref['step_ms_per_image']:.2f}x) |")
    print("\n".join(lines))
    return {"rows": rows, "tables": costs}


if __name__ == "__main__":
    main()
