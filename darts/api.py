"""The package as a library: search a space on your own data, retrain the result, draw it - the calls the
command lines make, with the same settings and the same run folders.

    from darts import api
    data = api.load_data("folder", "my_images", image_size=32)     # or api.as_image_dataset((x, y)) ...
    result = api.search(data, epochs=50, save="search-out")        # -> SearchResult(genotype, history, model)
    net = api.build_network(result.genotype, data.in_channels, data.num_classes)
    trained = api.train(net, data, epochs=600, save="eval-out")    # -> TrainResult(network, history, ...)
    api.render(result.genotype, "figures")
    net = api.load_network("eval-out")                              # a saved network, weights loaded
    api.export(net, "exported")                                     # ONNX, TorchScript, a torch-only file

Data may be an `ImageDataset` (the readers: load_data), a pair of tensors or arrays (images
(N, C, H, W), uint8 or float in [0, 1]; labels (N,)), or any torch Dataset of (image, label) pairs,
stacked into tensors once. Candidate operations are the paper's eight unless `primitives` names others
registered with `darts.ops.register_op`. `search` takes every setting the command line has, by the flag's
name (`space`, `strategy`, `learning_rate`, `unrolled`, `max_batches`, `budget`, ...); `train` every field
of `FinalTrainingConfig`.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

from darts.checkpoint import read_resume_state, seed_everything, to_json
from darts.data import BatchStream, ImageDataset, load_image_dataset
from darts.data.arrays import arrays_to_dataset, materialize
from darts.data.batches import search_streams
from darts.errors import UserError
from darts.final_training import FinalTraining, FinalTrainingConfig, NetworkSpec
from darts.spaces.genotype_io import genotype_from_dict, load_genotype
from darts.ops import PRIMITIVES, check_primitives
from darts.options import check_values
from darts.plugins import import_plugin
from darts.proxies import score  # zero-cost proxies of a network or genotype (docs/proxies.md)
from darts.runs import ARGS, RunDir, read_settings_file
from darts.distributed import pick_device
from darts.spaces.registry import DataShape, get_space, space_of

__all__ = ["load_data", "as_image_dataset", "check_primitives", "search_space", "search_streams", "search",
           "SearchResult", "build_network", "train", "TrainResult", "render", "load_genotype", "load_network",
           "import_plugin", "PRIMITIVES", "score", "export"]

log = logging.getLogger("darts")

load_data = load_image_dataset  # load_data(name, root, **reader options): see darts.data.images

# --- data ---------------------------------------------------------------------------------------------
def _as_tensors(data: Any, what: str) -> tuple[Any, Any]:
    if isinstance(data, (tuple, list)) and len(data) == 2 and getattr(data[0], "ndim", 0) >= 3:
        return data[0], data[1]  # (images, labels)
    if isinstance(data, torch.utils.data.Dataset) or hasattr(data, "__iter__"):
        return materialize(data, what)
    raise UserError(f"{what} is a {type(data).__name__}; give an ImageDataset, an (images, labels) pair or a "
                    f"torch Dataset of (image, label) pairs")


def as_image_dataset(data: Any, test_data: Any = None, test_fraction: float = 0.2,
                     num_classes: int | None = None, name: str = "data",
                     channels_last: bool | None = None) -> ImageDataset:
    """`data` as an ImageDataset (returned unchanged if it is one). Images are (N, H, W), (N, C, H, W) or
    (N, H, W, C), told apart by the axis holding 1, 3 or 4 channels (`channels_last` for shapes that cannot
    tell). Without `test_data`, a stratified `test_fraction` is held out with a fixed seed; mean and std
    come from the training split."""
    if isinstance(data, ImageDataset):
        if test_data is not None:
            raise UserError("an ImageDataset has its own test split; leave out test_data")
        return data
    x, y = _as_tensors(data, name)
    x_test = y_test = None
    if test_data is not None:
        x_test, y_test = _as_tensors(test_data, f"{name} (test)")
    return arrays_to_dataset(name, x, y, x_test, y_test, channels_last=channels_last, test_fraction=test_fraction,
                             num_classes=num_classes)


# --- search -------------------------------------------------------------------------------------------
def search_space(space: str = "darts", in_channels: int = 3, num_classes: int = 10, **options):
    """The supernet of a registered `space` (default: the DARTS convolutional cells), alphas apart from the
    weights; `options` are the space's own (darts: init_channels, layers, primitives, partial_channels)."""
    s = get_space(space)
    opts = s.resolve(options)
    s.check_options(opts)
    return s.build_supernet(opts, DataShape(in_channels, num_classes=num_classes))


