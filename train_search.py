"""Search a cell with DARTS (the paper's defaults reproduce its CIFAR-10 search).

    python train_search.py --dataset digits --epochs 1 --layers 3 --init_channels 4 --save out
    python train_search.py --unrolled                       # second order, CIFAR-10 in --data
    python train_search.py --resume out                     # continue a killed run exactly
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import torch

from darts.checkpoint import seed_everything
from darts.data import INPUT_SHAPES, BatchStream, load_image_dataset
from darts.errors import UserError
from darts.ops import PRIMITIVES
from darts.runs import RunDir, merge_resumed_args, pick_device, run_cli, setup_console_logging
from darts.search import CHECKPOINT, DartsSearch, DartsSearchConfig
from darts.spaces.darts_cnn import SearchNetwork
from darts.strategies.architect import HESSIAN_METHODS
from darts.summary import count_multiply_adds, count_parameters
from darts.training import ImageClassification

log = logging.getLogger("darts")

# Flags that a resumed run may change (they do not alter the computation).
RESUME_MAY_CHANGE = {"resume", "device", "report_freq", "save", "no_progress"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser("train_search.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    a = p.add_argument
    # the original train_search.py's flags, with its defaults
    a("--data", default=None, help="dataset folder (default: ./data; Debian's folder for fashion-mnist)")
    a("--batch_size", type=int, default=64)
    a("--learning_rate", type=float, default=0.025, help="initial weight learning rate")
    a("--learning_rate_min", type=float, default=0.001, help="final weight learning rate (cosine)")
    a("--momentum", type=float, default=0.9)
    a("--weight_decay", type=float, default=3e-4)
    a("--report_freq", type=int, default=50, help="log every N batches")
    a("--gpu", type=int, default=None, help="(original flag) CUDA device index; same as --device cuda:N")
    a("--epochs", type=int, default=50)
    a("--init_channels", type=int, default=16)
    a("--layers", type=int, default=8)
    a("--model_path", default="saved_models", help="(original flag, unused)")
    a("--cutout", action="store_true", help="use cutout")
    a("--cutout_length", type=int, default=16)
    a("--drop_path_prob", type=float, default=0.3, help="(original flag, unused in search)")
    a("--save", default=None, help="output folder (default: search-EXP-<time>)")
    a("--seed", type=int, default=2)
    a("--grad_clip", type=float, default=5)
    a("--train_portion", type=float, default=0.5, help="share of the training set that trains weights")
    a("--unrolled", action="store_true", help="second-order architect (one unrolled weight step)")
    a("--arch_learning_rate", type=float, default=3e-4)
    a("--arch_weight_decay", type=float, default=1e-3)
    # added
    a("--dataset", default="cifar10", choices=sorted(INPUT_SHAPES), help="dataset to search on")
    a("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    a("--resume", default=None, metavar="DIR", help="continue the run saved in DIR from its last checkpoint")
    a("--hessian", default="finite-difference", choices=HESSIAN_METHODS,
      help="second-order Hessian-vector product: the paper's finite difference or exact double backward")
    a("--max_batches", type=int, default=None, help="cap on batches per epoch (smoke runs)")
    a("--summary", action="store_true", help="print the supernet's size and exit (reads no data)")
    a("--no_progress", action="store_true", help="no progress bar, only the log lines")
    return p


def explicit_flags(parser: argparse.ArgumentParser, argv) -> set:
    """Names of the flags the user actually typed."""
    probe = argparse.ArgumentParser(add_help=False)
    for action in parser._actions:
        if action.dest != "help":
            probe._add_action(_suppressed(action))
    ns, _ = probe.parse_known_args(argv)
    return set(vars(ns))


def _suppressed(action):
    import copy
    a = copy.copy(action)
    a.default = argparse.SUPPRESS
    return a


def check_args(args) -> None:
    if not 0 < args.train_portion < 1:
        raise UserError(f"--train_portion {args.train_portion} must be between 0 and 1 (exclusive)")
    for name in ("batch_size", "epochs", "init_channels", "layers"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.max_batches is not None and args.max_batches < 1:
        raise UserError("--max_batches must be at least 1")
    if args.hessian != "finite-difference" and not args.unrolled:
        raise UserError(f"--hessian {args.hessian} only matters for a second-order search: add --unrolled")
    if args.layers < 3:
        raise UserError("--layers must be at least 3 (a reduction cell sits at 1/3 and 2/3 of the depth)")
    if args.init_channels % 2:
        raise UserError("--init_channels must be even (reduction cells split channels in two halves)")


def build_supernet(args, in_channels: int, num_classes: int) -> SearchNetwork:
    return SearchNetwork(args.init_channels, num_classes, args.layers, in_channels=in_channels,
                         primitives=PRIMITIVES)


def summary(args) -> None:
    c, h, w, classes = INPUT_SHAPES[args.dataset]
    model = build_supernet(args, c, classes)
    n = count_parameters(model)
    macs = count_multiply_adds(model, torch.zeros(1, c, h, w))
    alphas = sum(a.numel() for a in model.alphas())
    print(f"DARTS search supernet: C={args.init_channels}, {args.layers} layers, {args.dataset} input {c}x{h}x{w}, "
          f"{classes} classes")
    print(f"param size = {n / 1e6:f}MB ({n:,} weights; {alphas} alphas not counted)")
    print(f"multiply-adds = {macs / 1e6:.1f}M per image")


def main(argv=None) -> None:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.gpu is not None and args.device == "auto":
        args.device = f"cuda:{args.gpu}"
    if args.summary:
        check_args(args)
        summary(args)
        return
    if args.resume:
        saved_path = Path(args.resume) / "args.json"
        if not saved_path.is_file():
            raise UserError(f"--resume {args.resume}: no args.json there; is it a train_search.py --save folder?")
        merged = merge_resumed_args(json.loads(saved_path.read_text()), vars(args), explicit_flags(parser, argv),
                                    RESUME_MAY_CHANGE)
        merged["save"] = args.resume
        args = argparse.Namespace(**{**vars(args), **merged})
    check_args(args)
    if args.save is None:
        args.save = f"search-EXP-{time.strftime('%Y%m%d-%H%M%S')}"
    setup_console_logging()
    run = RunDir(args.save)
    try:
        search(args, run)
    finally:
        run.close()


def search(args, run: RunDir):
    device = pick_device(args.device)
    seed_everything(args.seed)
    data = load_image_dataset(args.dataset, args.data)
    if not args.resume:
        run.write_json("args.json", {k: v for k, v in vars(args).items() if k != "resume"})
    log.info("args = %s", vars(args))
    n = len(data.train_x)
    split = int(n * args.train_portion)  # first part trains weights, the rest the alphas (as the original)
    if split < 2 or n - split < 2:
        raise UserError(f"--train_portion {args.train_portion} leaves fewer than 2 examples in a split of {n}")
    streams = [BatchStream(data.train_x[s], data.train_y[s], args.batch_size, data.mean, data.std, device,
                           data.augmentation, args.cutout_length if args.cutout else 0, seed=args.seed * 1000 + i)
               for i, s in enumerate((slice(0, split), slice(split, n)))]
    model = build_supernet(args, data.in_channels, data.num_classes).to(device)
    log.info("dataset %s: %d images (%d train weights, %d train alphas), %dx%dx%d, %d classes", args.dataset, n,
             split, n - split, data.in_channels, data.image_size, data.image_size, data.num_classes)
    log.info("param size = %fMB", count_parameters(model) / 1e6)
    config = DartsSearchConfig(
        epochs=args.epochs, learning_rate=args.learning_rate, learning_rate_min=args.learning_rate_min,
        momentum=args.momentum, weight_decay=args.weight_decay, grad_clip=args.grad_clip,
        arch_learning_rate=args.arch_learning_rate, arch_weight_decay=args.arch_weight_decay,
        unrolled=args.unrolled, hessian=args.hessian, max_batches=args.max_batches, report_freq=args.report_freq,
        progress=not args.no_progress)
    searcher = DartsSearch(model, ImageClassification(), streams[0], streams[1], config, run)
    if args.resume:
        searcher.resume(run.file(CHECKPOINT))
    genotype = searcher.run()
    log.info("final genotype = %s", genotype)
    log.info("wrote %s", run.file("genotype.json"))
    return genotype


if __name__ == "__main__":
    sys.exit(run_cli(main))
