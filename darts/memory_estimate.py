"""Peak memory and time of one DARTS search step, estimated before the run (CPU), and measured.

Why: a supernet search fails on memory, not on weights (1.9M weights, 8 MB; the activations of one batch
of 64 at 32x32 take ~8 GB), and it fails late - at the first second-order step. This gives the figure
(and the largest batch that fits a budget) in seconds, without running a step.

The model, whole-process peak resident memory (VmHWM) of a step (architect step + weight step):

    peak(batch) = BASELINE + STATE[order] * weight bytes + FACTOR[mode, order] * A(batch)

- A(batch): bytes of the tensors one forward pass keeps for its backward pass, counted exactly with
  torch.autograd.graph.saved_tensors_hooks on batches of 2 and 4 and extended linearly in the batch. In
  memory-saving mode (cells checkpointed) it is what the forward keeps outside the cells, the cells'
  inputs (held by the checkpoints) and the largest cell's own tensors (recomputed in the backward pass,
  one cell at a time). Not so for the exact Hessian: its double backward keeps every recomputed tensor
  for the second pass, so there A is the default one (checkpointing saved 10-16% there, measured).
- STATE: weights, gradients and momentum (3 copies); the second-order step adds w', v, the training
  gradient and w+- (5 more).
- BASELINE and FACTOR are fitted to peaks measured in one fresh process per (mode, order, batch) by
  `measure_step` (benchmarks/search_memory.py runs it): FACTOR covers the backward pass's gradients beside
  the saved tensors and what the C allocator keeps after freeing. Fitted on torch 2.13, CPU, glibc, one
  thread; other allocators or many threads can shift it.

A calibration replaces BASELINE and FACTOR: a JSON file named by the environment variable
DARTS_MEMORY_CALIBRATION (or passed as `calibration=`), {"device": ..., "measures": ..., "baseline_gb": B,
"factor": {"default/first": F, "memory-saving/second": F, ...}} with all six (mode, order) keys.
benchmarks/gpu_check.py writes one for CUDA from the peaks it measures (torch.cuda.max_memory_allocated()
after reset_peak_memory_stats(), the caching allocator's peak, so B is 0 there and the CUDA context, ~0.3-0.5
GB outside the allocator, is not counted).

Step time: the profile's forward of a batch of 4, timed and scaled linearly in the batch, times measured
ratios (forward + backward / forward, step / forward + backward, memory-saving / default): a rough figure
(within ~2x) for this machine under its current load.
"""
from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from darts.errors import UserError
from darts.training import frozen_batchnorm_stats

GB = 1e9
ORDERS = ("first", "second", "exact")  # first order; second order by finite difference; by double backward
# Fitted (least squares on relative error) to 22 measured peaks: C=16 / 8 layers at batches 32 and 64, C=8 /
# 5 layers at 8 and 16, 32x32, every mode and order (exact at batch 32 only for C=16); all within 8%.
BASELINE_GB = 0.35  # the intercept: python, torch and what the first step loads (0.23 GB right after imports)
STATE = {"first": 3, "second": 8, "exact": 8}
FACTOR = {(False, "first"): 1.37, (False, "second"): 1.52, (False, "exact"): 3.36,
          (True, "first"): 2.14, (True, "second"): 1.96, (True, "exact"): 2.89}
STEP_OVER_PASS = {"first": 1.6, "second": 4.3, "exact": 5.0}  # step time / P, default mode (measured)
PASS_OVER_FORWARD = 2.0  # P / (the profile's forward time per image x batch): 1.7-3 measured at C=8-16
RECOMPUTE_COST = {"first": 1.45, "second": 1.45, "exact": 1.4}  # memory-saving / default step time (measured)
CALIBRATION_ENV = "DARTS_MEMORY_CALIBRATION"  # path of a calibration JSON file the estimate reads


def mode_key(memory_saving: bool, order: str) -> str:
    """A (mode, order) pair as a calibration file names it: default/first ... memory-saving/exact."""
    return f"{'memory-saving' if memory_saving else 'default'}/{order}"