@dataclass
class SearchResult:
    genotype: Any
    history: list[dict]  # one row per epoch (train/valid loss and accuracy, lr, seconds) or per evaluation
    model: Any  # the trained supernet of a DARTS / ENAS search (its alphas: model.alpha_summary()), else None


def search(data: Any = None, *, save: str | Path | None = None, resume: bool = False, overwrite: bool = False,
           callback: Callable[[int, dict], None] | None = None, tensorboard: str | Path | None = None,
           log_to_console: bool = True, **settings) -> SearchResult:
    """Search on `data` (see the module docstring; None: the data the settings name, e.g. dataset="digits", or
    none at all for a table search) with the command line's settings, by name (defaults: the paper's CIFAR-10
    DARTS search). With `save`, the folder is the one the command line writes (args.json,
    log.txt, genotype.json, JSONL rows, checkpoint.pt, figures unless no_plots=True); `resume=True`
    continues it. `callback(epoch, row)` runs after every epoch (or evaluation), `tensorboard` names a
    folder for TensorBoard event files."""
    from darts.experiment import prepare_search
    from darts.runs import setup_console_logging
    from darts.settings import NOT_SAVED, resolve_settings
    if "cutout_length" in settings and "cutout" not in settings:
        settings["cutout"] = bool(settings["cutout_length"])
    settings["no_progress"] = not settings.pop("progress", True) or settings.get("no_progress")
    if data is not None:
        settings.setdefault("dataset", getattr(data, "name", "data"))
    space, values = resolve_settings(settings)
    if resume and save is not None and (Path(save) / ARGS).exists():  # its own settings, as the CLI's --resume
        space, values = _resumed_settings(save, settings, values)
    values["resume"] = bool(resume)  # the loops continue from the folder's checkpoint
    values["save"] = None if save is None else str(save)
    if log_to_console:
        setup_console_logging()
    device = pick_device(str(values["device"]))
    seed_everything(values["seed"])  # before the supernet is built
    given = as_image_dataset(data) if data is not None and space.modality == "image" else data
    prepared = prepare_search(space, values, device, data=given)
    run = RunDir(save, resume=resume, overwrite=overwrite) if save is not None else RunDir(None)
    callbacks = _callbacks(callback, tensorboard)
    try:
        run.write_args({k: v for k, v in values.items() if k not in NOT_SAVED}, resume)
        outcome = prepared.run(run, callbacks)
        if run.enabled and not values["no_plots"]:
            from visualize import render_search_dir
            render_search_dir(run.path)
    finally:
        run.close()
        for c in callbacks:
            getattr(c, "close", lambda: None)()
    return SearchResult(outcome.genotype, outcome.history, outcome.model)


def _resumed_settings(save: str | Path, typed: dict, values: dict) -> tuple[object, dict]:
    """(space, settings) of a resumed search: the folder's args.json with the settings given now, refused
    where one contradicts the run and may not change on resume (the command line's RESUME_MAY_CHANGE). A
    folder without args.json (its first attempt died before writing it) takes the settings given now."""
    from darts.options import merge_saved
    from darts.settings import RESUME_MAY_CHANGE, resolve_settings
    saved = read_settings_file(Path(save) / ARGS, "resume=True")
    given = _plain({k: values[k] for k in typed if k in values})
    merged = merge_saved(saved, given, given, RESUME_MAY_CHANGE, f"resume=True (save={str(save)!r})")
    return resolve_settings(merged, set(given), {})


def _plain(obj: Any) -> Any:
    """`obj` as its JSON form reads back (tuples as lists), to compare with a saved args.json."""
    return json.loads(to_json(obj))


def _callbacks(callback, tensorboard) -> list:
    out = [callback] if callback is not None else []
    if tensorboard is not None:
        from darts.tensorboard_log import TensorBoardLog
        out.append(TensorBoardLog(tensorboard))
    return out


# --- final network ------------------------------------------------------------------------------------
def _genotype(genotype: Any) -> Any:
    """A genotype object from itself, its JSON dict, a shipped cell's name or a genotype.json path."""
    if isinstance(genotype, dict):
        return genotype_from_dict(genotype)
    if isinstance(genotype, (str, Path)):
        return load_genotype(genotype)
    space_of(genotype)  # a genotype of a registered space, or a one-line error
    return genotype


