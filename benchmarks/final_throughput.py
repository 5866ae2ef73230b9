"""Final-training throughput of the DARTS_V2 CIFAR-10 network (images/s), with and without bf16 / channels_last;
or of several cells side by side (what a found cell costs against a hand-designed one).

    python benchmarks/final_throughput.py              # the paper's network: C=36, 20 layers, auxiliary, batch 96
    python benchmarks/final_throughput.py --init_channels 16 --layers 8 --batch_size 32   # a quick CPU run
    python benchmarks/final_throughput.py --arch ResidualSepConv DARTS_V2 --init_channels 16 --layers 5 \
        --in_channels 1 --image_size 28 --no_auxiliary --drop_path_prob 0 --variants fp32_channels_last  # laptop

A training step is what train_final.py does per batch: forward with drop path (0.2 unless --drop_path_prob)
and the auxiliary head (unless --no_auxiliary), cross-entropy plus 0.4 x the auxiliary loss, backward,
gradient clipping, SGD. Evaluation is a
forward pass in eval mode. Variants, reported against the first: fp32 NCHW; fp32 channels_last; bf16
autocast + channels_last (train_final.py's default on CUDA, --cpu_bf16 on CPU); either of the last two with
the training step's network under torch.compile (train_final.py --compile; the first step, which compiles,
falls in the warm-up rounds, so keep --warmup at least 1). Every cell given to --arch is measured in
every variant; all take turns in every round of timing, so a load that changes during the run (a shared
machine) affects them alike.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys

import torch
import torch.nn.functional as F

from darts.spaces.genotype_io import load_genotype
from timing import seconds
from darts.spaces.darts_cnn.network import NetworkCIFAR
from darts.training import autocast, weight_step

VARIANTS = {"fp32": (False, False, False), "fp32_channels_last": (False, True, False),  # (bf16, channels_last,
            "bf16_channels_last": (True, True, False),                                # compile)
            "fp32_channels_last_compile": (False, True, True), "bf16_channels_last_compile": (True, True, True)}


def steps(args, device, arch: str, variant: str):
    """(train step, eval step) of one cell in one variant, each a function of no arguments."""
    bf16, channels_last, compiled = VARIANTS[variant]
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    torch.manual_seed(0)
    model = NetworkCIFAR(load_genotype(arch), args.init_channels, 10, args.layers, auxiliary=args.auxiliary,
                         in_channels=args.in_channels)
    model = model.to(device, memory_format=memory_format)
    model.drop_path_prob = args.drop_path_prob
    forward = torch.compile(model) if compiled else model  # as train_final.py --compile: the test stays eager
    params = list(model.parameters())
    opt = torch.optim.SGD(params, 0.025, momentum=0.9, weight_decay=3e-4)
    side = args.image_size
    x = torch.randn(args.batch_size, args.in_channels, side, side, device=device).contiguous(
        memory_format=memory_format)
    y = torch.randint(0, 10, (args.batch_size,), device=device)

    def train_step():
        model.train()
        with autocast(device, bf16):
            logits, aux = forward(x)
            loss = F.cross_entropy(logits, y)
            if aux is not None:
                loss = loss + 0.4 * F.cross_entropy(aux, y)
        weight_step(params, loss, opt, 5.0)

    @torch.no_grad()
    def eval_step():
        model.eval()
        with autocast(device, bf16):
            model(x)

    return train_step, eval_step


def measure(args, device, variants: list[str]) -> list[dict]:
    # Every network's forward is one code object, so dynamo counts each compiled network as a recompile of the
    # last; past its limit (8) it runs the rest eagerly and they would be timed as compiled. Room for all:
    compiled = sum(VARIANTS[v][2] for v in variants) * len(args.arch)
    if compiled:
        import torch._dynamo
        limits = torch._dynamo.config
        limits.recompile_limit = max(limits.recompile_limit, 4 * compiled)
        limits.accumulated_recompile_limit = max(limits.accumulated_recompile_limit, 32 * compiled)
    fns = {(a, v): steps(args, device, a, v) for a in args.arch for v in variants}
    times = {key: ([], []) for key in fns}
    peaks = {key: 0.0 for key in fns}
    for round_ in range(args.warmup + args.repeats):
        for key, (train_step, eval_step) in fns.items():
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            t_train, t_eval = seconds(train_step, device), seconds(eval_step, device)
            if device.type == "cuda":
                peaks[key] = max(peaks[key], torch.cuda.max_memory_allocated() / 2**20)
            if round_ >= args.warmup:
                times[key][0].append(t_train)
                times[key][1].append(t_eval)
    rows = []
    for (a, v) in fns:
        r = {"arch": a, "variant": v, "train_images_per_s": args.batch_size / statistics.median(times[a, v][0]),
             "eval_images_per_s": args.batch_size / statistics.median(times[a, v][1])}
        if device.type == "cuda":
            r["peak_memory_mb"] = peaks[a, v]
        rows.append(r)
    return rows


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--arch", nargs="+", default=["DARTS_V2"], help="one or more cells (names, JSON or text)")
    p.add_argument("--init_channels", type=int, default=36)
    p.add_argument("--layers", type=int, default=20)
    p.add_argument("--batch_size", type=int, default=96)
    p.add_argument("--in_channels", type=int, default=3, help="image channels (1 for Fashion-MNIST)")
    p.add_argument("--image_size", type=int, default=32)
    p.add_argument("--no_auxiliary", dest="auxiliary", action="store_false", help="without the auxiliary head")
    p.add_argument("--drop_path_prob", type=float, default=0.2)
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=None,
                   help="default: fp32 and fp32_channels_last on CPU; those and bf16_channels_last on CUDA")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device)
    cuda = device.type == "cuda"
    variants = args.variants or ["fp32", "fp32_channels_last"] + (["bf16_channels_last"] if cuda else [])
    if args.warmup < 1 and any(VARIANTS[v][2] for v in variants):
        p.error("the compile variants need --warmup 1 or more: their first step compiles")
    rows = measure(args, device, variants)
    for r in rows:
        r["train_vs_first"] = r["train_images_per_s"] / rows[0]["train_images_per_s"]
        r["eval_vs_first"] = r["eval_images_per_s"] / rows[0]["eval_images_per_s"]
    out = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "torch": torch.__version__,
           "threads": torch.get_num_threads(), "arch": args.arch, "init_channels": args.init_channels,
           "layers": args.layers, "batch_size": args.batch_size, "in_channels": args.in_channels,
           "image_size": args.image_size, "auxiliary": args.auxiliary, "drop_path_prob": args.drop_path_prob,
           "variants": rows,
           "command": "python benchmarks/final_throughput.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    if args.json:
        print(json.dumps(out))
        return out
    print(f"command: {out['command']}")
    head = "auxiliary head" if args.auxiliary else "no auxiliary head"
    print(f"CIFAR-style network, C={args.init_channels}, {args.layers} layers, {head}, drop path "
          f"{args.drop_path_prob}, batch {args.batch_size} of {args.in_channels}x{args.image_size}x{args.image_size}; "
          f"device {out['device']}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    width = max(len(r["arch"]) for r in rows)
    for r in rows:
        mem = f", peak {r['peak_memory_mb']:.0f} MB" if "peak_memory_mb" in r else ""
        print(f"{r['arch']:<{width}} {r['variant']:<20} train {r['train_images_per_s']:8.1f} images/s "
              f"({r['train_vs_first']:.2f} x)   "
              f"eval {r['eval_images_per_s']:8.1f} images/s ({r['eval_vs_first']:.2f} x){mem}")
    return out


if __name__ == "__main__":
    main()
