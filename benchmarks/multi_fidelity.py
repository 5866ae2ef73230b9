"""Multi-fidelity search against full-budget random search at equal wall time, on digits.

Every method searches NAS-Bench-201 cells (small networks: 8 channels, one cell per stage) trained from
scratch on 1,000 digits images and validated on 400 others, for `--seconds` of wall time each (or `--epochs`
trained; a trial started is never cut short):
- random: every sampled cell trained the full `--max-epochs`;
- asha, hyperband, bohb: darts.strategies.multi_fidelity, rungs from `--min-epochs` by `--eta` to `--max-epochs`.
A method's pick is the cell trained for the most epochs, best validation accuracy among those; printed per
method: that validation accuracy, the test accuracy of the same network (same seed, same training) on 397
held-out images, trials run and epochs trained, mean and standard deviation over seeds.

    python benchmarks/multi_fidelity.py --seconds 300 --seeds 0 1 2      # the full comparison (about 1 h, 2 cores)
    python benchmarks/multi_fidelity.py --epochs 270 --seeds 0 1 2      # equal epochs instead of equal time
    python benchmarks/multi_fidelity.py --seconds 15 --seeds 0           # smoke
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import torch

from darts.evaluators.training import TrainingEvaluator
from darts.spaces.nb201 import Nb201ArchSpace, build_nb201_network
from darts.strategies.multi_fidelity import METHODS, MultiFidelitySearch


def digits():
    """(train x, y), (validation x, y), (test x, y): 1,000 / 400 / 397 images, a fixed shuffle."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = (x - x.mean()) / x.std()
    y = torch.tensor(d.target)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    parts = order[:1000], order[1000:1400], order[1400:]
    return [(x[p], y[p]) for p in parts]


def evaluators(max_epochs: int, seed: int):
    (tx, ty), (vx, vy), (sx, sy) = digits()
    build = lambda arch, c, n: build_nb201_network(arch, c, n, C=8, N=1)  # noqa: E731
    common = dict(epochs=max_epochs, batch_size=50, learning_rate=0.1, num_classes=10, seed=seed, arch_key=str)
    return (TrainingEvaluator(build, tx, ty, vx, vy, dataset="digits-valid", **common),
            TrainingEvaluator(build, tx, ty, sx, sy, dataset="digits-test", **common))


def search(method: str, seed: int, seconds: float, args) -> dict:
    """One method for `seconds`: its pick's validation and test accuracy, trials and epochs."""
    valid, test = evaluators(args.max_epochs, seed)
    space, rng = Nb201ArchSpace(), random.Random(seed)
    mf = None if method == "random" else MultiFidelitySearch(space, method, seed, args.min_epochs, args.max_epochs,
                                                             args.eta)
    best, best_arch, trials, epochs = (0, float("-inf")), None, 0, 0
    start = time.perf_counter()
    while (epochs < args.epochs if args.epochs else time.perf_counter() - start < seconds):
        if mf is None:
            arch = space.sample_random(rng)
            key, trained = (args.max_epochs, valid.evaluate(arch)), args.max_epochs
        else:
            arch, record = mf.run_trial(valid.evaluate)
            key, trained = (len(record["curve"]), record["curve"][-1]), record["trained"]
        trials, epochs = trials + 1, epochs + trained
        if key > best:
            best, best_arch = key, arch
    return {"method": method, "seed": seed, "valid": best[1], "best_epochs": best[0], "test": test.evaluate(best_arch),
            "trials": trials, "epochs": epochs, "arch": str(best_arch)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=300.0, help="wall time of each method on each seed")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--methods", nargs="+", default=["random", *METHODS], choices=["random", *METHODS])
    p.add_argument("--min-epochs", type=int, default=1)
    p.add_argument("--max-epochs", type=int, default=9)
    p.add_argument("--eta", type=int, default=3)
    p.add_argument("--epochs", type=int, default=None,
                   help="instead of wall time: start no trial once this many epochs are trained (a machine shared "
                        "with other work times unevenly)")
    p.add_argument("--out", default=None, help="also write every run as JSON lines here")
    args = p.parse_args()
    torch.set_num_threads(1)
    runs = [search(m, s, args.seconds, args) for s in args.seeds for m in args.methods]
    if args.out:
        with open(args.out, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in runs)
    budget = f"{args.epochs} epochs" if args.epochs else f"{args.seconds:g} s"
    print(f"digits, NAS-Bench-201 cells (C=8, N=1), {budget} per method and seed, epochs "
          f"{args.min_epochs}..{args.max_epochs} (eta {args.eta}), seeds {args.seeds}")
    print(f"{'method':<10} {'valid acc':>16} {'test acc':>16} {'trials':>8} {'epochs':>8}")
    for m in args.methods:
        mine = [r for r in runs if r["method"] == m]
        cell = lambda k: f"{statistics.fmean(r[k] for r in mine):6.2f} +- {_sd([r[k] for r in mine]):5.2f}"  # noqa
        print(f"{m:<10} {cell('valid'):>16} {cell('test'):>16} {statistics.fmean(r['trials'] for r in mine):8.1f} "
              f"{statistics.fmean(r['epochs'] for r in mine):8.1f}")


def _sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


if __name__ == "__main__":
    main()
