"""The one-hour laptop search (issue 17): the README's two-command recipe (search, then retrain the found cell
for what is left of the hour) beside a hand-designed cell (cells/ResidualSepConv.json) trained for the whole
hour with the same retraining flags, on Fashion-MNIST, several seeds.

By default one run at a time with both of a 2-core laptop's cores (`--jobs 1 --threads 2`), the issue's
condition; `--jobs 2 --threads 1` runs two at a time, each with one core while the other run uses the other
(cheaper in wall time, slower per run). Phases: every seed's search, then every seed's retraining, then every
seed's baseline, so that runs of one kind share the machine with their own kind. A finished run (its timing
file written) is read back, not redone; a killed one is started again with --resume. Each run's wall time is
measured around its whole process.

    python benchmarks/laptop_fashion_mnist.py --out laptop-fm --seeds 0 1

Written: OUT/summary.json and OUT/summary.md (per seed: search and retraining minutes, epochs, test accuracy
of the last epoch; the baseline's; the means). Test accuracy is on Fashion-MNIST's 10,000 test images, which
no run uses to choose anything (the search reads only the training split, the epoch count comes from time).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from darts.checkpoint import atomic_write_json, atomic_write_text
from run_folders import run_in_folder, started_in  # benchmarks/, beside this script

SEARCH = ["--dataset", "fashion-mnist", "--layers", "3", "--init_channels", "4", "--batch_size", "64",
          "--epochs", "8", "--max_batches", "25"]
RETRAIN = ["--dataset", "fashion-mnist", "--layers", "5", "--init_channels", "16", "--drop_path_prob", "0",
           "--epochs", "30"]
RETRAIN_MINUTES = 51.0  # what is left of the hour after a search of about 8 minutes on two cores
BASELINE_MINUTES = 59.0  # the hour, less the process's start-up
BASELINE_ARCH = "ResidualSepConv"


def run(out: Path, name: str, argv: list[str], script: str, threads: int) -> dict:
    """The timing record of `python script argv --save out/name` (read back if already done): its wall minutes,
    and whether it was resumed after a kill, when the minutes count from the resumption only."""
    timing = out / f"{name}.time.json"
    if not timing.is_file():
        resumed = started_in(out / name)
        seconds = run_in_folder([sys.executable, script], argv, out / name, out / f"{name}.log",
                                always=["--threads", str(threads), "--no_progress"], threads=threads)
        atomic_write_json(timing, {"minutes": seconds / 60, "resumed": resumed, "command": [script] + argv})
    return json.loads(timing.read_text())


def last_epoch(folder: Path) -> dict:
    rows = [json.loads(line) for line in (folder / "history.jsonl").read_text().splitlines()]
    return {"epochs": len(rows), "test_acc": rows[-1]["test_acc"], "train_acc": rows[-1]["train_acc"]}


def phase(jobs: int, tasks: list) -> list:
    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(lambda t: run(*t), tasks))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="laptop-fm")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--jobs", type=int, default=1, help="runs at a time")
    p.add_argument("--threads", type=int, default=2, help="threads of each run")
    p.add_argument("--retrain_minutes", type=float, default=RETRAIN_MINUTES,
                   help="the found cell's --time_budget: what the search leaves of the hour")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parent.parent
    search, final = str(root / "train_search.py"), str(root / "train_final.py")
    s = args.seeds
    searched = phase(args.jobs, [(out, f"search-s{k}", SEARCH + ["--seed", str(k)], search, args.threads) for k in s])
    retrained = phase(args.jobs, [(out, f"retrain-s{k}", RETRAIN + [
        "--arch", str(out / f"search-s{k}" / "genotype.json"), "--time_budget", str(args.retrain_minutes),
        "--seed", str(k)], final, args.threads) for k in s])
    baseline = phase(args.jobs, [(out, f"baseline-s{k}", RETRAIN + [
        "--arch", BASELINE_ARCH, "--time_budget", str(BASELINE_MINUTES), "--seed", str(k)], final, args.threads)
        for k in s])
    rows = []
    for k, *timed in zip(s, searched, retrained, baseline):
        ts, tr, tb = (t["minutes"] for t in timed)
        r, b = last_epoch(out / f"retrain-s{k}"), last_epoch(out / f"baseline-s{k}")
        rows.append({"seed": k, "search_min": ts, "retrain_min": tr, "recipe_min": ts + tr,
                     "resumed": [n for n, t in zip(("search", "retrain", "baseline"), timed) if t.get("resumed")],
                     "recipe_epochs": r["epochs"], "recipe_test_acc": r["test_acc"],
                     "genotype": json.loads((out / f"search-s{k}" / "genotype.json").read_text()),
                     "baseline_min": tb, "baseline_epochs": b["epochs"], "baseline_test_acc": b["test_acc"]})
    mean = {key: statistics.mean(r[key] for r in rows) for key in
            ("recipe_min", "recipe_test_acc", "baseline_min", "baseline_test_acc")}
    summary = {"rows": rows, "mean": mean, "search": SEARCH, "retrain": RETRAIN, "jobs": args.jobs,
               "threads": args.threads, "retrain_minutes": args.retrain_minutes,
               "baseline_minutes": BASELINE_MINUTES, "baseline_arch": BASELINE_ARCH}
    atomic_write_json(out / "summary.json", summary)
    lines = ["| seed | search (min) | retrain (min, epochs) | recipe total (min) | recipe test acc (%) | "
             f"{BASELINE_ARCH} (min, epochs) | {BASELINE_ARCH} test acc (%) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['seed']} | {r['search_min']:.1f} | {r['retrain_min']:.1f}, {r['recipe_epochs']} | "
                     f"{r['recipe_min']:.1f} | {r['recipe_test_acc']:.2f} | {r['baseline_min']:.1f}, "
                     f"{r['baseline_epochs']} | {r['baseline_test_acc']:.2f} |")
    lines.append(f"| mean | | | {mean['recipe_min']:.1f} | {mean['recipe_test_acc']:.2f} | "
                 f"{mean['baseline_min']:.1f} | {mean['baseline_test_acc']:.2f} |")
    lines += [f"\nseed {r['seed']}: {', '.join(r['resumed'])} resumed after a kill; those minutes count from the "
              "resumption only" for r in rows if r["resumed"]]
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return summary


if __name__ == "__main__":
    main()
