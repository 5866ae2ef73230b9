"""Final-training throughput of the DARTS_V2 CIFAR-10 network (images/s), with and without bf16 / channels_last.

    python benchmarks/final_throughput.py              # the paper's network: C=36, 20 layers, auxiliary, batch 96
    python benchmarks/final_throughput.py --init_channels 16 --layers 8 --batch_size 32   # a quick CPU run

A training step is what train_final.py does per batch: forward with drop path (0.2) and the auxiliary
head, cross-entropy plus 0.4 x the auxiliary loss, backward, gradient clipping, SGD. Evaluation is a
forward pass in eval mode. Variants, reported against the first: fp32 NCHW; fp32 channels_last; on
CUDA bf16 autocast + channels_last (train_final.py's default). They take turns in every round of
timing, so a load that changes during the run (a shared machine) affects them alike.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from darts.genotype import load_genotype
from darts.spaces.darts_cnn.network import NetworkCIFAR
from darts.training import autocast, weight_step

VARIANTS = {"fp32": (False, False), "fp32_channels_last": (False, True), "bf16_channels_last": (True, True)}


def seconds(fn, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def steps(args, device, variant: str):
    """(train step, eval step) of one variant, each a function of no arguments."""
    bf16, channels_last = VARIANTS[variant]
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    torch.manual_seed(0)
    model = NetworkCIFAR(load_genotype(args.arch), args.init_channels, 10, args.layers, auxiliary=True)
    model = model.to(device, memory_format=memory_format)
    model.drop_path_prob = 0.2
    params = list(model.parameters())
    opt = torch.optim.SGD(params, 0.025, momentum=0.9, weight_decay=3e-4)
    x = torch.randn(args.batch_size, 3, 32, 32, device=device).contiguous(memory_format=memory_format)
    y = torch.randint(0, 10, (args.batch_size,), device=device)

    def train_step():
        model.train()
        with autocast(device, bf16):
            logits, aux = model(x)
            loss = F.cross_entropy(logits, y) + 0.4 * F.cross_entropy(aux, y)
        weight_step(params, loss, opt, 5.0)

    @torch.no_grad()
    def eval_step():
        model.eval()
        with autocast(device, bf16):
            model(x)

    return train_step, eval_step


def measure(args, device, variants: list[str]) -> list[dict]:
    fns = {v: steps(args, device, v) for v in variants}
    times = {v: ([], []) for v in variants}
    peaks = {v: 0.0 for v in variants}
    for round_ in range(args.warmup + args.repeats):
        for v, (train_step, eval_step) in fns.items():
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            t_train, t_eval = seconds(train_step, device), seconds(eval_step, device)
            if device.type == "cuda":
                peaks[v] = max(peaks[v], torch.cuda.max_memory_allocated() / 2**20)
            if round_ >= args.warmup:
                times[v][0].append(t_train)
                times[v][1].append(t_eval)
    rows = []
    for v in variants:
        r = {"variant": v, "train_images_per_s": args.batch_size / statistics.median(times[v][0]),
             "eval_images_per_s": args.batch_size / statistics.median(times[v][1])}
        if device.type == "cuda":
            r["peak_memory_mb"] = peaks[v]
        rows.append(r)
    return rows


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", default="DARTS_V2")
    p.add_argument("--init_channels", type=int, default=36)
    p.add_argument("--layers", type=int, default=20)
    p.add_argument("--batch_size", type=int, default=96)
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=None,
                   help="default: fp32 and fp32_channels_last on CPU; all three on CUDA")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    variants = args.variants or (list(VARIANTS) if device.type == "cuda" else ["fp32", "fp32_channels_last"])
    if device.type != "cuda" and "bf16_channels_last" in variants:
        p.error("bf16 autocast is measured on CUDA only")
    rows = measure(args, device, variants)
    for r in rows:
        r["train_vs_first"] = r["train_images_per_s"] / rows[0]["train_images_per_s"]
        r["eval_vs_first"] = r["eval_images_per_s"] / rows[0]["eval_images_per_s"]
    out = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
           "threads": torch.get_num_threads(), "arch": args.arch, "init_channels": args.init_channels,
           "layers": args.layers, "batch_size": args.batch_size, "variants": rows,
           "command": "python benchmarks/final_throughput.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    if args.json:
        print(json.dumps(out))
        return out
    print(f"command: {out['command']}")
    print(f"{args.arch} CIFAR network, C={args.init_channels}, {args.layers} layers, auxiliary head, batch "
          f"{args.batch_size}; device {out['device']}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    for r in rows:
        mem = f", peak {r['peak_memory_mb']:.0f} MB" if "peak_memory_mb" in r else ""
        print(f"{r['variant']:<20} train {r['train_images_per_s']:8.1f} images/s ({r['train_vs_first']:.2f} x)   "
              f"eval {r['eval_images_per_s']:8.1f} images/s ({r['eval_vs_first']:.2f} x){mem}")
    return out


if __name__ == "__main__":
    main()
