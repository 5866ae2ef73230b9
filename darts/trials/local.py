"""Worker processes on this machine: each is `python -m darts.trials.join` on the search's storage and study,
exactly what a process joining from another machine runs, so both paths are one.

Each process gets one intra-op thread on CPU (OMP_NUM_THREADS=1; N processes share the cores), or one GPU each
on a CUDA machine (CUDA_VISIBLE_DEVICES, round robin over the visible GPUs).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from darts.trials.store import new_worker_id


def worker_command(url: str, study: str, device: str | None = None, worker_id: str | None = None) -> list[str]:
    command = [sys.executable, "-m", "darts.trials.join", "--storage", url, "--study", study]
    command += ["--worker_id", worker_id] if worker_id else []
    return command + (["--device", device] if device else [])


def start_local_workers(url: str, study: str, count: int, device: str = "cpu", gpus: int = 0) -> tuple[list, list]:
    """`count` worker processes (subprocess.Popen objects) and their worker ids; `gpus` > 0 spreads them over
    that many GPUs."""
    package_root = str(Path(__file__).resolve().parents[2])  # the folder holding darts/
    processes, ids = [], [new_worker_id() for _ in range(count)]
    for k in range(count):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        if gpus > 0:
            visible = env.get("CUDA_VISIBLE_DEVICES")
            ids = visible.split(",") if visible else [str(i) for i in range(gpus)]
            env["CUDA_VISIBLE_DEVICES"] = ids[k % len(ids)]
            worker_device = "cuda"
        else:
            env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = "1"
            worker_device = device
        processes.append(subprocess.Popen(worker_command(url, study, worker_device, ids[k]), env=env))
    return processes, ids


def stop_workers(processes: list, finished: bool, timeout_s: float = 30.0) -> None:
    """Wait for workers that saw the study finished (terminate those that do not stop in time); a search
    stopped before its end terminates them at once (their trials are retried on resume)."""
    for p in processes:
        if not finished and p.poll() is None:
            p.terminate()
    for p in processes:
        try:
            p.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            p.terminate()
            p.wait()
