"""Cost of a DARTS search step relative to one plain forward+backward of the supernet (P).

    python benchmarks/search_step.py                 # CPU here, CUDA when present
    python benchmarks/search_step.py --batch_size 64 --json
    python benchmarks/search_step.py --partial_channels 1 4 --batch_size 64 256   # PC-DARTS against DARTS
    python benchmarks/search_step.py --precision fp32 bf16                       # CUDA: bf16 + channels_last

All figures come from one process and are reported as ratios to P, so they compare across machines.
A step is the architect step plus the weight step, as train_search.py does them. Each variant
(partial channels K, batch size, precision) is measured in turn; the later ones are also reported
against the first (time per image, memory). Memory: the tensors one forward pass saves for the
backward pass (activations, counted exactly on any device: what DARTS runs out of), and the peak:
CUDA's allocator peak on a GPU; on CPU the sampled resident set size less the size before the variant
was built (rough: the C allocator keeps freed memory, so later variants start from a fuller heap).
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import sys
import threading
import time

import torch
import torch.nn.functional as F

from darts.spaces.darts_cnn import SearchNetwork
from darts.strategies.architect import Architect
from darts.training import ImageClassification, autocast, weight_step

PHASES = (("first_order", {}), ("second_order", {"unrolled": True}),
          ("second_order_exact", {"unrolled": True, "hessian": "exact"}))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakMemory:
    """Peak memory (MB) while the block runs: CUDA allocator peak, or sampled RSS less `baseline_mb` on CPU."""

    def __init__(self, device: torch.device, baseline_mb: float = 0.0):
        self.device, self.baseline_mb, self.peak_mb = device, baseline_mb, 0.0

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        else:
            self._stop = False
            self._peak = rss_mb()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop:
            self._peak = max(self._peak, rss_mb())
            time.sleep(0.005)

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20
        else:
            self._stop = True
            self._thread.join()
            self.peak_mb = self._peak - self.baseline_mb


def saved_activations_mb(model, forward) -> float:
    """MB of the tensors `forward()` saves for its backward pass (parameters not counted)."""
    seen = {p.untyped_storage().data_ptr() for p in model.parameters()}
    total = 0

    def pack(t):
        nonlocal total
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total += storage.nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward()
    return total / 2**20


def timed_interleaved(fns: dict, device, repeats: int, warmup: int, baseline_mb: float = 0.0) -> dict:
    """{name: (median seconds, peak MB)}; the functions take turns in every round, so a load that
    changes during the run (a shared machine) affects them alike and their ratios stay honest."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    peaks = {name: 0.0 for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            with PeakMemory(device, baseline_mb) as mem:
                t = time.perf_counter()
                fn()
                if device.type == "cuda":
                    torch.cuda.synchronize()
                times[name].append(time.perf_counter() - t)
            peaks[name] = max(peaks[name], mem.peak_mb)
    return {name: (statistics.median(times[name]), peaks[name]) for name in fns}


