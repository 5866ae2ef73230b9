"""Whole-process peak memory and time of a DARTS search step, default vs memory-saving, with the estimate.

    python benchmarks/search_memory.py                          # C=16, 8 layers, 32x32, batches 32 and 64
    python benchmarks/search_memory.py --batch_size 32 --orders second --json

Each (mode, order, batch) runs in a fresh process of its own (darts.memory_estimate.measure_step), one at
a time: its peak is that process's VmHWM (/proc/self/status) at the end, so no earlier measurement's heap
counts, and the baseline (python + torch imported) is included, as it is in what a search needs. Time:
the median of --steps steps after one warm-up step (architect step + weight step), and P, one forward +
backward in default mode, in the same process. Batches of 32-64 take 2-12 GB per child.
"""
from __future__ import annotations

import argparse
import json
import sys

from darts.memory_estimate import activation_profile, estimate_from_profile, measure_step
from darts.spaces.darts_cnn import SearchNetwork


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch_size", type=int, nargs="+", default=[32, 64])
    p.add_argument("--orders", nargs="+", default=["first", "second"], choices=["first", "second", "exact"])
    p.add_argument("--modes", nargs="+", default=["default", "memory-saving"], choices=["default", "memory-saving"])
    p.add_argument("--init_channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--size", type=int, default=32, help="input height and width")
    p.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of each child")
    p.add_argument("--json", action="store_true", help="print one JSON list")
    args = p.parse_args(argv)
    profile = activation_profile(SearchNetwork(args.init_channels, 10, args.layers), 3, args.size, args.size)
    rows = []
    for batch in args.batch_size:
        for order in args.orders:
            for mode in args.modes:
                saving = mode == "memory-saving"
                r = measure_step(args.init_channels, args.layers, batch, order, saving, args.size, args.steps,
                                 args.threads)
                est = estimate_from_profile(profile, batch, order, saving)
                r.update(mode=mode, estimate_gb=est.peak_gb, activations_gb=est.activations_gb)
                rows.append(r)
                if not args.json:
                    print(f"{mode:<14} {order:<7} batch {batch:>3}: peak {r['peak_gb']:.2f} GB (estimate "
                          f"{r['estimate_gb']:.2f}, {r['estimate_gb'] / r['peak_gb']:.2f}x), step {r['step_s']:.1f} s"
                          f" = {r['step_s'] / r['pass_s']:.2f} P", flush=True)  # P: default mode, same process
    for r in rows:  # memory-saving against default, same order and batch
        base = next((d for d in rows if d["mode"] == "default" and d["order"] == r["order"]
                     and d["batch_size"] == r["batch_size"]), None)
        if base is not None and r is not base:
            r["peak_vs_default"] = r["peak_gb"] / base["peak_gb"]
            r["time_vs_default"] = r["step_s"] / base["step_s"]
    if args.json:
        print(json.dumps(rows))
        return rows
    print(f"\nC={args.init_channels}, {args.layers} layers, {args.size}x{args.size}, {args.threads} thread(s) per "
          f"child; command: python benchmarks/search_memory.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(f"{'mode':<14} {'order':<7} {'batch':>5} {'peak GB':>8} {'estimate':>8} {'s/step':>7} {'step/P':>6} "
          f"{'peak/default':>12} {'time/default':>12}")
    for r in rows:
        rel = (f"{r['peak_vs_default']:>12.2f} {r['time_vs_default']:>12.2f}" if "peak_vs_default" in r
               else f"{'':>12} {'':>12}")
        print(f"{r['mode']:<14} {r['order']:<7} {r['batch_size']:>5} {r['peak_gb']:>8.2f} {r['estimate_gb']:>8.2f} "
              f"{r['step_s']:>7.1f} {r['step_s'] / r['pass_s']:>6.2f} {rel}")
    return rows


if __name__ == "__main__":
    main()
