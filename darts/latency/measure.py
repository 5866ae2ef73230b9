"""Timing on a named device: the device string parsed once, a call timed (warm-up, then the median of repeats),
a whole network timed, and the description of the machine the figures belong to.

Devices: "cpu" (torch's own thread count), "cpu:N" (N intra-op threads), "cuda", "cuda:K" (GPU K).
"""
from __future__ import annotations

import copy
import math
import platform
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn as nn

from darts.errors import UserError

VALID_DEVICES = '"cpu", "cpu:N" (N threads), "cuda" or "cuda:K" (GPU K)'
MIN_REPEAT_MS = 0.5   # a repeat of a fast op loops over calls until it takes this long (timer resolution)


@dataclass(frozen=True)
class DeviceSpec:
    """Where to time: the torch device and the CPU threads (None: leave torch's count)."""
    kind: str            # "cpu" or "cuda"
    index: int | None = None
    threads: int | None = None

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.kind if self.index is None else f"{self.kind}:{self.index}")

    def __str__(self) -> str:
        if self.kind == "cpu":
            return "cpu" if self.threads is None else f"cpu:{self.threads}"
        return "cuda" if self.index is None else f"cuda:{self.index}"


def parse_device(device: str | DeviceSpec, threads: int | None = None) -> DeviceSpec:
    """A DeviceSpec from "cpu", "cpu:4", "cuda" or "cuda:1" (`threads`, if given, sets the CPU threads and must
    agree with "cpu:N"); a bad name, or CUDA on a machine without it, is a one-line UserError."""
    if isinstance(device, DeviceSpec):
        return device if threads is None else DeviceSpec(device.kind, device.index, threads)
    kind, _, suffix = str(device).strip().lower().partition(":")
    number = int(suffix) if suffix.isdigit() else None
    if kind not in ("cpu", "cuda") or (suffix and number is None):
        raise UserError(f"device {device!r}: give {VALID_DEVICES}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise UserError(f"threads {threads!r}: give a whole number >= 1")
    if kind == "cpu":
        if number is not None and number < 1:
            raise UserError(f"device {device!r}: N of cpu:N is a number of threads >= 1; give {VALID_DEVICES}")
        if number is not None and threads is not None and threads != number:
            raise UserError(f"device {device!r} says {number} threads and threads={threads}: give one of them")
        return DeviceSpec("cpu", None, number if number is not None else threads)
    if not torch.cuda.is_available():
        raise UserError(f"device {device!r}: this machine has no CUDA GPU; give \"cpu\" or \"cpu:N\" (N threads)")
    if number is not None and number >= torch.cuda.device_count():
        raise UserError(f"device {device!r}: this machine has GPUs 0..{torch.cuda.device_count() - 1}")
    return DeviceSpec("cuda", number, threads)


@contextmanager
def using(spec: DeviceSpec) -> Iterator[None]:
    """torch's CPU thread count set to the spec's for the block, then restored."""
    before = torch.get_num_threads()
    if spec.threads is not None:
        torch.set_num_threads(spec.threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def time_call(fn: Callable[[], object], spec: DeviceSpec, repeats: int = 20, warmup: int = 3) -> list[float]:
    """Milliseconds per call of `fn` in each of `repeats` repeats, after `warmup` calls. A repeat of a fast
    call loops over enough calls to last MIN_REPEAT_MS, so the timer's resolution does not matter."""
    cuda = spec.kind == "cuda"

    def clock() -> float:
        if cuda:
            torch.cuda.synchronize(spec.torch_device)
        return time.perf_counter()

    with using(spec), torch.inference_mode():
        for _ in range(max(1, warmup)):
            fn()
        start = clock()
        fn()
        once = (clock() - start) * 1e3
        inner = max(1, min(1000, math.ceil(MIN_REPEAT_MS / max(once, 1e-6))))
        times = []
        for _ in range(max(1, repeats)):
            start = clock()
            for _ in range(inner):
                fn()
            times.append((clock() - start) * 1e3 / inner)
    return times


def summarize(times: list[float]) -> dict:
    """Median, 10th and 90th percentiles of per-call milliseconds."""
    if len(times) == 1:
        return {"median_ms": times[0], "p10_ms": times[0], "p90_ms": times[0]}
    deciles = statistics.quantiles(times, n=10, method="inclusive")
    return {"median_ms": statistics.median(times), "p10_ms": deciles[0], "p90_ms": deciles[-1]}


def on_device(module: nn.Module, spec: DeviceSpec) -> nn.Module:
    """`module` itself when its weights already sit on the device, else a copy moved there (yours untouched)."""
    current = next((t.device for t in [*module.parameters(), *module.buffers()]), torch.device("cpu"))
    target = spec.torch_device
    if current.type == target.type and (target.index is None or current.index == target.index):
        return module
    return copy.deepcopy(module).to(target)


def measure_latency(network: nn.Module, input_shape: tuple[int, ...], batch: int = 1, device: str = "cpu",
                    threads: int | None = None, repeats: int = 20, warmup: int = 3) -> dict:
    """Latency of an eval-mode, inference-mode forward pass of the whole `network` on a (batch, *input_shape)
    input: {"median_ms", "p10_ms", "p90_ms", "device", "repeats"} over `repeats` timed passes after `warmup`."""
    spec = parse_device(device, threads)
    model = on_device(network, spec)
    was_training = model.training
    model.eval()
    try:
        x = torch.randn((batch, *input_shape), device=spec.torch_device)
        times = time_call(lambda: model(x), spec, repeats, warmup)
    finally:
        model.train(was_training)
    return {**summarize(times), "device": str(spec), "repeats": repeats}


def cpu_model() -> str:
    path = Path("/proc/cpuinfo")
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            if line.split(":")[0].strip() == "model name":
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_description(device: str | DeviceSpec = "cpu") -> dict:
    """What a latency figure depends on besides the network: the device and its name, the CPU, threads, torch."""
    spec = parse_device(device)
    name = torch.cuda.get_device_name(spec.torch_device) if spec.kind == "cuda" else cpu_model()
    return {"device": str(spec), "device_name": name, "cpu_model": cpu_model(),
            "threads": spec.threads if spec.threads is not None else torch.get_num_threads(),
            "torch": torch.__version__, "platform": platform.platform(), "python": platform.python_version()}


def machine_line(machine: dict) -> str:
    """One line naming a machine description."""
    return (f"{machine.get('device_name', '?')} ({machine.get('device', '?')}, {machine.get('threads', '?')} "
            f"thread(s), torch {machine.get('torch', '?')})")
