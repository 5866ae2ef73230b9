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
import json
import logging
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from darts.checkpoint import read_resume_state, seed_everything
from darts.engine import check_resume_state
from darts.cli.common import (add_options, add_plugin_flag, check_saved_code, explicit_flags, new_parser, pre_parse,
                              read_saved_run)
from darts.data import INPUT_SHAPES, BatchStream, load_image_dataset
from darts.data.images import image_input_shape
from darts.data.imagenet import IMAGENET_INPUT_SHAPE, ImageFolderStream, imagenet_folders
from darts.distributed import destroy_process_group, init_from_env, shard, world_size
from darts.errors import UserError
from darts.final_training import (CHECKPOINT, FinalTraining, FinalTrainingConfig, NetworkSpec, evaluate_network,
                                  load_network_weights, read_saved_network)
from darts.genotype import CELLS_DIR
from darts.spaces.genotype_io import load_genotype
from darts.modalities import own_data_options as _own_data_options
from darts.options import merge_saved, resolve_options
from darts.plugins import import_plugins
from darts.runs import EarlyLog, RunDir, new_run_name, run_cli, setup_console_logging
from darts.distributed import pick_device
from darts.api import _callbacks
from darts.threads import apply_threads, choose_threads
from darts.spaces.registry import genotype_record, get_space, require, space_of
from darts.summary import batch_work, count_multiply_adds, count_parameters
from darts.train_options import (NETWORK, NOT_SAVED, RECIPE, RESUME_MAY_CHANGE, TEXT_DATASETS, check_train_settings,
                                 fill_recipe, image_datasets, option_groups, options, training_defaults)


log = logging.getLogger("darts")


def trainable_cells() -> list[str]:
    """Names of the shipped genotypes whose space trains image networks here."""
    from darts.spaces.registry import space_names
    image = set(space_names(modality="image", capability="build_network"))
    return sorted(p.stem for p in CELLS_DIR.glob("*.json")
                  if get_space(json.loads(p.read_text()).get("space", "")).name in image)


def build_parser() -> argparse.ArgumentParser:
    """The flags of every retraining setting, grouped; the recipe's show the DARTS paper's CIFAR-10 and
    ImageNet values (a genotype of another space trains with that space's own recipe)."""
    import textwrap
    cifar, imagenet = training_defaults("DARTS", "cifar10"), training_defaults("DARTS", "imagenet")
    shown = {o.name: f"{cifar[o.name]}" + ("" if cifar[o.name] == imagenet[o.name] else
                                            f"; imagenet: {imagenet[o.name]}")
             for o in RECIPE + NETWORK if cifar.get(o.name) is not None and not o.flag}
    listed = [("cells/ (--arch): ", trainable_cells()),
              ("datasets (--dataset): ", image_datasets() + [f"{n} (language model)" for n in TEXT_DATASETS])]
    lists = "\n".join(textwrap.fill(title + ", ".join(names), 114, subsequent_indent="  ") for title, names in listed)
    p = new_parser("train_final.py", f"{__doc__}\n{lists}\n")
    owners: dict[str, list[str]] = {}
    for title, group in option_groups():
        if title == "training recipe":
            title = "training recipe (defaults: the DARTS paper's; a genotype of another space: its space's recipe)"
        add_options(p, title, group, owners, shown)
    add_plugin_flag(p, owners)  # the genotype names the operations; a new one's code must be imported
    return p


def fill_defaults(args) -> None:
    """The recipe's values for the flags not given (the genotype's space's recipe for the dataset)."""
    fill_recipe(vars(args), arch_source(args))


def own_data_options(args) -> dict:
    return _own_data_options(args.dataset, vars(args))


def check_args(args) -> None:
    own_data_options(args)  # --image_size etc. only with --dataset folder / npz
    check_train_settings(vars(args))
    if args.compile and not (shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")):
        raise UserError("--compile needs a C++ compiler for torch.compile's CPU code (install g++, or set CXX); "
                        "or leave out --compile")


def settings_from_argv(parser: argparse.ArgumentParser, argv) -> argparse.Namespace:
    """The run's settings: flags typed now, with a --resume folder's saved ones folded in, declared defaults
    for the rest (the recipe's are filled once the genotype is known), each checked."""
    args = parser.parse_args(argv)
    explicit = explicit_flags(parser, argv)
    given = {k: v for k, v in vars(args).items() if v is not None}
    if args.resume and not args.eval_only:
        if args.save and args.save != args.resume:
            raise UserError(f"--resume {args.resume} continues that folder; leave out --save {args.save}")
        saved = read_saved_run(parser, args.resume, "train_final.py", ("arch",))
        check_saved_code(saved, given.get("ops_module"), f"--resume {args.resume}")
        given = merge_saved(saved, given, explicit, RESUME_MAY_CHANGE, "--resume")
        given["save"] = args.resume
    values = {"ops_module": None, **given, **resolve_options(options(), given)}
    if values["gpu"] is not None and values["device"] == "auto":
        values["device"] = f"cuda:{values['gpu']}"
    return argparse.Namespace(**values)


def protocol(dataset: str) -> str:
    return "imagenet" if dataset == "imagenet" else "cifar"


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
    bf16 = (device.type == "cuda" or bool(args.cpu_bf16)) and not args.fp32 and not args.no_amp
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
    if not len(data.test_x):
        raise UserError(f"--dataset {args.dataset}: the test split holds no image ({len(data.train_x)} training "
                        f"images); give more images, or a test split of its own")
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
    known = pre_parse(argv, "dataset", "resume")
    dataset = known.dataset
    if dataset is None and known.resume and (Path(known.resume) / "args.json").is_file():
        try:
            saved = json.loads((Path(known.resume) / "args.json").read_text(encoding="utf-8"))
        except (ValueError, RecursionError):
            saved = None  # damaged: the image path reports it with its own message
        dataset = saved.get("dataset") if isinstance(saved, dict) else None
    return dataset in TEXT_DATASETS


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    if is_language_model_run(argv):
        from darts.cli.lm import main as main_lm
        return main_lm(argv)
    import_plugins(pre_parse(argv, "ops_module").ops_module)  # before the genotype is read
    parser = build_parser()
    args = settings_from_argv(parser, argv)
    if args.eval_only:
        return eval_only(args, parser, argv)
    if args.resume:
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
    model = spec.build()
    state = read_resume_state(Path(args.save) / CHECKPOINT) if args.resume else None
    if state is not None:  # another run's (a search's, another network's) is refused before the folder is touched
        check_resume_state(state, {"network": asdict(spec)}, {"model": model}, FinalTraining.mismatch)
    return train_stream, test_stream, spec, model, state


def train(args, prepared: tuple, run: RunDir, device) -> dict:
    train_stream, test_stream, spec, model, state = prepared
    genotype = load_genotype(arch_source(args))
    run.write_args({k: v for k, v in vars(args).items() if k not in NOT_SAVED}, bool(args.resume))
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
        trainer.resume(run.file(CHECKPOINT), state)
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
    _, _, spec, model, _ = prepared
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
