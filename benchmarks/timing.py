"""The benchmarks' one timer: wall time of one call, with CUDA's queue drained before and after it."""
from __future__ import annotations

import time

import torch


def seconds(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t