@dataclass
class Calibration:
    """BASELINE and FACTOR fitted elsewhere (e.g. on a GPU); `measures` says what its peak is."""
    baseline_gb: float
    factor: dict = field(default_factory=dict)  # {(memory_saving, order): factor}
    device: str = ""
    measures: str = ""

    @classmethod
    def load(cls, path: str) -> "Calibration":
        """Read and check a calibration file (one-line error naming the file when it is not one)."""
        try:
            with open(path) as f:
                raw = json.load(f)
            factor = {(m, o): float(raw["factor"][mode_key(m, o)]) for m in (False, True) for o in ORDERS}
            cal = cls(float(raw["baseline_gb"]), factor, str(raw.get("device", "")), str(raw.get("measures", "")))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise UserError(f"{path} is not a memory calibration file ({type(e).__name__}: {e}); write one with "
                            f"benchmarks/gpu_check.py or unset {CALIBRATION_ENV}") from None
        if cal.baseline_gb < 0 or min(factor.values()) <= 0:
            raise UserError(f"{path}: baseline_gb must be >= 0 and every factor > 0")
        return cal

    def to_json(self) -> dict:
        return {"device": self.device, "measures": self.measures, "baseline_gb": self.baseline_gb,
                "factor": {mode_key(m, o): f for (m, o), f in self.factor.items()}}


BUILT_IN = Calibration(BASELINE_GB, dict(FACTOR), "cpu", "whole-process VmHWM, torch 2.13, glibc, one thread")


def active_calibration(calibration: Calibration | None = None) -> Calibration:
    """`calibration`, else the file named by DARTS_MEMORY_CALIBRATION, else the built-in CPU fit."""
    if calibration is not None:
        return calibration
    path = os.environ.get(CALIBRATION_ENV)
    return Calibration.load(path) if path else BUILT_IN


@dataclass
class ActivationProfile:
    """Saved-for-backward bytes of one forward pass, fixed + per image, in each mode; weight bytes."""
    fixed: float
    per_image: float
    fixed_saving: float
    per_image_saving: float
    weight_bytes: int
    forward_seconds: float = 0.0  # one forward of a batch of 4 (the second one timed here), per image

    def activations(self, batch_size: int, memory_saving: bool) -> float:
        if memory_saving:
            return self.fixed_saving + self.per_image_saving * batch_size
        return self.fixed + self.per_image * batch_size


@dataclass
class MemoryEstimate:
    batch_size: int
    order: str
    memory_saving: bool
    peak_gb: float
    baseline_gb: float
    state_gb: float
    activations_gb: float  # A(batch), before FACTOR
    factor: float = 1.0

    def __str__(self) -> str:
        mode = "memory-saving" if self.memory_saving else "default"
        return (f"{self.order}-order step, batch {self.batch_size}, {mode}: peak ~{self.peak_gb:.2f} GB "
                f"(process {self.baseline_gb:.2f} + weights and optimizer {self.state_gb:.2f} + "
                f"{self.factor:.2f} x {self.activations_gb:.2f} saved activations)")


@contextlib.contextmanager
def _default_mode(model: nn.Module):
    """The model with checkpointing off for a while (counting and timing look at the plain forward)."""
    saving = getattr(model, "memory_saving", None)
    if saving:
        model.memory_saving = False
    try:
        yield
    finally:
        if saving:
            model.memory_saving = saving


