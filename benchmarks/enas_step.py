"""Cost of one ENAS shared-weight step relative to one DARTS first-order step on the same supernet.

    python benchmarks/enas_step.py                   # DARTS CNN supernet (C=16, 8 layers), batch 32, 32x32
    python benchmarks/enas_step.py --space nb201     # NAS-Bench-201 supernet (C=16, N=5)
    python benchmarks/enas_step.py --json

DARTS first-order step: the architect step on a validation batch plus the weight step on a training batch
(as darts.search runs them). ENAS shared-weight step: the controller samples an architecture and one SGD
step trains only that path (as darts.strategies.enas runs it). Also timed: one controller step (sample,
reward of the path on a validation batch, REINFORCE update). Sampled paths differ in cost, so every ENAS
figure is a mean over `--samples` steps, each with a fresh sample; the DARTS step is a median. All figures
come from one process; compare the ratios, not the seconds.
"""
from __future__ import annotations

import argparse
import json
import statistics

import torch

from darts.spaces.registry import DataShape, get_space, space_names
from darts.strategies.architect import Architect
from darts.strategies.enas import EnasConfig, EnasSearch
from darts.training import ImageClassification, weight_step
from timing import seconds


def repeated_seconds(fn, device, repeats: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    return [seconds(fn, device) for _ in range(repeats)]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--space", choices=space_names(capability="build_supernet"), default="darts")
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--init_channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=8, help="DARTS CNN: cells; NB201: cells per stage is 5")
    p.add_argument("--repeats", type=int, default=3, help="DARTS steps timed (median)")
    p.add_argument("--samples", type=int, default=10, help="ENAS steps timed (mean over sampled paths)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    torch.manual_seed(0)
    space = get_space(args.space)
    opts = space.resolve({"init_channels": args.init_channels, "layers": args.layers})
    model = space.build_supernet(opts, DataShape(3, 32, 32, 10)).to(device)
    task = ImageClassification()
    batch = lambda: (torch.randn(args.batch_size, 3, 32, 32, device=device),
                     torch.randint(0, 10, (args.batch_size,), device=device))
    train, val = batch(), batch()

    # DARTS first order, as darts.search.DartsSearch.train_epoch runs a step.
    weights = model.weights()
    opt = torch.optim.SGD(weights, 0.025, momentum=0.9, weight_decay=3e-4)
    architect = Architect(model, task.loss, opt)

    def darts_step():
        architect.step(train, val)
        loss, _ = task.loss_and_stats(model, train)
        weight_step(weights, loss, opt, 5.0)

    # ENAS, as darts.strategies.enas.EnasSearch runs its two phases (the streams are not used here).
    enas = EnasSearch(model, space.arch_space(opts), task, None, None, EnasConfig(progress=False))
    darts_s = statistics.median(repeated_seconds(darts_step, device, args.repeats, args.warmup))
    shared_s = statistics.mean(repeated_seconds(lambda: enas.shared_step(train), device, args.samples, args.warmup))
    controller_s = statistics.mean(repeated_seconds(lambda: enas.controller_step(val), device, args.samples, args.warmup))
    results = {"device": str(torch.cuda.get_device_name() if device.type == "cuda" else "cpu"),
               "space": args.space, "batch_size": args.batch_size, "darts_first_order_s": darts_s,
               "enas_shared_step_s": shared_s, "enas_controller_step_s": controller_s,
               "darts_over_enas_shared": darts_s / shared_s, "enas_shared_over_darts": shared_s / darts_s,
               "enas_controller_over_shared": controller_s / shared_s}
    if args.json:
        print(json.dumps(results))
    else:
        size = f"C={args.init_channels}, " + (f"{args.layers} layers")
        print(f"{args.space} supernet ({size}), batch {args.batch_size}, device {results['device']}, "
              f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        print(f"DARTS first-order step (architect + weights)  {darts_s:.3f} s")
        print(f"ENAS shared-weight step (one sampled path)    {shared_s:.3f} s  "
              f"= {results['enas_shared_over_darts']:.3f} of a DARTS step "
              f"({results['darts_over_enas_shared']:.1f}x cheaper)")
        print(f"ENAS controller step (path reward + update)   {controller_s:.3f} s  "
              f"= {results['enas_controller_over_shared']:.2f} of a shared-weight step")
    return results


if __name__ == "__main__":
    main()
