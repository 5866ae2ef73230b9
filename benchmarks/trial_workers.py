"""Trials per hour of random search with --workers N against one worker, rewards by brief training on digits.

Both runs search the NAS-Bench-201 space (small networks) on scikit-learn's 8x8 digits with the same seed,
each architecture trained `--fidelity_epochs` epochs from its own seed; the set of architectures evaluated, and
their rewards, must be the same. With `--kill K` the N-worker run has one of its worker processes killed (SIGKILL)
at K random moments (never the last one alive): the lost trials must be retried and counted once, and the
architectures still equal the one-worker run's.

    python benchmarks/trial_workers.py --workers 2 --budget 40 --fidelity_epochs 3 --json trial_workers.json
    python benchmarks/trial_workers.py --smoke                       # a minute: 4 trials, two batches each
    python benchmarks/trial_workers.py --smoke --kill 1              # one worker killed (waits the 30 s grace)
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from darts import api  # noqa: E402


def search(folder: Path, workers: int, args) -> dict:
    start = time.perf_counter()
    result = api.search(dataset="digits", space="nb201", strategy="random", seed=args.seed, budget=args.budget,
                        fidelity_epochs=args.fidelity_epochs, max_batches=args.max_batches, init_channels=8,
                        layers=3, batch_size=64, workers=workers, save=folder, no_plots=True, progress=False,
                        log_to_console=False)
    seconds = time.perf_counter() - start
    return {"workers": workers, "seconds": round(seconds, 2), "trials": len(result.history),
            "trials_per_hour": round(3600 * len(result.history) / seconds, 1),
            "pairs": sorted((json.dumps(r["arch"]), r["reward"]) for r in result.history)}


def worker_pids() -> list[int]:
    """This process's children running a trial worker."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and b"darts.trials.join" in cmdline:
            pids.append(int(entry.name))
    return pids


def killer(kills: int, stop: threading.Event, log: list, seed: int) -> None:
    """Kill one worker process at `kills` random moments, while another stays alive."""
    rng = random.Random(seed)
    while kills > 0 and not stop.wait(rng.uniform(5, 20)):
        pids = worker_pids()
        if len(pids) >= 2:
            victim = rng.choice(pids)
            os.kill(victim, signal.SIGKILL)
            log.append({"killed": victim, "at": time.strftime("%H:%M:%S")})
            kills -= 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--fidelity_epochs", type=int, default=3)
    parser.add_argument("--max_batches", type=int, default=None, help="cap each trial's batches (smoke runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kill", type=int, default=0, help="kill a worker process this many times")
    parser.add_argument("--smoke", action="store_true", help="4 trials of 2 batches: checks the script runs")
    parser.add_argument("--json", default=None, help="write the figures here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.budget, args.fidelity_epochs, args.max_batches = 4, 1, 2
    with tempfile.TemporaryDirectory() as tmp:
        one = search(Path(tmp) / "one", 1, args)
        stop, kills = threading.Event(), []
        thread = threading.Thread(target=killer, args=(args.kill, stop, kills, args.seed), daemon=True)
        thread.start()
        many = search(Path(tmp) / "many", args.workers, args)
        stop.set()
    same_archs = [a for a, _ in one["pairs"]] == [a for a, _ in many["pairs"]]
    report = {"machine": f"{os.cpu_count()} CPUs", "budget": args.budget, "fidelity_epochs": args.fidelity_epochs,
              "max_batches": args.max_batches, "one": {k: v for k, v in one.items() if k != "pairs"},
              "many": {k: v for k, v in many.items() if k != "pairs"}, "kills": kills,
              "same_architectures": same_archs, "same_rewards": one["pairs"] == many["pairs"],
              "speedup": round(one["seconds"] / many["seconds"], 2)}
    print(json.dumps(report, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0 if same_archs else 1


if __name__ == "__main__":
    sys.exit(main())