def build_network(genotype: Any, in_channels: int = 3, num_classes: int = 10, init_channels: int | None = None,
                  layers: int | None = None, auxiliary: bool = False) -> nn.Module:
    """The final network of `genotype` (an object, its JSON dict, a shipped cell's name such as "DARTS_V2", or
    a genotype.json path), built by its space (DARTS cells: the paper's CIFAR network, C=36, 20 layers, whose
    forward returns (logits, auxiliary logits or None)). An argument out of its range raises InvalidArgument
    (a ValueError) naming it, as does a size whose weights cannot fit in this machine's memory."""
    from darts.train_options import DATA_SHAPE, NETWORK, check_network_size
    given = {"in_channels": in_channels, "num_classes": num_classes, "init_channels": init_channels, "layers": layers}
    check_values(DATA_SHAPE + NETWORK, given)
    g = _genotype(genotype)
    space = space_of(g)
    check_values(space.options, {k: given[k] for k in ("init_channels", "layers")})  # the space's own bounds
    sizes = {**space.resolve({}), **space.final_recipe("custom")}
    spec = NetworkSpec(genotype=space.genotype_to_dict(g), arch="custom", space=space.name,
                       init_channels=sizes.get("init_channels", 0) if init_channels is None else init_channels,
                       layers=sizes.get("layers", 0) if layers is None else layers,
                       num_classes=num_classes, in_channels=in_channels, auxiliary=auxiliary)
    shape = ("init_channels", "layers", "in_channels", "num_classes")
    check_network_size(lambda values: replace(spec, **values), {k: getattr(spec, k) for k in shape},
                       {k: sizes.get(k, 0) for k in shape[:2]}, "the network", prefix="")
    network = spec.build()
    network.network_spec = spec  # what rebuilds it beside its saved weights
    return network


def network_spec(network: nn.Module, dataset: str = "custom") -> NetworkSpec:
    """The NetworkSpec that rebuilds `network` (built by build_network), saved beside its weights."""
    spec = getattr(network, "network_spec", None)
    if spec is None:
        raise UserError(f"train takes a network from api.build_network, got a {type(network).__name__}")
    return NetworkSpec(**{**asdict(spec), "dataset": dataset})


def load_network(path: str | Path) -> nn.Module:
    """A network saved by train_final.py / api.train (a weights .pt file or its --save folder), weights loaded."""
    from darts.final_training import load_network_weights, read_saved_network
    spec, state, _ = read_saved_network(path)
    if spec is None:
        raise UserError(f"{path} is a bare state dict: build the network with api.build_network and load it")
    network = spec.build()
    load_network_weights(network, state, str(path))
    network.network_spec = spec
    return network


@dataclass
class TrainResult:
    network: nn.Module
    history: list[dict]  # one row per epoch: train/test loss and accuracy, lr, drop path probability
    test_acc: float  # after the last epoch
    best_test_acc: float


