"""How many CPU threads a run uses: `--threads auto` picks one thread for tiny, overhead-bound
supernets (where thread hand-offs cost more than they save) and otherwise one per physical core that
other processes leave idle (a thread waiting for a busy core stalls every step); a number is used as given.
"""
from __future__ import annotations

import os
from pathlib import Path

from darts.errors import UserError

# Forward multiply-adds per batch below which one thread is used. Measured on a 2-core machine shared
# with other jobs (load 2-9, so never idle): one training step (forward + backward, batch 64) of the
# README's digits supernet (0.24G) took 0.95 s with 1 thread and 28-42 s with 2; 16x16 (0.98G) 2.5 s
# and 99 s; 32x32 (3.9G) 22 s and 129 s at load 4-5. Each of a step's ~thousand small ops waits for a
# second thread that the scheduler may not run, hence also `idle_cores`. CIFAR's supernet is 19G.
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


def idle_cores(cores: int) -> int:
    """`cores` less those other processes keep busy (the 1-minute load average), at least 1."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, cores - int(load + 0.5))


def choose_threads(requested: str | int | None, work_per_step: float) -> int | None:
    """The thread count for `--threads requested` (None: leave torch's own choice, returns None;
    'auto': OMP_NUM_THREADS when it is set, else by `work_per_step`, the forward multiply-adds of one batch;
    a number >= 1: itself)."""
    if requested is None:
        return None
    if isinstance(requested, str) and requested.strip().lower() == "auto":
        if os.environ.get("OMP_NUM_THREADS", "").isdigit():  # the user (or CI) chose already
            return max(1, int(os.environ["OMP_NUM_THREADS"]))
        return 1 if work_per_step < SMALL_WORK else idle_cores(physical_cores())
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
