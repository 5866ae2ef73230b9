"""The package as a library: search a cell on your own data, retrain it, draw it - the calls the CLIs make.

    from darts import api
    data = api.load_data("folder", "my_images", image_size=32)     # or api.as_image_dataset((x, y)) ...
    result = api.search(data, epochs=50)                            # -> SearchResult(genotype, history, model)
    net = api.build_network(result.genotype, data.in_channels, data.num_classes)
    trained = api.train(net, data, epochs=600, save="eval-out")    # -> TrainResult(network, history, ...)
    api.render(result.genotype, "figures")

Data may be an `ImageDataset` (the readers: load_data), a pair of tensors or arrays (images
(N, C, H, W), uint8 or float in [0, 1]; labels (N,)), or any torch Dataset of (image, label) pairs,
stacked into tensors once. Candidate operations are the paper's eight unless `primitives` names others
registered with `darts.ops.register_op`. Every keyword of `DartsSearchConfig` / `FinalTrainingConfig`
(learning rates, unrolled, max_batches, ...) is accepted by `search` / `train`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn as nn

from darts.checkpoint import seed_everything
from darts.data import BatchStream, ImageDataset, load_image_dataset
from darts.data.arrays import arrays_to_dataset, materialize
from darts.errors import UserError
from darts.final_training import FinalTraining, FinalTrainingConfig, NetworkSpec
from darts.genotype import Genotype, genotype_from_dict, load_genotype
from darts.ops import OPS, PRIMITIVES, build_op
from darts.plugins import import_plugin
from darts.runs import RunDir, pick_device
from darts.search import DartsSearch, DartsSearchConfig
from darts.spaces.darts_cnn import NetworkCIFAR, SearchNetwork
from darts.training import ImageClassification

__all__ = ["load_data", "as_image_dataset", "check_primitives", "search_space", "search_streams", "search",
           "SearchResult", "build_network", "train", "TrainResult", "render", "load_genotype", "import_plugin",
           "PRIMITIVES"]

log = logging.getLogger("darts")

load_data = load_image_dataset  # load_data(name, root, **reader options): see darts.data.images

SPACES = ("darts_cnn",)


# --- data ---------------------------------------------------------------------------------------------
def _as_tensors(data: Any, what: str) -> tuple[Any, Any]:
    if isinstance(data, (tuple, list)) and len(data) == 2 and getattr(data[0], "ndim", 0) >= 3:
        return data[0], data[1]  # (images, labels)
    if isinstance(data, torch.utils.data.Dataset) or hasattr(data, "__iter__"):
        return materialize(data, what)
    raise UserError(f"{what} is a {type(data).__name__}; give an ImageDataset, an (images, labels) pair or a "
                    f"torch Dataset of (image, label) pairs")


def as_image_dataset(data: Any, test_data: Any = None, test_fraction: float = 0.2,
                     num_classes: int | None = None, name: str = "data") -> ImageDataset:
    """`data` as an ImageDataset (returned unchanged if it is one). Without `test_data`, a stratified
    `test_fraction` is held out with a fixed seed; mean and std come from the training split."""
    if isinstance(data, ImageDataset):
        if test_data is not None:
            raise UserError("an ImageDataset has its own test split; leave out test_data")
        return data
    x, y = _as_tensors(data, name)
    x_test = y_test = None
    if test_data is not None:
        x_test, y_test = _as_tensors(test_data, f"{name} (test)")
    return arrays_to_dataset(name, x, y, x_test, y_test, channels_last=False, test_fraction=test_fraction,
                             num_classes=num_classes)


# --- search -------------------------------------------------------------------------------------------
def check_primitives(primitives: str | Sequence[str] | None) -> list[str]:
    """The candidate operations (a list, or names separated by commas; None: the paper's eight), checked:
    registered, no repeats, at least one besides 'none', and each keeps C channels and divides the
    spatial size by its stride (probed on a tiny tensor, so a faulty custom op fails here, not mid-search)."""
    if primitives is None:
        return list(PRIMITIVES)
    names = [p.strip() for p in primitives.split(",")] if isinstance(primitives, str) else list(primitives)
    names = [n for n in names if n]
    unknown = [n for n in names if n not in OPS]
    if unknown:
        raise UserError(f"unknown operation(s) {', '.join(unknown)} in --primitives; registered: "
                        f"{', '.join(sorted(OPS))} (register your own with darts.ops.register_op and --ops_module)")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UserError(f"--primitives names {', '.join(repeated)} more than once")
    if not [n for n in names if n != "none"]:
        raise UserError("--primitives needs at least one operation besides 'none'")
    with torch.random.fork_rng(devices=[]):  # probing must not move the seeded RNG the supernet is built from
        for name in names:
            _probe_op(name)
    return names


def _probe_op(name: str, C: int = 4, size: int = 6) -> None:
    x = torch.randn(2, C, size, size)
    for stride in (1, 2):
        expected = (2, C, size // stride, size // stride)
        try:
            with torch.no_grad():
                out = build_op(name, C, stride, affine=False)(x)
            shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        except UserError:
            raise
        except Exception as e:  # the user's op failed on a plain input: say which op and why
            raise UserError(f"operation {name!r} fails on a {tuple(x.shape)} input with stride {stride}: "
                            f"{type(e).__name__}: {e}") from None
        if shape != expected:
            raise UserError(f"operation {name!r} maps {tuple(x.shape)} to {shape} with stride {stride}; a cell "
                            f"operation must keep the C channels and divide height and width by the stride "
                            f"(expected {expected})")


def search_space(space: str = "darts_cnn", in_channels: int = 3, num_classes: int = 10, init_channels: int = 16,
                 layers: int = 8, primitives: str | Sequence[str] | None = None,
                 partial_channels: int = 1) -> SearchNetwork:
    """The supernet of `space` (the DARTS convolutional space: cells of 4 nodes, every edge a mixture
    of `primitives`), with alphas apart from the weights. `partial_channels` K > 1 gives PC-DARTS."""
    if space not in SPACES:
        raise UserError(f"unknown search space {space!r}; the library API searches: {', '.join(SPACES)} "
                        f"(the recurrent space: train_search.py --dataset ptb)")
    if layers < 3:
        raise UserError("layers must be at least 3 (a reduction cell sits at 1/3 and 2/3 of the depth)")
    if init_channels < 2 or init_channels % 2:
        raise UserError(f"init_channels must be even (reduction cells split channels in two), got {init_channels}")
    if partial_channels < 1 or init_channels % partial_channels:
        raise UserError(f"partial_channels {partial_channels} must be at least 1 and divide init_channels "
                        f"{init_channels}")
    return SearchNetwork(init_channels, num_classes, layers, in_channels=in_channels,
                         primitives=check_primitives(primitives), partial_channels=partial_channels)


def search_streams(data: ImageDataset, batch_size: int, train_portion: float = 0.5, device="cpu", seed: int = 2,
                   cutout_length: int = 0, shard: tuple[int, int] = (0, 1),
                   channels_last: bool = False) -> tuple[BatchStream, BatchStream]:
    """(weight-training stream, alpha-training stream): the first `train_portion` of the training split
    trains the weights, the rest the alphas, as in the original code. `shard` = (rank, world size)."""
    if not 0 < train_portion < 1:
        raise UserError(f"--train_portion {train_portion} must be between 0 and 1 (exclusive)")
    n = len(data.train_x)
    split = int(n * train_portion)
    if split < 2 or n - split < 2:
        raise UserError(f"--train_portion {train_portion} leaves fewer than 2 examples in a split of {n}")
    return tuple(BatchStream(data.train_x[s], data.train_y[s], batch_size, data.mean, data.std, device,
                             data.augmentation, cutout_length, seed=seed * 1000 + i, shard=shard,
                             channels_last=channels_last)
                 for i, s in enumerate((slice(0, split), slice(split, n))))


@dataclass
class SearchResult:
    genotype: Genotype
    history: list[dict]  # one row per epoch: train/valid loss and accuracy, lr, seconds
    model: SearchNetwork  # the trained supernet (its alphas: model.alpha_summary())


def _config(cls, options: dict, **values):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(unknown)}; {cls.__name__} takes: {', '.join(sorted(known))}")
    return cls(**{**values, **options})


def search(data: Any, *, epochs: int = 50, batch_size: int = 64, init_channels: int = 16, layers: int = 8,
           primitives: str | Sequence[str] | None = None, train_portion: float = 0.5, cutout_length: int = 0,
           seed: int = 2, device: str | torch.device = "auto", save: str | Path | None = None,
           space: str = "darts_cnn", partial_channels: int = 1, **options) -> SearchResult:
    """Search a cell with DARTS on `data` (see the module docstring); the paper's CIFAR-10 settings are the
    defaults. `save` names a folder for log.txt, alphas.jsonl, genotype.json and checkpoint.pt;
    `partial_channels` K > 1 searches as PC-DARTS."""
    data = as_image_dataset(data)
    device = pick_device(str(device))
    seed_everything(seed)
    train_stream, alpha_stream = search_streams(data, batch_size, train_portion, device, seed, cutout_length)
    model = search_space(space, data.in_channels, data.num_classes, init_channels, layers, primitives,
                         partial_channels).to(device)
    config = _config(DartsSearchConfig, options, epochs=epochs)
    run = RunDir(save)
    try:
        searcher = DartsSearch(model, ImageClassification(), train_stream, alpha_stream, config, run)
        genotype = searcher.run()
    finally:
        run.close()
    return SearchResult(genotype, searcher.history, model)


# --- final network ------------------------------------------------------------------------------------
def _genotype(genotype: Genotype | dict | str | Path) -> Genotype:
    g = genotype if isinstance(genotype, Genotype) else (
        genotype_from_dict(genotype) if isinstance(genotype, dict) else load_genotype(genotype))
    if not isinstance(g, Genotype):
        raise UserError("build_network takes a convolutional genotype; this one is recurrent (darts_rnn)")
    return g.validate()


def build_network(genotype: Genotype | dict | str | Path, in_channels: int = 3, num_classes: int = 10,
                  init_channels: int = 36, layers: int = 20, auxiliary: bool = False) -> NetworkCIFAR:
    """The final network of `genotype` (a Genotype, its JSON dict, a cells/ name such as "DARTS_V2", or a
    genotype.json path): the paper's CIFAR network; its forward returns (logits, auxiliary logits or None)."""
    g = _genotype(genotype)
    return NetworkSpec(genotype=g.to_dict(), arch="custom", init_channels=init_channels, layers=layers,
                       num_classes=num_classes, in_channels=in_channels, auxiliary=auxiliary).build()


def network_spec(network: nn.Module, dataset: str = "custom") -> NetworkSpec:
    """The NetworkSpec that rebuilds `network` (a NetworkCIFAR), saved beside its weights."""
    if not isinstance(network, NetworkCIFAR):
        raise UserError(f"train takes a NetworkCIFAR (from build_network), got {type(network).__name__}")
    stem = network.stem[0]
    return NetworkSpec(genotype=network.genotype.to_dict(), arch="custom", init_channels=stem.out_channels // 3,
                       layers=network.layers, num_classes=network.classifier.out_features,
                       in_channels=stem.in_channels, auxiliary=network.auxiliary, dataset=dataset)


@dataclass
class TrainResult:
    network: NetworkCIFAR
    history: list[dict]  # one row per epoch: train/test loss and accuracy, lr, drop path probability
    test_acc: float  # after the last epoch
    best_test_acc: float


def train(network: NetworkCIFAR, data: Any, *, epochs: int = 600, batch_size: int = 96, cutout_length: int = 0,
          seed: int = 0, device: str | torch.device = "auto", save: str | Path | None = None,
          **options) -> TrainResult:
    """Train `network` from its current weights on the training split of `data` and test it each epoch
    on the test split (the paper's protocol: its CIFAR-10 settings are the defaults). With `save`, the
    folder gets weights.pt (evaluable by train_final.py --eval_only), history.jsonl and checkpoint.pt."""
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
    run = RunDir(save)
    try:
        trainer = FinalTraining(network, train_stream, test_stream, config, spec, run)
        final = trainer.run()
    finally:
        run.close()
    return TrainResult(network, trainer.history, final.get("test_acc", float("nan")), trainer.best_acc)


# --- diagrams -----------------------------------------------------------------------------------------
def render(genotype: Genotype | dict | str | Path, out_dir: str | Path, stem: str = "genotype",
           fmt: str = "png") -> list[Path]:
    """Draw the normal and reduction cells to OUT_DIR/STEM_normal.FMT and STEM_reduce.FMT (graphviz; a
    .dot source when the `dot` program is missing). Returns the files written."""
    from visualize import render_genotype
    return render_genotype(_genotype(genotype), out_dir, stem, fmt)
