"""darts-train (python train_final.py): train a genotype as a final network from scratch and test it (the
paper's evaluation protocol; a genotype of another space trains with that space's own recipe).

    python train_final.py --arch DARTS_V2 --auxiliary --cutout          # the paper's CIFAR-10 run
    python train_final.py --arch DARTS_V2 --auxiliary --summary         # size only, reads no data
    python train_final.py --arch search-EXP-.../genotype.json --dataset fashion-mnist --save out
    python train_final.py --arch DARTS --dataset imagenet --data /data/imagenet --auxiliary
    python train_final.py --resume out                                  # continue a killed run exactly
    python train_final.py --eval_only --model_path out/weights.pt       # test accuracy of a saved model
    python train_final.py --arch DARTS_V2 --dataset folder --data my_images --image_size 32   # your own images
"""
from __future__ import annotations

import argparse

from darts.cli.common import check_ranges, parse_bool
import json
import logging
import os
import shutil
import sys
from pathlib import Path

import torch

from darts.checkpoint import seed_everything
from darts.data import INPUT_SHAPES, BatchStream, load_image_dataset
from darts.data.images import OWN_DATA, image_input_shape
from darts.data.imagenet import IMAGENET_INPUT_SHAPE, ImageFolderStream, imagenet_folders
from darts.distributed import destroy_process_group, init_from_env, shard, world_size
from darts.errors import UserError
from darts.final_training import (CHECKPOINT, FinalTraining, FinalTrainingConfig, NetworkSpec, evaluate_network,
                                  load_network_weights, read_saved_network)
from darts.cli.common import add_options, add_plugin_flag
from darts.cli.search import IMAGE
from darts.spaces.genotype_io import load_genotype
from darts.genotype import CELLS_DIR
from darts.modalities import own_data_options as _own_data_options
from darts.plugins import import_plugins
from darts.runs import EarlyLog, RunDir, new_run_name, explicit_flags, resumed_args, run_cli, setup_console_logging
from darts.distributed import pick_device
from darts.api import _callbacks
from darts.threads import apply_threads, choose_threads
from darts.spaces.registry import genotype_record, get_space, require, space_of
from darts.summary import batch_work, count_multiply_adds, count_parameters


log = logging.getLogger("darts")

TEXT_DATASETS = ("ptb", "wikitext2")  # handled by darts.lm_training.main_lm
DATASETS = sorted(INPUT_SHAPES) + list(OWN_DATA) + ["imagenet"]
OWN_DATA_FLAGS = ("image_size", "cache", "strict", "test_fraction")
# Flags named differently from the FinalTrainingConfig field they set (the original train.py's names).
FLAG_FIELDS = {"label_smooth": "label_smoothing"}
# Flags that a resumed run may change (they do not alter the computation).
RESUME_MAY_CHANGE = {"resume", "device", "gpu", "report_freq", "save", "no_progress", "workers", "cache", "threads",
                     "tensorboard"}


