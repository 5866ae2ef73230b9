"""The library call: score a network, or a genotype's final network, with zero-cost proxies on a minibatch.

    from darts.proxies import score
    score(genotype, dataset, ["synflow", "naswot", "params"], seed=0)   # {'synflow': ..., 'naswot': ..., ...}

`data` is an ImageDataset (the package's readers: a minibatch is drawn from its training split with the seed
and normalized with the dataset's mean and std), a pair (inputs, targets) of tensors used as given, or the inputs
alone for proxies that need no labels (`Proxy.needs_labels`). Each proxy
takes the first `batch_size` images of the minibatch, by default the batch its paper uses (64; NASWOT and ZiCo
128). A genotype's network is built by its space at the space's final size (or `space_options`) from the
seed, so a score is fixed by the genotype, the data and the seed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from darts.data.augment import normalize
from darts.data.images import ImageDataset
from darts.errors import UserError
from darts.proxies.registry import get_proxy, proxies as all_proxies
from darts.spaces.genotype_io import load_genotype
from darts.spaces.registry import DataShape, genotype_from_record, space_of


def minibatch(dataset: ImageDataset, size: int, seed: int = 0,
              portion: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """`size` images drawn without replacement (seeded) from the first `portion` of the training split,
    normalized with the dataset's mean and std; their labels."""
    pool = max(1, int(len(dataset.train_x) * portion))
    if size > pool:
        raise UserError(f"a minibatch of {size} images needs as many training images; the dataset has {pool}")
    idx = torch.randperm(pool, generator=torch.Generator().manual_seed(seed))[:size]
    c = dataset.in_channels
    x = normalize(dataset.train_x[idx], torch.tensor(dataset.mean).view(1, c, 1, 1),
                  torch.tensor(dataset.std).view(1, c, 1, 1))
    return x, dataset.train_y[idx].long()


def network_of(genotype: Any, shape: DataShape, seed: int = 0, space_options: dict | None = None) -> nn.Module:
    """The final network of `genotype` (an object, its JSON record, a shipped cell's name or a genotype.json
    path) built by its space from `seed`: the space's final-training size (its options' defaults where it has
    none) unless `space_options` says otherwise."""
    if isinstance(genotype, dict):
        genotype = genotype_from_record(genotype)
    elif isinstance(genotype, (str, Path)):
        genotype = load_genotype(genotype)
    space = space_of(genotype)
    own = {o.name for o in space.options}
    sizes = {k: v for k, v in space.final_recipe("custom").items() if k in own}
    opts = {**space.resolve({**sizes, **(space_options or {})}), "auxiliary": False}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return space.build_network(genotype, opts, shape)


def _data(data: Any, size: int, seed: int, num_classes: int | None):
    """(inputs, labels or None, classes or None) of the data given to `score`."""
    if isinstance(data, ImageDataset):
        x, y = minibatch(data, min(size, len(data.train_x)), seed)
        return x, y, num_classes or data.num_classes
    pair = isinstance(data, (tuple, list)) and len(data) == 2
    x = data[0] if pair else data
    if not torch.is_tensor(x) or x.dim() < 2:
        raise UserError(f"proxies score on an ImageDataset, an (inputs, labels) pair of tensors or the inputs alone "
                        f"(images: (N, C, H, W), normalized), got a {type(data).__name__}")
    x = x if x.is_floating_point() else x.float()
    y = torch.as_tensor(data[1]).long() if pair else None
    return x, y, num_classes or (int(y.max()) + 1 if y is not None else None)


def _check_needs(chosen, x: torch.Tensor, y, classes, genotype: bool) -> None:
    """Refuse, before any work, what the chosen proxies or the genotype's network need and the data lacks."""
    unlabeled = [p.name for p in chosen if p.needs_labels and y is None]
    if unlabeled:
        raise UserError(f"proxies {', '.join(unlabeled)} need labels: give (inputs, labels) or an ImageDataset")
    if genotype and (x.dim() != 4 or classes is None):
        raise UserError(f"a genotype's network needs images (N, C, H, W) and a number of classes (labels or "
                        f"num_classes=); got inputs of shape {tuple(x.shape)}")


def score(network: Any, data: Any, proxies: Sequence[str] | None = None, *, seed: int = 0,
          batch_size: int | None = None, loss_fn=None, num_classes: int | None = None,
          space_options: dict | None = None) -> dict[str, float]:
    """Proxy name -> score of `network` (an nn.Module, or a genotype whose final network is built from `seed`)
    on a minibatch of `data`; `proxies` default to every registered one. A proxy that is undefined on this
    network and batch (jacob_cov with a constant Jacobian) scores NaN."""
    chosen = [get_proxy(name) for name in (proxies if proxies is not None else all_proxies())]
    if batch_size is not None and batch_size < 2:
        raise UserError(f"batch_size must be at least 2 (batch norm and the kernels compare images), got {batch_size}")
    size = batch_size or max(p.batch_size for p in chosen)
    x, y, classes = _data(data, size, seed, num_classes)
    _check_needs(chosen, x, y, classes, not isinstance(network, nn.Module))
    if not isinstance(network, nn.Module):
        network = network_of(network, DataShape(x.shape[1], x.shape[2], x.shape[3], classes), seed, space_options)
    loss_fn = loss_fn or F.cross_entropy
    out = {}
    for proxy in chosen:
        n = batch_size or proxy.batch_size
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out[proxy.name] = proxy.compute(network, x[:n], None if y is None else y[:n], loss_fn)
    return out
