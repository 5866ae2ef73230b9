"""Turning the user's own arrays into an `ImageDataset`: checks, held-out split, statistics, augmentation.

Shared by the image-folder and npz readers and by the library API (tensors or any torch Dataset), so
every way of bringing data gets the same checks and the same conventions:
- one layout rule for every route (`image_layout`): (N, H, W) is grayscale; (N, C, H, W) or (N, H, W, C)
  is read from which axis holds 1, 3 or 4 channels, or from `channels_last` when the shape cannot tell;
- images become uint8 (N, C, H, W); float images must be in [0, 1] (scaled by 255) or [0, 255];
- labels are integers 0..K-1;
- without a test split, a stratified `test_fraction` of each class is held out with a fixed seed, so a
  search and a later retraining hold out the same images;
- the training examples are put in a fixed shuffled order: train_search.py splits them by position
  (`--train_portion`) into weight- and alpha-training halves, which must not be split by class;
- mean and std come from the training split; crop padding is image_size / 8 (4 on 32x32), flip on.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import torch

from darts.data.images import Augmentation, ImageDataset
from darts.errors import UserError

SPLIT_SEED = 0  # fixed: the held-out split and the training order must not depend on --seed
CHANNEL_COUNTS = (1, 3, 4)  # grayscale, RGB, RGBA: the only channel counts the layout rule recognises


def image_layout(shape: Sequence[int], channels_last: bool | None = None, what: str = "images") -> str:
    """The layout of a batch of images, one rule for every route (arrays, npz files, Datasets):
    "NHW" (grayscale) for 3-D; for 4-D, `channels_last` if given, else "NCHW" when only dim 1 is a channel
    count (1, 3 or 4) and "NHWC" when only dim 3 is; an ambiguous shape is a UserError, not a guess."""
    shape = tuple(shape)
    if len(shape) == 3:
        return "NHW"
    if len(shape) != 4:
        raise UserError(f"{what} has shape {shape}; images must be (N, H, W), (N, C, H, W) or (N, H, W, C)")
    if channels_last is not None:
        return "NHWC" if channels_last else "NCHW"
    first, last = shape[1] in CHANNEL_COUNTS, shape[3] in CHANNEL_COUNTS
    if first != last:
        return "NCHW" if first else "NHWC"
    raise UserError(f"{what} has shape {shape}: channels-first (N, C, H, W) or channels-last (N, H, W, C)? "
                    f"say which with channels_last=True or False (in a .npz file: a channels_last array, "
                    f"numpy.savez(path, x=..., y=..., channels_last=True))")


def to_uint8_images(x: Any, channels_last: bool | None, what: str) -> torch.Tensor:
    """(N, H, W), (N, C, H, W) or (N, H, W, C) (see `image_layout`), uint8 or float -> uint8 (N, C, H, W)."""
    x = torch.as_tensor(np.asarray(x) if not torch.is_tensor(x) else x)
    layout = image_layout(x.shape, channels_last, what)
    if layout == "NHW":
        x = x.unsqueeze(1)
    elif layout == "NHWC":
        x = x.permute(0, 3, 1, 2)
    if x.shape[0] == 0 or min(x.shape[2:]) < 1:
        raise UserError(f"{what} has shape {tuple(x.shape)}: no images")
    if x.dtype == torch.uint8:
        return x.contiguous()
    if x.dtype == torch.bool or x.is_complex():
        raise UserError(f"{what} has dtype {x.dtype}; images must be uint8, or float in [0, 1] or [0, 255]")
    was_float = x.is_floating_point()
    x = x.double() if x.dtype == torch.float64 else x.float()
    if not torch.isfinite(x).all():
        raise UserError(f"{what} contains NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 255:
        raise UserError(f"{what} holds values in [{lo:g}, {hi:g}]; give raw images, uint8 or float in [0, 1] "
                        f"or [0, 255] (they are normalized with the training split's mean and std)")
    if was_float and hi <= 1.0:
        x = x * 255.0
    return x.round().to(torch.uint8).contiguous()


def to_labels(y: Any, n: int, what: str) -> torch.Tensor:
    """Integer class labels (N,) -> int64, checked against the image count and for negatives."""
    y = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y)
    if y.dim() == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dim() != 1:
        raise UserError(f"{what} has shape {tuple(y.shape)}; labels must be one class index per image, (N,)")
    if len(y) != n:
        raise UserError(f"{what} holds {len(y)} labels for {n} images; give one label per image")
    if y.is_floating_point():
        if not torch.isfinite(y).all() or not torch.equal(y, y.round()):
            raise UserError(f"{what} holds non-integer values; labels must be class indices 0..K-1")
    elif y.dtype == torch.bool or y.is_complex():
        raise UserError(f"{what} has dtype {y.dtype}; labels must be integer class indices 0..K-1")
    y = y.long()
    if len(y) and int(y.min()) < 0:
        raise UserError(f"{what} holds a negative label ({int(y.min())}); labels must be class indices 0..K-1")
    return y


def holdout_split(y: torch.Tensor, fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, test indices): `fraction` of each class (rounded) held out, with a fixed seed."""
    if not 0 < fraction < 1:
        raise UserError(f"the held-out test fraction must be between 0 and 1 (exclusive), got {fraction}")
    gen = torch.Generator().manual_seed(SPLIT_SEED)
    train, test = [], []
    for c in torch.unique(y).tolist():
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        k = int(round(len(idx) * fraction))
        test.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


