"""CPU latency of exported networks: onnxruntime against eager PyTorch, at batch 1 and 64, for DARTS_V2 (CIFAR,
C=36, 20 layers) and one cell of each other image space at its final network's size; a Markdown table.

    python benchmarks/export_latency.py                    # the full-size networks (minutes)
    python benchmarks/export_latency.py --small            # tiny networks: checks that it runs
    python benchmarks/export_latency.py --threads 4 --repeats 50

Each network is exported by darts.export (whose check compares onnxruntime's logits with torch's), then both run
the same random batch: `--warmup` untimed runs, then the median of `--repeats` timed ones, the two taking turns in
every round so that a load that changes during the run affects them alike. Both use `--threads` threads. The cell
of a space other than darts is a random one (seed 0) of its search space, 32x32 RGB inputs, 10 classes.
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile

import torch

from darts import api
from darts.export import export_network
from darts.final_training import NetworkSpec
from darts.spaces.registry import get_space
from darts.summary import count_parameters
from timing import seconds

SPACES = ("nb201", "nb101", "nats_sss", "nasnet", "nasrl_cnn")
SMALL = {"darts": {"init_channels": 4, "layers": 3}, "nb201": {"init_channels": 4, "layers": 3},
         "nb101": {"init_channels": 8, "layers": 3}, "nasnet": {"init_channels": 4, "cells_per_stack": 1, "blocks": 2},
         "nats_sss": {"channel_divisor": 8}, "nasrl_cnn": {"width_divisor": 8}}


def networks(small: bool) -> dict:
    """{label: network} in evaluation mode: DARTS_V2, then one random cell of each other space."""
    sizes = SMALL["darts"] if small else {}
    out = {"DARTS_V2 (darts)": api.build_network("DARTS_V2", **sizes)}
    for name in SPACES:
        space = get_space(name)
        final = {**space.resolve({}), **{k: v for k, v in space.final_recipe("custom").items()
                                          if k in {o.name for o in space.options}}}
        opts = space.resolve(SMALL[name]) if small else final
        genotype = space.arch_space(opts).sample_random(random.Random(0))
        spec = NetworkSpec(genotype=space.genotype_to_dict(genotype), arch=f"{name} cell", space=name,
                           init_channels=opts.get("init_channels", 0), layers=opts.get("layers", 0),
                           options={k: v for k, v in opts.items() if k not in ("init_channels", "layers")})
        net = spec.build()
        net.network_spec = spec
        out[f"random cell ({name})"] = net
    return {k: v.eval() for k, v in out.items()}


def latencies(net, folder: str, batch: int, args) -> tuple[float, float]:
    """(eager torch, onnxruntime) median milliseconds of one batch."""
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = args.threads
    session = onnxruntime.InferenceSession(f"{folder}/network.onnx", options, providers=["CPUExecutionProvider"])
    spec = net.network_spec
    x = torch.randn(batch, spec.in_channels, 32, 32)
    feed = {"images": x.numpy()}
    cpu = torch.device("cpu")
    times = {"torch": [], "onnxruntime": []}
    with torch.no_grad():
        for i in range(args.warmup + args.repeats):
            for name, fn in (("torch", lambda: net(x)), ("onnxruntime", lambda: session.run(None, feed))):
                t = seconds(fn, cpu)
                if i >= args.warmup:
                    times[name].append(t)
    return 1e3 * statistics.median(times["torch"]), 1e3 * statistics.median(times["onnxruntime"])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small", action="store_true", help="tiny networks (checks that the benchmark runs)")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"onnxruntime against eager PyTorch {torch.__version__} on the CPU, {args.threads} thread(s), "
          f"32x32 inputs; median of {args.repeats} runs\n")
    print("| network | parameters | batch | torch (ms) | onnxruntime (ms) | torch / onnxruntime | ONNX check |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, net in networks(args.small).items():
        with tempfile.TemporaryDirectory() as folder:
            report, = export_network(net, folder, formats=["onnx"], batch=4)
            for batch in args.batches:
                eager, ort = latencies(net, folder, batch, args)
                print(f"| {label} | {count_parameters(net):,} | {batch} | {eager:.2f} | {ort:.2f} | "
                      f"{eager / ort:.2f}x | {report.error:.0e} |", flush=True)


if __name__ == "__main__":
    main()
