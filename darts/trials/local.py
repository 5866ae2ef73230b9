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


def worker_command(url: str, study: str, device: str | None = None) -> list[str]:
    command = [sys.executable, "-m", "darts.trials.join", "--storage", url, "--study", study]
    return command + (["--device", device] if device else [])


def start_local_workers(url: str, study: str, count: int, device: str = "cpu", gpus: int = 0) -> list:
    """`count` worker processes (subprocess.Popen objects); `gpus` > 0 spreads them over that many GPUs."""
    package_root = str(Path(__file__).resolve().parents[2])  # the folder holding darts/
    processes = []
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
        processes.append(subprocess.Popen(worker_command(url, study, worker_device), env=env))
    return processes


def stop_workers(processes: list, timeout_s: float = 30.0) -> None:
    """Wait for workers that saw the study finished; terminate the ones that do not stop in time."""
    for p in processes:
        try:
            p.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            p.terminate()
            p.wait()