def train(network: nn.Module, data: Any, *, epochs: int = 600, batch_size: int = 96, cutout_length: int = 0,
          seed: int = 0, device: str | torch.device = "auto", save: str | Path | None = None,
          resume: bool = False, callback: Callable[[int, dict], None] | None = None,
          tensorboard: str | Path | None = None, **options) -> TrainResult:
    """Train `network` from its current weights on the training split of `data` and test it each epoch
    on the test split (the paper's protocol: its CIFAR-10 settings are the defaults). With `save`, the
    folder gets weights.pt (evaluable by train_final.py --eval_only), history.jsonl and checkpoint.pt. An
    argument out of its range raises InvalidArgument (a ValueError) naming it."""
    _check_train_arguments(dict(options, epochs=epochs, batch_size=batch_size, seed=seed,
                                cutout_length=cutout_length or None))
    data = as_image_dataset(data)
    spec = network_spec(network, data.name)
    if (spec.in_channels, spec.num_classes) != (data.in_channels, data.num_classes):
        raise UserError(f"the network takes {spec.in_channels}-channel images and {spec.num_classes} classes; "
                        f"the data has {data.in_channels} and {data.num_classes}: build it with those")
    device = pick_device(str(device))
    seed_everything(seed)
    network.to(device)
    train_stream = BatchStream(data.train_x, data.train_y, batch_size, data.mean, data.std, device,
                               data.augmentation, cutout_length, seed=seed)
    test_stream = BatchStream(data.test_x, data.test_y, batch_size, data.mean, data.std, device, shuffle=False)
    config = _config(FinalTrainingConfig, options, epochs=epochs)
    trainer = FinalTraining(network, train_stream, test_stream, config, spec)  # checks the config; writes nothing
    record = _plain({"dataset": data.name, "batch_size": batch_size, "cutout_length": cutout_length, "seed": seed,
                     **asdict(config)})
    state = _resume_state(save, record, trainer) if resume and save is not None else None
    run = RunDir(save, resume=resume) if save is not None else RunDir(None)
    callbacks = _callbacks(callback, tensorboard)
    try:
        run.write_args(record, resume)
        trainer.use_run_dir(run)
        trainer.callbacks.extend(callbacks)
        if resume:
            from darts.final_training import CHECKPOINT
            trainer.resume(run.file(CHECKPOINT), state)
        final = trainer.run()
    finally:
        run.close()
        for c in callbacks:
            getattr(c, "close", lambda: None)()
    return TrainResult(network, trainer.history, final.get("test_acc", float("nan")), trainer.best_acc)


def _resume_state(save: str | Path, record: dict, trainer: FinalTraining) -> dict | None:
    """The checkpoint that api.train(resume=True) continues, read and checked before the folder is touched: the
    call's settings must be the folder's (args.json; those of the command line's RESUME_MAY_CHANGE and
    `progress` may change) and the checkpoint must hold this network."""
    from darts.engine import CHECKPOINT, check_resume_state
    from darts.options import merge_saved
    from darts.train_options import RESUME_MAY_CHANGE
    if (Path(save) / ARGS).exists():
        saved = read_settings_file(Path(save) / ARGS, "resume=True")
        merge_saved(saved, record, record, RESUME_MAY_CHANGE | {"progress"}, f"resume=True (save={str(save)!r})")
    state = read_resume_state(Path(save) / CHECKPOINT)
    if state is not None:
        check_resume_state(state, trainer.labels(), {"model": trainer.model}, trainer.mismatch)
    return state


def _check_train_arguments(values: dict) -> None:
    """Each argument of `train` against the range its retraining flag declares (FinalTrainingConfig's fields
    by their flag names)."""
    from darts.train_options import FLAG_FIELDS, options as training_options
    by_argument = [replace(o, name=FLAG_FIELDS.get(o.name, o.name)) for o in training_options()]  # errors name
    check_values(by_argument, values)  # the argument as typed (label_smoothing, not --label_smooth)


def _config(cls, options: dict, **values):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise UserError(f"unknown option(s) {', '.join(unknown)}; {cls.__name__} takes: {', '.join(sorted(known))}")
    return cls(**{**values, **options})


# --- diagrams -----------------------------------------------------------------------------------------
def render(genotype: Any, out_dir: str | Path, stem: str = "genotype", fmt: str = "png") -> list[Path]:
    """Draw each part of `genotype` (DARTS: STEM_normal.FMT and STEM_reduce.FMT) into OUT_DIR (graphviz; a
    .dot source when the `dot` program is missing). Returns the files written."""
    from visualize import render_genotype
    return render_genotype(_genotype(genotype), out_dir, stem, fmt)


# --- export -------------------------------------------------------------------------------------------
def export(network: nn.Module | str | Path, out_dir: str | Path,
           formats: tuple[str, ...] | list[str] | str = ("onnx", "torchscript", "standalone"), batch: int = 8,
           image_size: int | None = None, window: int | None = None) -> list:
    """Write `network` (from build_network / load_network / train, or a saved network's path) into OUT_DIR as
    ONNX (network.onnx), TorchScript (network_torchscript.pt), a file needing only torch (network.py with
    network_weights.pt) and, asked for as "torch_export", torch.export's network.pt2: each loaded back and
    checked on random inputs (`batch` images; a language model: `window` tokens x `batch`) before anything is
    written (see darts.export). Returns one report per format (.files, .error: the outputs' relative difference)."""
    from darts.export import export_network
    if isinstance(network, (str, Path)):
        network = load_network(network)
    return export_network(network, out_dir, formats, batch, image_size, window=window)
