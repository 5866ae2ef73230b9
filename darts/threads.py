"""How many CPU threads a run uses: `--threads auto` picks one thread for tiny, overhead-bound
supernets (where thread hand-offs cost more than they save, and a shared machine loses the most) and
one per physical core otherwise; a number is used as given.
"""
from __future__ import annotations

import os
from pathlib import Path

from darts.errors import UserError

# Forward multiply-adds per batch below which one thread is used. The README's digits search (5 cells,
# C=8, 8x8 images, batch 64: 0.24G per batch) ran 10 batches in 52 s with 1 thread and had not finished
# after 320 s with 2 on a shared 2-core machine (load 9): its ~thousand tiny ops per step each wait for a
# second thread the scheduler may not run. A CIFAR-sized supernet (C=16, 8 cells, batch 64) is 19G.
SMALL_WORK = 1e9


def physical_cores(cpuinfo: str | None = None) -> int:
    """Physical cores this process may run on: distinct (package, core) pairs in /proc/cpuinfo (hyper-
    threads share a core's arithmetic units), capped by the CPUs the process is allowed to use."""
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.is_file() else ""
    cores, package = set(), "0"
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "physical id":
            package = value.strip()
        elif key.strip() == "core id":
            cores.add((package, value.strip()))
    return max(1, min(allowed, len(cores) or allowed))


def choose_threads(requested: str | int | None, work_per_step: float) -> int | None:
    """The thread count for `--threads requested` (None: leave torch's own choice, returns None;
    'auto': by `work_per_step`, the forward multiply-adds of one batch; a number >= 1: itself)."""
    if requested is None:
        return None
    if isinstance(requested, str) and requested.strip().lower() == "auto":
        return 1 if work_per_step < SMALL_WORK else physical_cores()
    try:
        n = int(requested)
    except (TypeError, ValueError):
        n = 0
    if n < 1 or str(requested).strip() != str(n):
        raise UserError(f"--threads {requested}: give auto or a whole number of threads >= 1")
    return n


def apply_threads(n: int | None) -> None:
    """Set torch's intra-op thread count (None: unchanged)."""
    if n is not None:
        import torch  # here, so that choosing (and --help) stays free of the torch import
        torch.set_num_threads(n)
