"""The one-hour laptop search (docs/results/laptop_fashion_mnist.md): the two-command recipe (search, then retrain
the found cell for what the search left of the hour) beside a hand-designed cell (cells/ResidualSepConv.json)
trained for the whole hour with the same retraining flags, on Fashion-MNIST, several seeds.

By default one run at a time with both of a 2-core laptop's cores (`--jobs 1 --threads 2`), the condition the
recipe is meant for; `--jobs 2 --threads 1` runs two at a time, each with one core while the other run uses the
other (cheaper in wall time, slower per run). Phases: every seed's search, then every seed's retraining, then
every seed's baseline, so that runs of one kind share the machine with their own kind. A finished run (its
timing file written) is read back, not redone; a killed one is started again with --resume. Each run's wall
time is measured around its whole process.

    python benchmarks/laptop_fashion_mnist.py --out laptop-fm --seeds 10 11 --baseline_seeds 2

The defaults search with the cap alone: the strongest cells that cost no more than the baseline's (`--cost_cap
ResidualSepConv`), under op costs timed at the 5-cell network's shapes (`--cost_layers 5`), over DARTS's eight
ops. `--cost_weight 0.3` adds the cost term to the search, `--cost_cap none --cost_weight 0.3` runs the cost
term alone, `--cost_cap none` a plain DARTS search; `--primitives`, `--allow_same_input`, `--chain_cells` and
`--cost_cap_by step_time` pass the search's flags of those names; `--compile` and `--cpu_bf16` retrain (the found
cell and the baseline alike) with train_final.py's flags of those names. Each variant of the results page names
its flags. The recipe is `--chain_cells --cost_cap_by step_time --primitives
none,skip_connect,sep_conv_3x3,sep_conv_5x5,dil_conv_3x3,dil_conv_5x5 --compile`; the defaults stay the first
capped variant's, so that its command still reproduces its rows.
`--baseline_seeds`
names the baseline's seeds (default: the recipe's; none skips it, e.g. when its run is already in OUT with the
same retraining flags).

Written: OUT/summary.json and OUT/summary.md (per seed: search and retraining minutes, epochs, test accuracy
of the last epoch; the baseline's; the means). Test accuracy is on Fashion-MNIST's 10,000 test images, which
no run uses to choose anything (the search reads only the training split, the epoch count comes from time).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from darts.checkpoint import atomic_write_json, atomic_write_text
from run_folders import run_in_folder, started_in  # benchmarks/, beside this script

SEARCH = ["--dataset", "fashion-mnist", "--layers", "3", "--init_channels", "4", "--batch_size", "64",
          "--epochs", "4", "--max_batches", "25"]
COST_WEIGHT = 0.0  # no cost term: the cap alone keeps the cells' cost (0.3, chosen on seed 5, pushed the
# alphas towards cheap ops as well, so the capped cells left part of the budget unspent)
PRIMITIVES = "all"  # DARTS's eight ops; the space without pools (none,skip_connect,sep_conv_3x3,sep_conv_5x5,
# dil_conv_3x3,dil_conv_5x5) alone held 2 convolutions per normal and 2-3 per reduction cell but trained slower
# than the cap predicts, 93.01 / 93.39 % on seeds 16 / 17 (no gain)
COST_CAP = "ResidualSepConv"  # the derived cells cost no more than the baseline's (summed op costs)
COST_LAYERS = 5  # the costs are timed at the retrained network's cells (RETRAIN's --layers)
COST_CHANNELS = 16  # and at its width (RETRAIN's --init_channels)
RETRAIN = ["--dataset", "fashion-mnist", "--layers", "5", "--init_channels", "16", "--drop_path_prob", "0",
           "--epochs", "30"]
HOUR_MINUTES = 58.5  # the hour, less the processes' start-up and a margin for the last epoch's estimate
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
    record = json.loads(timing.read_text())
    if record["command"][1:] != argv:  # never mix runs of another recipe into this summary
        raise SystemExit(f"{out / name} was run with other flags ({' '.join(record['command'][1:])}); "
                         "give another --out")
    return record


def last_epoch(folder: Path) -> dict:
    rows = [json.loads(line) for line in (folder / "history.jsonl").read_text().splitlines()]
    return {"epochs": len(rows), "test_acc": rows[-1]["test_acc"], "train_acc": rows[-1]["train_acc"]}


def cells(row: dict, *parts: str) -> str:
    """Table cells from format strings over `row`; "-" where the row lacks a run (e.g. no baseline)."""
    return " | ".join(part.format(**row) if all(k in row for k in re.findall(r"{(\w+)", part)) else "-"
                      for part in parts)


def phase(jobs: int, tasks: list) -> list:
    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(lambda t: run(*t), tasks))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="laptop-fm")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--jobs", type=int, default=1, help="runs at a time")
    p.add_argument("--threads", type=int, default=2, help="threads of each run")
    p.add_argument("--retrain_minutes", type=float, default=None,
                   help=f"the found cell's --time_budget (default: {HOUR_MINUTES} less its search's minutes)")
    p.add_argument("--cost_weight", type=float, default=COST_WEIGHT,
                   help="the search's --cost_weight (default 0: no cost term, the cap alone keeps the cost)")
    p.add_argument("--cost_cap", default=COST_CAP,
                   help="the search's --cost_cap (none: no cap)")
    p.add_argument("--primitives", default=PRIMITIVES,
                   help="the search's --primitives, comma-separated (default all: DARTS's eight ops)")
    p.add_argument("--allow_same_input", action="store_true",
                   help="the search's --allow_same_input (a node's two ops may read one input)")
    p.add_argument("--chain_cells", action="store_true",
                   help="the search's --chain_cells (each node takes two ops of the node before it)")
    p.add_argument("--cost_cap_by", default="op_costs", choices=("op_costs", "step_time"),
                   help="the search's --cost_cap_by (step_time: the cap's budgets fitted to measured step time)")
    p.add_argument("--compile", action="store_true",
                   help="retrain (found cell and baseline alike) with train_final.py --compile")
    p.add_argument("--cpu_bf16", action="store_true",
                   help="retrain (found cell and baseline alike) with train_final.py --cpu_bf16")
    p.add_argument("--baseline_seeds", type=int, nargs="*", default=None,
                   help="seeds of the hand-designed baseline (default: --seeds; none: only the recipe)")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parent.parent
    search, final = str(root / "train_search.py"), str(root / "train_final.py")
    s = args.seeds
    b_seeds = s if args.baseline_seeds is None else args.baseline_seeds
    capped = args.cost_cap.lower() != "none"
    search_flags = SEARCH + (["--primitives", args.primitives] if args.primitives.lower() != "all" else []) + \
        (["--allow_same_input"] if args.allow_same_input else []) + \
        (["--chain_cells"] if args.chain_cells else []) + \
        (["--cost_weight", str(args.cost_weight)] if args.cost_weight else []) + \
        (["--cost_cap", args.cost_cap] if capped else []) + \
        (["--cost_cap_by", args.cost_cap_by] if capped and args.cost_cap_by != "op_costs" else []) + \
        (["--cost_layers", str(COST_LAYERS), "--cost_channels", str(COST_CHANNELS)]
         if args.cost_weight or capped else [])
    retrain = RETRAIN + (["--compile"] if args.compile else []) + (["--cpu_bf16"] if args.cpu_bf16 else [])
    searched = phase(args.jobs, [(out, f"search-s{k}", search_flags + ["--seed", str(k)], search, args.threads)
                                 for k in s])
    left = [round(HOUR_MINUTES - t["minutes"], 2) if args.retrain_minutes is None else args.retrain_minutes
            for t in searched]
    retrained = phase(args.jobs, [(out, f"retrain-s{k}", retrain + [
        "--arch", str(out / f"search-s{k}" / "genotype.json"), "--time_budget", str(minutes),
        "--seed", str(k)], final, args.threads) for k, minutes in zip(s, left)])
    baseline = phase(args.jobs, [(out, f"baseline-s{k}", retrain + [
        "--arch", BASELINE_ARCH, "--time_budget", str(HOUR_MINUTES), "--seed", str(k)], final, args.threads)
        for k in b_seeds])
    rows = []
    for k, budget, *timed in zip(s, left, searched, retrained):
        ts, tr = (t["minutes"] for t in timed)
        r = last_epoch(out / f"retrain-s{k}")
        rows.append({"seed": k, "search_min": ts, "retrain_min": tr, "recipe_min": ts + tr,
                     "retrain_budget_min": budget,
                     "resumed": [n for n, t in zip(("search", "retrain"), timed) if t.get("resumed")],
                     "recipe_epochs": r["epochs"], "recipe_test_acc": r["test_acc"],
                     "genotype": json.loads((out / f"search-s{k}" / "genotype.json").read_text())})
    for k, t in zip(b_seeds, baseline):
        b = last_epoch(out / f"baseline-s{k}")
        row = next((r for r in rows if r["seed"] == k), None)
        if row is None:
            row = {"seed": k, "resumed": []}
            rows.append(row)
        row.update(baseline_min=t["minutes"], baseline_epochs=b["epochs"], baseline_test_acc=b["test_acc"])
        row["resumed"] += ["baseline"] if t.get("resumed") else []
    mean = {key: statistics.mean(r[key] for r in rows if key in r) for key in
            ("recipe_min", "recipe_test_acc", "baseline_min", "baseline_test_acc") if any(key in r for r in rows)}
    summary = {"rows": rows, "mean": mean, "search": search_flags, "retrain": retrain, "jobs": args.jobs,
               "threads": args.threads, "hour_minutes": HOUR_MINUTES, "baseline_arch": BASELINE_ARCH}
    atomic_write_json(out / "summary.json", summary)
    lines = ["| seed | search (min) | retrain (min, epochs) | recipe total (min) | recipe test acc (%) | "
             f"{BASELINE_ARCH} (min, epochs) | {BASELINE_ARCH} test acc (%) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['seed']} | " + cells(r, "{search_min:.1f}", "{retrain_min:.1f}, {recipe_epochs}",
                                                  "{recipe_min:.1f}", "{recipe_test_acc:.2f}",
                                                  "{baseline_min:.1f}, {baseline_epochs}", "{baseline_test_acc:.2f}")
                     + " |")
    lines.append("| mean | | | " + cells(mean, "{recipe_min:.1f}", "{recipe_test_acc:.2f}", "{baseline_min:.1f}",
                                         "{baseline_test_acc:.2f}") + " |")
    lines += [f"\nseed {r['seed']}: {', '.join(r['resumed'])} resumed after a kill; those minutes count from the "
              "resumption only" for r in rows if r["resumed"]]
    atomic_write_text(out / "summary.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return summary


if __name__ == "__main__":
    main()