def trainable_cells() -> list[str]:
    """Names of the shipped genotypes whose space trains image networks here."""
    from darts.spaces.registry import space_names
    image = set(space_names(modality="image", capability="build_network"))
    return sorted(p.stem for p in CELLS_DIR.glob("*.json")
                  if get_space(json.loads(p.read_text()).get("space", "")).name in image)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser("train_final.py", description=__doc__.split("\n")[0], formatter_class=_HelpFormatter,
                                allow_abbrev=False)
    a = p.add_argument
    c, i = training_defaults("DARTS", "cifar10"), training_defaults("DARTS", "imagenet")

    def both(name):
        return f"(default: {c[name]}; {i[name]} for imagenet; a space's own recipe for its genotypes)"
    # the original train.py's flags, with its defaults
    a("--data", default=None, help="dataset folder (default: ./data; Debian's folder for fashion-mnist; "
                                   "for imagenet a folder with train/ and val/)")
    a("--batch_size", type=int, default=None, help="batch size " + both("batch_size"))
    a("--learning_rate", type=float, default=None, help="initial learning rate " + both("learning_rate"))
    a("--momentum", type=float, default=None, help="SGD momentum " + both("momentum"))
    a("--weight_decay", type=float, default=None, help=both("weight_decay"))
    a("--report_freq", type=int, default=None, help="log every N batches " + both("report_freq"))
    a("--gpu", type=int, default=None, help="(original flag) CUDA device index; same as --device cuda:N")
    a("--epochs", type=int, default=None, help=both("epochs"))
    a("--time_budget", type=float, default=None, metavar="MINUTES",
      help="train as many epochs as fit in MINUTES of wall time, counted from the first epoch's times (training "
           "and test), the last one cut to the batches that still fit; --epochs is then the most it may run")
    a("--init_channels", type=int, default=None, help="C, channels of the first cells " + both("init_channels"))
    a("--layers", type=int, default=None, help="number of cells " + both("layers"))
    a("--model_path", default=None, help="saved network for --eval_only (a weights .pt file or a --save folder)")
    a("--auxiliary", action="store_true", help="auxiliary head after the 2/3 reduction cell")
    a("--auxiliary_weight", type=float, default=None, help="weight of the auxiliary loss " + both("auxiliary_weight"))
    a("--cutout", action="store_true", help="use cutout")
    a("--cutout_length", type=int, default=16, help="side of the cutout square")
    a("--drop_path_prob", type=float, default=None, help="final drop path probability, ramped linearly from 0 "
                                                         + both("drop_path_prob"))
    a("--save", default=None, help="output folder (default: eval-EXP-<time>)")
    a("--seed", type=int, default=0, help="random seed")
    a("--arch", default="DARTS", help=f"a cells/ name ({', '.join(trainable_cells())}; case-insensitive) "
                                      "or the genotype.json written by train_search.py")
    a("--grad_clip", type=float, default=None, help="gradient norm clipping " + both("grad_clip"))
    # train_imagenet.py's flags
    a("--label_smooth", type=float, default=None, help="label smoothing of the training loss " + both("label_smooth"))
    a("--gamma", type=float, default=None, help="learning-rate decay per period (--lr_schedule step) " + both("gamma"))
    a("--decay_period", type=int, default=None, help="epochs between decays (--lr_schedule step) " + both("decay_period"))
    # added
    a("--dataset", default="cifar10", choices=DATASETS + list(TEXT_DATASETS),
      help="dataset to train and test on; folder and npz read your own images from --data (see --image_size); "
           "ptb and wikitext2 train the recurrent language model (`--dataset ptb --help` lists its flags)")
    a("--lr_schedule", default=None, choices=["cosine", "step"],
      help="cosine annealing to --learning_rate_min, or step decay by --gamma " + both("lr_schedule"))
    a("--learning_rate_min", type=float, default=None, help="final learning rate of the cosine schedule " + both("learning_rate_min"))
    a("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    a("--fp32", action="store_true", help="train in plain float32 NCHW instead of bf16 autocast (CUDA) with "
                                          "channels_last (CUDA and CPU; CPU always uses float32)")
    a("--no_amp", action="store_true", help="on CUDA, no bfloat16 autocast (keeps channels_last)")
    a("--no_channels_last", action="store_true", help="NCHW instead of channels_last (keeps bf16)")
    a("--cpu_bf16", action="store_true", help="bfloat16 autocast on CPU too (can pay off on CPUs with native "
                                              "bf16, e.g. Intel AMX, though not for every op: time the cell with "
                                              "benchmarks/final_throughput.py first; slower elsewhere)")
    a("--compile", action="store_true", help="torch.compile the training step's network (the first step "
                                             "compiles, 20-60 s on 2 cores; the test stays eager)")
    a("--sync_bn", action="store_true", help="under torchrun: BatchNorm statistics over the whole batch of all "
                                             "processes (SyncBatchNorm, CUDA) instead of per process")
    a("--resume", default=None, metavar="DIR", help="continue the run saved in DIR from its last checkpoint")
    a("--overwrite", action="store_true", help="replace the run files of an existing --save folder")
    a("--threads", default="auto", help="CPU threads: auto (1 for tiny networks, else the idle cores) or a number")
    a("--tensorboard", default=None, metavar="DIR", help="also write TensorBoard event files into DIR "
                                                         "(pip install tensorboard)")
    a("--max_batches", type=int, default=None, help="cap on batches per epoch and per evaluation (smoke runs)")
    a("--summary", action="store_true", help="print the network's size and multiply-adds and exit (reads no data)")
    a("--eval_only", action="store_true", help="test the network saved at --model_path and exit")
    a("--workers", type=int, default=4, help="data-loading processes (imagenet only)")
    a("--no_progress", action="store_true", help="no progress bar, only the log lines")
    a("--nesterov", type=parse_bool, default=None, help="Nesterov momentum (default: false; true in the "
                                                              "NAS-Bench-201 recipe)")
    add_options(p, "your own data (--dataset folder / npz)", [o for o in IMAGE if o.name in OWN_DATA_FLAGS], {})
    add_plugin_flag(p, {})  # the genotype names the operations; a new one's code must be imported
    return p


