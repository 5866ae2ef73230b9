"""Search steps of this package against the original DARTS code (quark0/darts), side by side on this machine.

    git clone https://github.com/quark0/darts /path/to/darts
    python benchmarks/vs_original.py --original /path/to/darts/cnn                 # batches 32 and 64, 2 threads
    python benchmarks/vs_original.py --original /path/to/darts/cnn --batch_size 32 --json

Every (implementation, step kind, batch) runs in a fresh process of its own, and the implementations take
turns (original, this package, original, ...) for `--rounds` rounds, so a load that changes during the run
hits both alike. A child builds the supernet (C=16, 8 layers, 10 classes, random 32x32 batches, the same
seed), does one warm-up step, then times `--steps` steps (the median is kept) and reports its whole-process
peak resident memory (VmHWM, python and torch included, as a user's run sees it). A step is what a search
does per batch: the architect step (first order, or the paper's second order with the finite-difference
Hessian) and the weight step (SGD, momentum 0.9, weight decay 3e-4, gradient clipping 5), float32.

The original runs unchanged: its modules are imported from `--original`, with `.cuda()` made a no-op; its
weight step is train_search.py's (zero_grad, forward, backward, clip, step). This package runs its
DartsSearch step (darts.strategies.architect.Architect + darts.training.weight_step) in its CPU default
memory format, channels_last (`--nchw` adds a run in NCHW for comparison, `--memory_saving` one in the
memory-saving mode).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from types import SimpleNamespace

IMPLS = ("original", "package")


def _batches(torch, batch_size: int):
    g = torch.Generator().manual_seed(1)
    make = lambda: (torch.randn(batch_size, 3, 32, 32, generator=g), torch.randint(0, 10, (batch_size,), generator=g))
    return make(), make()


def original_step(spec: dict):
    """The original's search step (train_search.py's loop body) on its own supernet."""
    import torch
    import torch.nn as nn
    torch.Tensor.cuda = lambda self, *a, **k: self
    nn.Module.cuda = lambda self, *a, **k: self
    sys.path.insert(0, spec["original"])
    from architect import Architect
    from model_search import Network
    torch.manual_seed(0)
    criterion = nn.CrossEntropyLoss()
    model = Network(16, 10, 8, criterion)
    optimizer = torch.optim.SGD(model.parameters(), 0.025, momentum=0.9, weight_decay=3e-4)
    architect = Architect(model, SimpleNamespace(momentum=0.9, weight_decay=3e-4, arch_learning_rate=3e-4,
                                                 arch_weight_decay=1e-3))
    (x, y), (xv, yv) = _batches(torch, spec["batch_size"])
    unrolled = spec["order"] == "second"

    def step():
        architect.step(x, y, xv, yv, 0.025, optimizer, unrolled=unrolled)
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    return step


def package_step(spec: dict):
    """This package's search step (DartsSearch's loop body) on its supernet."""
    import torch
    from darts.memory_estimate import search_step
    from darts.spaces.darts_cnn import SearchNetwork
    from darts.training import ImageClassification
    torch.manual_seed(0)
    kwargs = {"memory_saving": True} if spec.get("memory_saving") else {}
    fmt = torch.contiguous_format if spec.get("nchw") else torch.channels_last
    model = SearchNetwork(16, 10, 8, **kwargs).to(memory_format=fmt)
    step = search_step(model, ImageClassification(), spec["order"])
    (x, y), (xv, yv) = _batches(torch, spec["batch_size"])
    train, val = (x.contiguous(memory_format=fmt), y), (xv.contiguous(memory_format=fmt), yv)
    return lambda: step(train, val)


def child(spec: dict) -> dict:
    import torch
    torch.set_num_threads(spec["threads"])
    step = (original_step if spec["impl"] == "original" else package_step)(spec)
    step()  # warm-up
    times = []
    for _ in range(spec["steps"]):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    from darts.memory_estimate import process_memory_gb
    return {**spec, "step_s": statistics.median(times), "times": times, "peak_gb": process_memory_gb("VmHWM")}


def run_child(spec: dict) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]))
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True,
                         env=env)
    if out.returncode != 0:
        raise SystemExit(f"child {spec} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--original", help="the original's cnn/ folder (quark0/darts)")
    p.add_argument("--batch_size", type=int, nargs="+", default=[32, 64])
    p.add_argument("--orders", nargs="+", default=["first", "second"], choices=["first", "second"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=2, help="timed steps per child after one warm-up step")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--nchw", action="store_true", help="also this package in NCHW")
    p.add_argument("--memory_saving", action="store_true", help="also this package's memory-saving mode")
    p.add_argument("--json", action="store_true")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    if not args.original or not os.path.isfile(os.path.join(args.original, "model_search.py")):
        p.error("--original must name the original's cnn/ folder (holding model_search.py)")
    variants = [("original", {}), ("package", {})]
    if args.nchw:
        variants.append(("package", {"nchw": True}))
    if args.memory_saving:
        variants.append(("package", {"memory_saving": True}))
    rows = []
    for batch in args.batch_size:
        for order in args.orders:
            for r in range(args.rounds):
                for impl, extra in variants:
                    spec = {"impl": impl, "order": order, "batch_size": batch, "threads": args.threads,
                            "steps": args.steps, "original": os.path.abspath(args.original), "round": r, **extra}
                    row = run_child(spec)
                    rows.append(row)
                    if not args.json:
                        print(f"{_name(row):<22} {order:<6} batch {batch:>3} round {r}: {row['step_s']:.2f} s/step, "
                              f"peak {row['peak_gb']:.2f} GB", flush=True)
    table = summarize(rows)
    if args.json:
        print(json.dumps({"rows": rows, "summary": table}))
    else:
        print(f"\n{args.threads} threads, C=16, 8 layers, 32x32, float32; median step of each child, median over "
              f"{args.rounds} rounds; peak = whole-process VmHWM")
        print(f"{'variant':<22} {'order':<6} {'batch':>5} {'s/step':>7} {'peak GB':>8} {'speed-up':>9} {'memory':>7}")
        for t in table:
            print(f"{t['variant']:<22} {t['order']:<6} {t['batch_size']:>5} {t['step_s']:>7.2f} {t['peak_gb']:>8.2f} "
                  f"{t['speedup_vs_original']:>8.2f}x {t['memory_vs_original']:>6.2f}x")
    return 0


def _name(row: dict) -> str:
    if row["impl"] == "original":
        return "original"
    return "package" + (" NCHW" if row.get("nchw") else "") + (" memory-saving" if row.get("memory_saving") else "")


def summarize(rows: list[dict]) -> list[dict]:
    """Per (variant, order, batch): the median step time over rounds and the largest peak; against the original,
    the ratio of the medians (speed-up) and of the peaks."""
    groups: dict = {}
    for row in rows:
        groups.setdefault((_name(row), row["order"], row["batch_size"]), []).append(row)
    out = []
    for (name, order, batch), rs in groups.items():
        out.append({"variant": name, "order": order, "batch_size": batch,
                    "step_s": statistics.median(r["step_s"] for r in rs), "peak_gb": max(r["peak_gb"] for r in rs),
                    "per_round": [r["step_s"] for r in rs]})
    for t in out:
        base = next(o for o in out if o["variant"] == "original" and o["order"] == t["order"]
                    and o["batch_size"] == t["batch_size"])
        t["speedup_vs_original"] = base["step_s"] / t["step_s"]
        t["memory_vs_original"] = t["peak_gb"] / base["peak_gb"]
    return out


if __name__ == "__main__":
    sys.exit(main())