def measure(args, device, partial_channels: int, batch_size: int, precision: str) -> dict:
    """P and the three kinds of search step for one variant of the supernet."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    baseline = rss_mb() if device.type == "cpu" else 0.0
    bf16 = precision == "bf16" and device.type == "cuda"
    memory_format = torch.contiguous_format if args.nchw and not bf16 else torch.channels_last  # as searches run
    torch.manual_seed(0)
    model = SearchNetwork(args.init_channels, 10, args.layers, partial_channels=partial_channels)
    model = model.to(device, memory_format=memory_format)
    task = ImageClassification()
    weights = model.weights()
    opt = torch.optim.SGD(weights, 0.025, momentum=0.9, weight_decay=3e-4)

    def batch():
        x = torch.randn(batch_size, 3, 32, 32, device=device).contiguous(memory_format=memory_format)
        return x, torch.randint(0, 10, (batch_size,), device=device)
    train, val = batch(), batch()
    mixed = (lambda: autocast(device, True)) if bf16 else contextlib.nullcontext

    def plain_pass():
        model.zero_grad(set_to_none=True)
        with mixed():
            loss = F.cross_entropy(model(train[0]), train[1])
        loss.backward()

    def search_step(architect):
        def step():
            architect.step(train, val)
            with mixed():
                loss, _ = task.loss_and_stats(model, train)
            weight_step(weights, loss, opt, 5.0)
        return step

    r = {"partial_channels": partial_channels, "batch_size": batch_size, "precision": precision if bf16 else "fp32",
         "memory_format": "channels_last" if memory_format == torch.channels_last else "NCHW"}
    plain_pass()
    opt.step()  # fill momentum buffers so the virtual step uses them

    def forward():
        with mixed():
            return F.cross_entropy(model(train[0]), train[1])
    r["activations_mb"] = saved_activations_mb(model, forward)
    fns = {"pass": plain_pass}
    fns.update({name: search_step(Architect(model, task.loss, opt, autocast=mixed, **kw))
                for name, kw in PHASES if name in args.phases})
    for name, (seconds, peak) in timed_interleaved(fns, device, args.repeats, args.warmup, baseline).items():
        r[f"{name}_s"], r[f"{name}_peak_mb"] = seconds, peak
        if name != "pass":
            r[f"{name}_over_pass"] = seconds / r["pass_s"]
    r["peak_memory_mb"] = max(v for k, v in r.items() if k.endswith("_peak_mb"))
    return r


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch_size", type=int, nargs="+", default=[32],
                   help="one per --partial_channels value, or one for all")
    p.add_argument("--partial_channels", type=int, nargs="+", default=[1], help="PC-DARTS K of each variant")
    p.add_argument("--precision", nargs="+", choices=["fp32", "bf16"], default=None,
                   help="bf16 = bfloat16 autocast + channels_last, CUDA only (default: fp32 and bf16 on CUDA, "
                        "fp32 on CPU)")
    p.add_argument("--phases", nargs="+", default=[name for name, _ in PHASES], choices=[n for n, _ in PHASES])
    p.add_argument("--init_channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="auto")
    p.add_argument("--nchw", action="store_true", help="fp32 in NCHW (searches run in channels_last, as the default "
                                                        "measures; bf16 is always channels_last)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    if len(args.batch_size) not in (1, len(args.partial_channels)):
        p.error("give one --batch_size, or one per --partial_channels value")
    batches = args.batch_size * len(args.partial_channels) if len(args.batch_size) == 1 else args.batch_size
    precisions = args.precision or (["fp32", "bf16"] if device.type == "cuda" else ["fp32"])
    if device.type != "cuda" and "bf16" in precisions:
        p.error("--precision bf16 (autocast + channels_last) is measured on CUDA only")
    variants = [measure(args, device, k, b, prec) for k, b in zip(args.partial_channels, batches)
                for prec in precisions]
    base = variants[0]
    for v in variants[1:]:  # against the first variant: per image, and peak memory
        v["time_per_image_vs_first"] = (v["pass_s"] / v["batch_size"]) / (base["pass_s"] / base["batch_size"])
        for name, _ in PHASES:
            if f"{name}_s" in v:
                v[f"{name}_per_image_vs_first"] = ((v[f"{name}_s"] / v["batch_size"])
                                                   / (base[f"{name}_s"] / base["batch_size"]))
        v["activations_vs_first"] = v["activations_mb"] / base["activations_mb"]
        v["peak_memory_vs_first"] = v["peak_memory_mb"] / base["peak_memory_mb"]
    results = {"device": str(torch.cuda.get_device_name() if device.type == "cuda" else "cpu"),
               "torch": torch.__version__, "threads": torch.get_num_threads(), "init_channels": args.init_channels,
               "layers": args.layers, "command": "python benchmarks/search_step.py " + " ".join(sys.argv[1:] if
                                                                                                argv is None else argv),
               "variants": variants}
    if args.json:
        print(json.dumps(results))
        return results
    print(f"device {results['device']}, C={args.init_channels}, {args.layers} layers, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"command: {results['command']}")
    for v in variants:
        print(f"-- partial_channels {v['partial_channels']}, batch {v['batch_size']}, {v['precision']}, "
              f"{v['memory_format']}")
        print(f"   P (forward+backward)       {v['pass_s']:.3f} s   peak {v['pass_peak_mb']:.0f} MB   "
              f"activations saved by the forward pass {v['activations_mb']:.0f} MB")
        for name, _ in PHASES:
            if f"{name}_s" in v:
                print(f"   {name:<26} {v[name + '_s']:.3f} s = {v[name + '_over_pass']:.2f} P   "
                      f"peak {v[name + '_peak_mb']:.0f} MB")
        if v is not base:
            steps = ", ".join(f"{name} {v[name + '_per_image_vs_first']:.2f}" for name, _ in PHASES
                              if name + "_per_image_vs_first" in v)
            print(f"   against the first variant: time per image P {v['time_per_image_vs_first']:.2f}, {steps}; "
                  f"activations {v['activations_vs_first']:.2f}, peak memory {v['peak_memory_vs_first']:.2f}")
    print("original DARTS (docs/results/vs_original.md): first order 2.00 P, second order 4.97 P")
    return results


if __name__ == "__main__":
    main()