def _saved_bytes(model: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """(default, memory-saving) bytes kept for the backward pass by one forward of `x`, counted in default
    mode with every saved storage attributed to the cell that saved it (or to none)."""
    seen = {p.untyped_storage().data_ptr() for p in model.parameters()}
    cells = list(model.cells) if hasattr(model, "memory_saving") else []  # a DARTS supernet's cells
    per_cell, outside, inputs = [0] * len(cells), [0], {}
    current = [None]

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            if current[0] is None:
                outside[0] += storage.nbytes()
            else:
                per_cell[current[0]] += storage.nbytes()
        return t

    def enter(i):
        def hook(module, args):
            current[0] = i
            for a in args[:2]:  # s0, s1: what a checkpoint holds (kept alive here too, so no address is reused)
                inputs[a.untyped_storage().data_ptr()] = (a, a.untyped_storage().nbytes())
        return hook

    hooks = [c.register_forward_pre_hook(enter(i)) for i, c in enumerate(cells)]
    hooks += [c.register_forward_hook(lambda *_: current.__setitem__(0, None)) for c in cells]
    try:
        with _default_mode(model), frozen_batchnorm_stats(model), torch.random.fork_rng(devices=[]), \
                torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(x)
    finally:
        for h in hooks:
            h.remove()
    total = outside[0] + sum(per_cell)
    kept = outside[0] + sum(n for _, n in inputs.values()) + max(per_cell, default=0)
    return float(total), float(kept)


def activation_profile(model: nn.Module, in_channels: int, height: int, width: int) -> ActivationProfile:
    """Counted on batches of 2 and 4 (BatchNorm needs more than one value per channel), linear in the batch."""
    dtype = next(model.parameters()).dtype
    device = next(model.parameters()).device
    a2, s2 = _saved_bytes(model, torch.zeros(2, in_channels, height, width, dtype=dtype, device=device))
    t = time.perf_counter()
    a4, s4 = _saved_bytes(model, torch.zeros(4, in_channels, height, width, dtype=dtype, device=device))
    seconds = (time.perf_counter() - t) / 4
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    return ActivationProfile(a2 - (a4 - a2), (a4 - a2) / 2, s2 - (s4 - s2), (s4 - s2) / 2, weight_bytes, seconds)


def _check(order: str, memory_saving: bool, model: nn.Module | None = None) -> None:
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if memory_saving and model is not None and not hasattr(model, "memory_saving"):
        raise ValueError(f"{type(model).__name__} has no memory-saving mode")


def estimate_search_memory(model: nn.Module, in_channels: int, height: int, width: int, batch_size: int,
                           order: str = "first", memory_saving: bool | None = None,
                           calibration: Calibration | None = None) -> MemoryEstimate:
    """Whole-process peak memory of a search step of `model` (a supernet) on CPU (or what a calibration
    measures), for inputs of in_channels x height x width; `memory_saving` defaults to the model's own mode."""
    memory_saving = getattr(model, "memory_saving", False) if memory_saving is None else memory_saving
    _check(order, memory_saving, model)
    return estimate_from_profile(activation_profile(model, in_channels, height, width), batch_size, order,
                                 memory_saving, calibration)


def estimate_from_profile(profile: ActivationProfile, batch_size: int, order: str = "first",
                          memory_saving: bool = False, calibration: Calibration | None = None) -> MemoryEstimate:
    """The same from an activation_profile (counted once for several estimates)."""
    _check(order, memory_saving)
    cal = active_calibration(calibration)
    state = STATE[order] * profile.weight_bytes / GB
    act = profile.activations(batch_size, memory_saving and order != "exact") / GB
    factor = cal.factor[memory_saving, order]
    return MemoryEstimate(batch_size, order, memory_saving, cal.baseline_gb + state + factor * act, cal.baseline_gb,
                          state, act, factor)


def largest_batch(profile: ActivationProfile, budget_gb: float, order: str = "first",
                  memory_saving: bool = False, calibration: Calibration | None = None) -> int:
    """The largest batch whose estimated peak fits in `budget_gb` (0: not even a batch of one)."""
    _check(order, memory_saving)
    cal = active_calibration(calibration)
    factor = cal.factor[memory_saving, order]
    fixed = (cal.baseline_gb * GB + STATE[order] * profile.weight_bytes
             + factor * profile.activations(0, memory_saving and order != "exact"))
    per_image = factor * (profile.per_image_saving if memory_saving and order != "exact" else profile.per_image)
    return max(0, int((budget_gb * GB - fixed) // per_image))


def estimate_step_seconds(profile: ActivationProfile, batch_size: int, order: str = "first",
                          memory_saving: bool = False) -> float:
    """Seconds of a search step on this machine under its load at profiling time, from the profile's timed
    forward (costs nothing more): rough, within ~2x (small networks are overhead-bound at a batch of 4)."""
    _check(order, memory_saving)
    seconds = profile.forward_seconds * batch_size * PASS_OVER_FORWARD * STEP_OVER_PASS[order]
    return seconds * (RECOMPUTE_COST[order] if memory_saving else 1.0)


def order_of(settings: dict) -> str:
    """The step kind of a search's settings: first, second (finite difference) or exact."""
    if not settings.get("unrolled"):
        return "first"
    return "exact" if settings.get("hessian") == "exact" else "second"


def summary_lines(model: nn.Module, in_channels: int, height: int, width: int, batch_size: int,
                  order: str = "first", budget_gb: float | None = None, cuda: bool = False) -> list[str]:
    """What --summary prints: the peak in each mode (the run's own marked), the step time, and with a
    budget the largest batch that fits."""
    profile = activation_profile(model, in_channels, height, width)
    own = getattr(model, "memory_saving", False)
    modes = (False, True) if hasattr(model, "memory_saving") else (False,)

    def name(m):
        return ("with --memory_saving" if m else "default") + (" (this run)" if m == own and len(modes) > 1 else "")
    peaks = ", ".join(f"~{estimate_from_profile(profile, batch_size, order, m).peak_gb:.1f} GB {name(m)}"
                      for m in modes)
    seconds = estimate_step_seconds(profile, batch_size, order)
    extra = (f"memory-saving ~{RECOMPUTE_COST[order]:.1f}x that" if len(modes) > 1 else
             "factors fitted on the DARTS cell supernet")
    lines = [f"search step estimate ({order} order, batch {batch_size}; CPU, whole process): peak {peaks}; "
             f"~{seconds:.2g} s per step here now ({extra})"]
    if budget_gb is not None:
        fits = ", ".join(f"{largest_batch(profile, budget_gb, order, m)} {name(m)}" for m in modes)
        lines.append(f"largest batch within {budget_gb:g} GB: {fits}")
    if cuda:
        cal = active_calibration()
        lines.append(f"(CUDA: calibrated on {cal.device or 'an unnamed device'}, {cal.measures})" if cal is not BUILT_IN
                     else f"(the run would use CUDA, where this CPU estimate is uncalibrated: set {CALIBRATION_ENV} "
                          f"to a calibration file, see docs/gpu_check.md)")
    return lines


# --- measurement: one fresh process per step kind ---------------------------------------------------------
def process_memory_gb(field: str = "VmHWM") -> float:
    """A memory field of this process in GB (VmHWM: its peak resident set, VmRSS: the current one)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024 / GB
    raise RuntimeError(f"no {field} in /proc/self/status")


def search_step(model: nn.Module, task, order: str):
    """step(train, val): the search step DartsSearch runs per batch (an architect step of `order`, then an SGD
    weight step with the paper's settings and clipping), for measuring it outside a search."""
    from darts.strategies.architect import Architect
    from darts.training import weight_step
    _check(order, False)
    weights = model.weights()
    opt = torch.optim.SGD(weights, 0.025, momentum=0.9, weight_decay=3e-4)
    architect = Architect(model, task.loss, opt, unrolled=order != "first",
                          hessian="exact" if order == "exact" else "finite-difference")

    def step(train, val):
        architect.step(train, val)
        loss, _ = task.loss_and_stats(model, train)
        weight_step(weights, loss, opt, 5.0)
    return step


def _measure_here(C: int, layers: int, batch_size: int, order: str, memory_saving: bool, size: int = 32,
                  steps: int = 3, num_classes: int = 10, seed: int = 0) -> dict:
    """Run in the measuring child: one warm-up step and `steps` timed steps; its VmHWM at the end."""
    from darts.spaces.registry import DataShape, get_space
    from darts.training import ImageClassification
    baseline = process_memory_gb("VmRSS")
    torch.manual_seed(seed)
    space = get_space("darts")  # the DARTS convolutional supernet, at the space's defaults but C and layers
    opts = {**space.resolve({"init_channels": C, "layers": layers}), "memory_saving": memory_saving}
    model = space.build_supernet(opts, DataShape(3, size, size, num_classes))
    task = ImageClassification()
    step = search_step(model, task, order)

    def batch():
        return torch.randn(batch_size, 3, size, size), torch.randint(0, num_classes, (batch_size,))
    train, val = batch(), batch()
    times = []
    for i in range(steps + 1):
        t = time.perf_counter()
        step(train, val)
        if i:
            times.append(time.perf_counter() - t)
    peak = process_memory_gb("VmHWM")  # before P below, which runs in default mode
    passes = []
    with _default_mode(model):
        for _ in range(2 if steps else 0):  # P: one forward + backward, the unit of STEP_OVER_PASS
            t = time.perf_counter()
            torch.autograd.grad(task.loss(model, train), list(model.parameters()))
            passes.append(time.perf_counter() - t)
    return {"C": C, "layers": layers, "size": size, "batch_size": batch_size, "order": order,
            "memory_saving": memory_saving, "steps": steps, "threads": torch.get_num_threads(),
            "baseline_gb": baseline, "peak_gb": peak, "step_s": statistics.median(times) if times else None,
            "pass_s": min(passes) if passes else None}


def measure_step(C: int, layers: int, batch_size: int, order: str = "first", memory_saving: bool = False,
                 size: int = 32, steps: int = 3, threads: int = 1, timeout: float | None = None) -> dict:
    """Whole-process peak (GB, VmHWM) and median step seconds of a search step, in a fresh process of its own
    (so no earlier step's heap counts); `threads` sets OMP_NUM_THREADS there."""
    _check(order, memory_saving)
    spec = dict(C=C, layers=layers, batch_size=batch_size, order=order, memory_saving=memory_saving, size=size,
                steps=steps)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this package importable there too
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-m", "darts.memory_estimate", json.dumps(spec)], env=env,
                         capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(_measure_here(**json.loads(sys.argv[1]))))