def channel_stats(x: torch.Tensor, chunk: int = 4096) -> tuple[tuple, tuple]:
    """Per-channel mean and std of uint8 images in [0, 1] units, in chunks (no float copy of the split)."""
    c = x.shape[1]
    total = torch.zeros(c, dtype=torch.float64)
    squares = torch.zeros(c, dtype=torch.float64)
    for start in range(0, len(x), chunk):
        part = x[start:start + chunk].to(torch.float64).div_(255.0)
        total += part.sum(dim=(0, 2, 3))
        squares += part.square().sum(dim=(0, 2, 3))
    n = x.numel() // c
    mean = total / n
    std = (squares / n - mean.square()).clamp_min(0).sqrt().clamp_min(1e-3)  # constant images: no 0-division
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def default_augmentation(height: int, width: int, flip: bool = True) -> Augmentation:
    """Crop padding of 1/8 of the image side (CIFAR's 4 pixels on 32x32), horizontal flips."""
    return Augmentation(crop_padding=max(1, min(height, width) // 8), flip=flip)


def make_image_dataset(name: str, train_x: torch.Tensor, train_y: torch.Tensor,
                       test_x: torch.Tensor | None = None, test_y: torch.Tensor | None = None,
                       test_fraction: float = 0.2, class_names: Sequence[str] | None = None,
                       num_classes: int | None = None, flip: bool = True, source: str | None = None) -> ImageDataset:
    """An ImageDataset from checked uint8 images and int64 labels, as the module docstring describes.
    `name` is the dataset's name (a --dataset value); errors name `source` (a path), default `name`."""
    where = source or name
    if test_x is None:
        train_idx, test_idx = holdout_split(train_y, test_fraction)
        train_x, train_y, test_x, test_y = train_x[train_idx], train_y[train_idx], train_x[test_idx], train_y[test_idx]
    if train_x.shape[1:] != test_x.shape[1:]:
        raise UserError(f"{where}: training images are {tuple(train_x.shape[1:])} but test images "
                        f"{tuple(test_x.shape[1:])} (C, H, W); both splits need the same shape")
    seen = int(train_y.max()) + 1
    images = len(train_y) + len(test_y)
    if num_classes is None and class_names is None and seen > images:  # the classifier would be sized by it
        raise UserError(f"{where}: labels run up to {seen - 1}, but there are only {images} images; number the "
                        f"classes 0..K-1 (each class with images)")
    if num_classes is None:
        num_classes = len(class_names) if class_names is not None else seen
    if seen > num_classes or (len(test_y) and int(test_y.max()) >= num_classes):
        top = max(seen - 1, int(test_y.max()) if len(test_y) else 0)
        raise UserError(f"{where}: a label ({top}) falls outside the {num_classes} classes 0..{num_classes - 1}")
    if num_classes < 2:
        raise UserError(f"{where}: the training split has a single class; classification needs at least 2")
    if len(train_x) < 2:
        raise UserError(f"{where}: the training split has {len(train_x)} image(s); it needs at least 2")
    order = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(SPLIT_SEED))
    train_x, train_y = train_x[order], train_y[order]
    mean, std = channel_stats(train_x)
    return ImageDataset(name, train_x, train_y, test_x, test_y, num_classes, mean, std,
                        default_augmentation(train_x.shape[2], train_x.shape[3], flip),
                        class_names=list(class_names) if class_names is not None else None)


def arrays_to_dataset(name: str, x: Any, y: Any, x_test: Any = None, y_test: Any = None,
                      channels_last: bool | None = None, test_fraction: float = 0.2, num_classes: int | None = None,
                      array_names: Sequence[str] = ("images", "labels", "test images", "test labels"),
                      source: str | None = None) -> ImageDataset:
    """Check and convert image and label arrays (numpy or torch) into an ImageDataset; the layout follows
    `image_layout` (`channels_last` None: read from the shape); errors call the arrays `source`
    (default `name`) + `array_names` (e.g. "data.npz array x")."""
    where = source or name
    what = [f"{where} {a}" for a in array_names]
    if (x_test is None) != (y_test is None):
        raise UserError(f"{where}: give both {array_names[2]} and {array_names[3]}, or neither "
                        f"(a fraction of the training images is then held out)")
    train_x = to_uint8_images(x, channels_last, what[0])
    train_y = to_labels(y, len(train_x), what[1])
    test_x = test_y = None
    if x_test is not None:
        test_x = to_uint8_images(x_test, channels_last, what[2])
        test_y = to_labels(y_test, len(test_x), what[3])
    return make_image_dataset(name, train_x, train_y, test_x, test_y, test_fraction, num_classes=num_classes,
                              source=source)


def materialize(dataset: Iterable, what: str = "dataset") -> tuple[torch.Tensor, torch.Tensor]:
    """Every (image, label) pair of a map-style or iterable torch Dataset, stacked once into tensors:
    images as given ((N, H, W), or 4-D in either layout); labels unchecked. Pass both through `to_uint8_images`
    (whose `image_layout` tells (C, H, W) from (H, W, C) images, the same rule as for arrays) and `to_labels`.

    Images may be torch tensors, numpy arrays or PIL images (which become (H, W[, C]) arrays).
    """
    images, labels = [], []
    for i, item in enumerate(dataset):
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise UserError(f"{what} item {i} is a {type(item).__name__}; a dataset must yield (image, label) pairs")
        image, label = item
        t = image if torch.is_tensor(image) else torch.from_numpy(np.array(image))  # PIL: a writable copy
        if images and t.shape != images[0].shape:
            raise UserError(f"{what} item {i} has shape {tuple(t.shape)} but item 0 {tuple(images[0].shape)}; "
                            f"resize the images to one size first")
        images.append(t)
        labels.append(label.item() if torch.is_tensor(label) else label)
    if not images:
        raise UserError(f"{what} is empty")
    if not all(t.dtype == torch.uint8 for t in images):
        images = [t.float() for t in images]
    return torch.stack(images), torch.as_tensor(np.asarray(labels))