def protocol(dataset: str) -> str:
    return "imagenet" if dataset == "imagenet" else "cifar"


def training_defaults(arch: str, dataset: str) -> dict:
    """Flag defaults of retraining `arch` on `dataset`: the paper's batch of 96 and FinalTrainingConfig's
    settings, the genotype's space's option
    defaults, then the space's recipe for the dataset (e.g. the DARTS ImageNet protocol, NAS-Bench-201's)."""
    from dataclasses import fields
    config = {FLAG_FIELDS_BACK.get(f.name, f.name): f.default for f in fields(FinalTrainingConfig)}
    space = space_of(load_genotype(arch))
    recipe = {FLAG_FIELDS_BACK.get(k, k): v for k, v in space.final_recipe(dataset).items()}
    return {"batch_size": 96, **config, **{o.name: o.default for o in space.options}, **recipe}


FLAG_FIELDS_BACK = {v: k for k, v in FLAG_FIELDS.items()}


def fill_defaults(args) -> None:
    defaults = training_defaults(arch_source(args), args.dataset)
    for name, value in defaults.items():
        if getattr(args, name, "absent") is None:
            setattr(args, name, value)


def own_data_options(args) -> dict:
    return _own_data_options(args.dataset, vars(args))


def check_args(args) -> None:
    own_data_options(args)  # --image_size etc. only with --dataset folder / npz
    for name in ("epochs", "init_channels", "layers"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UserError(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.time_budget is not None and not 0 < args.time_budget < float("inf"):
        raise UserError(f"--time_budget must be a positive number of minutes, got {args.time_budget}")
    if args.batch_size < 2:
        raise UserError(f"--batch_size must be at least 2 (BatchNorm trains on batch statistics), got {args.batch_size}")
    if args.max_batches is not None and args.max_batches < 1:
        raise UserError("--max_batches must be at least 1")
    if not 0 <= args.drop_path_prob < 1:
        raise UserError(f"--drop_path_prob must be in [0, 1), got {args.drop_path_prob}")
    if not 0 <= args.label_smooth < 1:
        raise UserError(f"--label_smooth must be in [0, 1), got {args.label_smooth}")
    if args.decay_period < 1:
        raise UserError("--decay_period must be at least 1")
    check_ranges(args, NON_NEGATIVE, POSITIVE)
    if args.cpu_bf16 and (args.fp32 or args.no_amp):
        raise UserError(f"--cpu_bf16 asks for bf16 autocast, --{'fp32' if args.fp32 else 'no_amp'} for none: "
                        "give one")
    if args.compile and not (shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")):
        raise UserError("--compile needs a C++ compiler for torch.compile's CPU code (install g++, or set CXX); "
                        "or leave out --compile")


NON_NEGATIVE = ("learning_rate", "learning_rate_min", "momentum", "weight_decay", "grad_clip", "auxiliary_weight",
                "gamma", "seed")
POSITIVE = ("cutout_length", "report_freq", "workers")


def load_arch(arch: str):
    """(name, genotype, space) of --arch: a genotype of any space that builds image networks."""
    genotype = load_genotype(arch)
    space = space_of(genotype)
    if space.modality != "image":
        raise UserError(f"--arch {arch} is a {space.name} genotype (a recurrent cell, trained as a language "
                        f"model): add --dataset ptb (or wikitext2)")
    require(space, "build_network", "retraining (it has no final network)")
    return arch, genotype, space


def arch_source(args) -> str:
    """Where the genotype is read: the resumed run's own genotype.json, else --arch."""
    return getattr(args, "arch_file", None) or args.arch


def network_spec(args, in_channels: int, num_classes: int) -> NetworkSpec:
    _, genotype, space = load_arch(arch_source(args))
    name = args.arch
    options = space.resolve({o.name: getattr(args, o.name, None) for o in space.options})
    space.check_options(options)
    sizes = {"init_channels", "layers"}
    return NetworkSpec(genotype=space.genotype_to_dict(genotype), arch=name, kind=protocol(args.dataset),
                       init_channels=args.init_channels, layers=args.layers, num_classes=num_classes,
                       in_channels=in_channels, auxiliary=args.auxiliary, dataset=args.dataset, space=space.name,
                       options={k: v for k, v in options.items() if k not in sizes})


def input_shape(args) -> tuple[int, int, int, int]:
    if args.dataset == "imagenet":
        return IMAGENET_INPUT_SHAPE
    return image_input_shape(args.dataset, args.data, **own_data_options(args))


def summary(args) -> dict:
    c, h, w, classes = input_shape(args)
    spec = network_spec(args, c, classes)
    model = spec.build()
    n = count_parameters(model)
    aux = sum(p.numel() for p in model.parameters()) - n
    macs = count_multiply_adds(model, torch.zeros(1, c, h, w))
    kind = "ImageNet" if spec.kind == "imagenet" else "CIFAR"
    print(f"{spec.arch} {kind} network: C={spec.init_channels}, {spec.layers} layers"
          f"{', auxiliary head' if spec.auxiliary else ''}; {args.dataset} input {c}x{h}x{w}, {classes} classes")
    print(f"param size = {n / 1e6:f}MB ({n:,} weights"
          + (f"; the auxiliary head's {aux:,} are not counted, as in the original)" if aux else ")"))
    print(f"multiply-adds = {macs / 1e6:.1f}M per image")
    return {"params": n, "auxiliary_params": aux, "multiply_adds": macs}


def precision(args, device) -> tuple[bool, bool]:
    """(bf16 autocast, channels_last): bf16 on CUDA, and on CPU with --cpu_bf16; channels_last on CUDA and CPU
    (faster depthwise convolutions there too); off with --fp32, or one by one with --no_amp, --no_channels_last."""
    bf16 = (device.type == "cuda" or args.cpu_bf16) and not args.fp32 and not args.no_amp
    return bf16, not args.fp32 and not args.no_channels_last


def native_cpu_bf16() -> bool:
    """Whether oneDNN runs bfloat16 natively on this CPU (AMX or AVX-512 BF16), where --cpu_bf16 can pay off."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def load_data(args, device, train: bool = True):
    """(train stream or None, test stream, in_channels, num_classes) of --dataset."""
    if args.dataset == "imagenet":
        train_dir, val_dir, classes = imagenet_folders(args.data or "data/imagenet")
        test = ImageFolderStream(val_dir, args.batch_size, device, train=False, workers=args.workers)
        stream = (ImageFolderStream(train_dir, args.batch_size, device, train=True, seed=args.seed,
                                    workers=args.workers) if train else None)
        return stream, test, 3, len(classes)
    data = load_image_dataset(args.dataset, args.data, **own_data_options(args))
    test = BatchStream(data.test_x, data.test_y, args.batch_size, data.mean, data.std, device, shuffle=False,
                       shard=shard())
    stream = (BatchStream(data.train_x, data.train_y, args.batch_size, data.mean, data.std, device,
                          data.augmentation, args.cutout_length if args.cutout else 0, seed=args.seed, shard=shard())
              if train else None)
    log.info("dataset %s: %d training and %d test images, %dx%dx%d, %d classes", args.dataset, len(data.train_x),
             len(data.test_x), data.in_channels, data.image_size, data.image_size, data.num_classes)
    if data.class_names:
        log.info("classes: %s", ", ".join(data.class_names))
    if train and args.cutout and args.cutout_length >= data.image_size:
        log.warning("warning: --cutout_length %d is at least the %dx%d image size: cutout will erase most of "
                    "every training image (try --cutout_length %d)", args.cutout_length, data.image_size,
                    data.image_size, max(1, data.image_size // 2))
    return stream, test, data.in_channels, data.num_classes


def eval_only(args, parser, argv) -> dict:
    if not args.model_path:
        raise UserError("--eval_only needs --model_path: a weights .pt file or a train_final.py --save folder")
    spec, state, meta = read_saved_network(args.model_path)
    explicit = explicit_flags(parser, argv)
    if spec is not None:
        given = {"arch": args.arch, "init_channels": args.init_channels, "layers": args.layers,
                 "dataset": args.dataset, "auxiliary": args.auxiliary}
        clash = [f"--{k} {given[k]}" for k in given if k in explicit and
                 given[k] != getattr(spec, k) and not (k == "arch" and _same_arch(given[k], spec))]
        if clash:
            raise UserError(f"{args.model_path} holds a {spec.arch} network (C={spec.init_channels}, {spec.layers} "
                            f"layers, {spec.dataset}); drop {', '.join(clash)} to evaluate it")
        args.dataset = spec.dataset
    fill_defaults(args)
    device = pick_device(args.device)
    _, test, in_channels, num_classes = load_data(args, device, train=False)
    if spec is None:  # a bare state dict (e.g. the original code's weights.pt): the flags describe it
        spec = network_spec(args, in_channels, num_classes)
    elif (spec.in_channels, spec.num_classes) != (in_channels, num_classes):
        raise UserError(f"{args.model_path} was trained for {spec.in_channels}-channel images with "
                        f"{spec.num_classes} classes; {args.dataset} has {in_channels} and {num_classes}")
    model = spec.build()
    load_network_weights(model, state, str(args.model_path))
    bf16, channels_last = precision(args, device)
    model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    metrics = evaluate_network(model, test.evaluation_batches(args.max_batches), bf16, channels_last)
    print(f"{spec.arch} ({args.model_path}): test_acc {metrics['acc']:f} test_loss {metrics['loss']:.4f}"
          + (f" (saved after epoch {meta['epoch']})" if "epoch" in meta else ""))
    return metrics


def _same_arch(arch: str, spec: NetworkSpec) -> bool:
    try:
        return load_genotype(arch).to_dict() == spec.genotype
    except UserError:
        return False


def is_language_model_run(argv) -> bool:
    """--dataset ptb|wikitext2 (given, or saved in the --resume folder) trains the recurrent language model."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--dataset")
    pre.add_argument("--resume")
    known, _ = pre.parse_known_args(argv)
    dataset = known.dataset
    if dataset is None and known.resume and (Path(known.resume) / "args.json").is_file():
        try:
            saved = json.loads((Path(known.resume) / "args.json").read_text(encoding="utf-8"))
        except (ValueError, RecursionError):
            saved = None  # damaged: the image path reports it with its own message
        dataset = saved.get("dataset") if isinstance(saved, dict) else None
    return dataset in TEXT_DATASETS


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else argv
    if is_language_model_run(argv):
        from darts.lm_training import main_lm
        return main_lm(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    import_plugins(args.ops_module)  # before the genotype is read
    if args.gpu is not None and args.device == "auto":
        args.device = f"cuda:{args.gpu}"
    if args.eval_only:
        return eval_only(args, parser, argv)
    if args.resume:
        if args.save and args.save != args.resume:
            raise UserError(f"--resume {args.resume} continues that folder; leave out --save {args.save}")
        args = resumed_args(args, parser, argv, RESUME_MAY_CHANGE, "train_final.py")
        import_plugins(args.ops_module)  # the run's own
        own = Path(args.resume) / "genotype.json"  # the run's own copy: the original --arch file may be gone
        args.arch_file = str(own) if own.is_file() else None
    load_arch(arch_source(args))  # a bad --arch fails first, before any data is read
    fill_defaults(args)
    check_args(args)
    if args.summary:
        return summary(args)
    if args.save is None:
        args.save = new_run_name("eval")
    device = init_from_env(args.device)  # under torchrun: joins the process group, cuda:LOCAL_RANK
    try:
        setup_console_logging()
        early = EarlyLog()  # the preparation's log lines, for log.txt once the folder exists
        try:
            prepared = prepare_training(args, device)  # reads and checks every input; writes nothing
        except BaseException:
            early.close()
            raise
        apply_threads(choose_threads(args.threads, network_work(prepared, args)))
        run = RunDir(args.save, resume=bool(args.resume), overwrite=args.overwrite)
        try:
            return train(args, prepared, run, device)
        finally:
            run.close()
    finally:
        destroy_process_group()


def prepare_training(args, device) -> tuple:
    """(train stream, test stream, network spec, network) of the run: every input read and checked."""
    if world_size() > 1 and args.dataset == "imagenet":
        raise UserError("distributed (torchrun) training shards in-memory datasets; ImageNet folders are read "
                        "by one process")
    if args.sync_bn and device.type != "cuda":
        raise UserError("--sync_bn needs CUDA (SyncBatchNorm); on CPU each process keeps its own statistics")
    seed_everything(args.seed)
    train_stream, test_stream, in_channels, num_classes = load_data(args, device)
    spec = network_spec(args, in_channels, num_classes)
    return train_stream, test_stream, spec, spec.build()


def train(args, prepared: tuple, run: RunDir, device) -> dict:
    train_stream, test_stream, spec, model = prepared
    genotype = load_genotype(arch_source(args))
    if not args.resume:
        run.write_json("args.json", {k: v for k, v in vars(args).items() if k not in ("resume", "overwrite")})
    run.write_json("genotype.json", genotype_record(genotype))  # on resume too: a kill may have come before it
    log.info("args = %s", vars(args))
    if world_size() > 1:
        log.info("world size %d: --batch_size %d per process, %d in all", world_size(), args.batch_size,
                 args.batch_size * world_size())
    log.info("genotype = %s", genotype)
    log.info("param size = %fMB", count_parameters(model) / 1e6)
    bf16, channels_last = precision(args, device)
    model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    if device.type == "cuda" or bf16 or args.compile:
        log.info("precision: %s, %s%s", "bf16 autocast" if bf16 else "float32",
                 "channels_last" if channels_last else "NCHW", ", torch.compile" if args.compile else "")
    if bf16 and device.type == "cpu" and not native_cpu_bf16():
        log.warning("--cpu_bf16: this CPU has no native bfloat16 (AMX or AVX-512 BF16); bf16 will likely train "
                    "slower than float32")
    trainer = FinalTraining(model, train_stream, test_stream, training_config(args, bf16, channels_last), spec, run)
    if args.resume:
        trainer.resume(run.file(CHECKPOINT))
    callbacks = _callbacks(None, args.tensorboard)
    trainer.callbacks.extend(callbacks)
    try:
        final = trainer.run()
    finally:
        for c in callbacks:
            c.close()
    log.info("final test_acc %f (best %f); wrote %s", final["test_acc"], trainer.best_acc, run.file("weights.pt"))
    return final


def network_work(prepared: tuple, args) -> float:
    """Forward multiply-adds of one batch of the network (for --threads auto)."""
    _, _, spec, model = prepared
    size = 224 if spec.kind == "imagenet" else INPUT_SHAPES.get(args.dataset, (0, 32))[1]
    return batch_work(model, spec.in_channels, size, size, args.batch_size)


def training_config(args, bf16: bool, channels_last: bool) -> FinalTrainingConfig:
    return FinalTrainingConfig(
        epochs=args.epochs, learning_rate=args.learning_rate, learning_rate_min=args.learning_rate_min,
        momentum=args.momentum, nesterov=bool(args.nesterov), weight_decay=args.weight_decay,
        grad_clip=args.grad_clip, auxiliary_weight=args.auxiliary_weight if args.auxiliary else 0.0,
        drop_path_prob=args.drop_path_prob, label_smoothing=args.label_smooth, lr_schedule=args.lr_schedule,
        gamma=args.gamma, decay_period=args.decay_period, max_batches=args.max_batches,
        report_freq=args.report_freq, progress=not args.no_progress, bf16=bf16, channels_last=channels_last,
        compile=args.compile,
        sync_bn=args.sync_bn, time_budget=None if args.time_budget is None else 60.0 * args.time_budget)


def cli() -> int:
    return run_cli(main)


if __name__ == "__main__":
    sys.exit(cli())
