"""Cost of a DARTS search step relative to one plain forward+backward of the supernet (P).

    python benchmarks/search_step.py                 # CPU here, CUDA when present
    python benchmarks/search_step.py --batch_size 64 --json

All figures come from one process and are reported as ratios to P, so they compare across machines.
A step is the architect step plus the weight step, as train_search.py does them. Peak memory: CUDA's
allocator peak on a GPU; on CPU the peak resident set size sampled during each phase.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from darts.spaces.darts_cnn import SearchNetwork  # noqa: E402
from darts.strategies.architect import Architect  # noqa: E402
from darts.training import ImageClassification, weight_step  # noqa: E402


class PeakMemory:
    """Peak memory (MB) while the block runs: CUDA allocator peak, or sampled RSS on CPU."""

    def __init__(self, device: torch.device):
        self.device, self.peak_mb = device, 0.0

    @staticmethod
    def _rss_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        else:
            self._stop = False
            self.peak_mb = self._rss_mb()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop:
            self.peak_mb = max(self.peak_mb, self._rss_mb())
            time.sleep(0.005)

    def __exit__(self, *exc):
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.peak_mb = torch.cuda.max_memory_allocated() / 2**20
        else:
            self._stop = True
            self._thread.join()


def timed(fn, device, repeats: int, warmup: int) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    times = []
    with PeakMemory(device) as mem:
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
    return statistics.median(times), mem.peak_mb


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--init_channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    torch.manual_seed(0)
    model = SearchNetwork(args.init_channels, 10, args.layers).to(device)
    task = ImageClassification()
    weights = model.weights()
    opt = torch.optim.SGD(weights, 0.025, momentum=0.9, weight_decay=3e-4)
    batch = lambda: (torch.randn(args.batch_size, 3, 32, 32, device=device),
                     torch.randint(0, 10, (args.batch_size,), device=device))
    train, val = batch(), batch()

    def plain_pass():
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(train[0]), train[1]).backward()

    def search_step(architect):
        def step():
            architect.step(train, val)
            loss, _ = task.loss_and_stats(model, train)
            weight_step(weights, loss, opt, 5.0)
        return step

    results = {"device": str(torch.cuda.get_device_name() if device.type == "cuda" else "cpu"),
               "batch_size": args.batch_size}
    plain_pass()
    opt.step()  # fill momentum buffers so the virtual step uses them
    results["pass_s"], results["pass_peak_mb"] = timed(plain_pass, device, args.repeats, args.warmup)
    for name, kw in (("first_order", {}), ("second_order", {"unrolled": True}),
                     ("second_order_exact", {"unrolled": True, "hessian": "exact"})):
        arch = Architect(model, task.loss, opt, **kw)
        results[f"{name}_s"], results[f"{name}_peak_mb"] = timed(search_step(arch), device, args.repeats, args.warmup)
        results[f"{name}_over_pass"] = results[f"{name}_s"] / results["pass_s"]
    results["peak_memory_mb"] = max(v for k, v in results.items() if k.endswith("_peak_mb"))
    if args.json:
        print(json.dumps(results))
    else:
        print(f"device {results['device']}, batch {args.batch_size}, C={args.init_channels}, {args.layers} layers, "
              f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        print(f"P (forward+backward)       {results['pass_s']:.3f} s   peak {results['pass_peak_mb']:.0f} MB")
        for name in ("first_order", "second_order", "second_order_exact"):
            print(f"{name:<26} {results[name + '_s']:.3f} s = {results[name + '_over_pass']:.2f} P   "
                  f"peak {results[name + '_peak_mb']:.0f} MB")
        print("original DARTS (../shared/MEASURED.md): first order 2.00 P, second order 4.97 P")
    return results


if __name__ == "__main__":
    main()
