"""Image datasets as uint8 tensors (N, C, H, W), read from their standard files without torchvision.

Every reader returns an `ImageDataset`: the whole split in memory, small enough for the datasets DARTS
searches on (CIFAR-10 is 180 MB as uint8), so batching and augmentation can run on the model's device.
"""
from __future__ import annotations

import gzip
import importlib
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from darts.data.download import fetch
from darts.errors import UserError
from darts.safe_pickle import load_restricted


@dataclass
class Augmentation:
    """Per-dataset training augmentation (applied batched, see darts.data.augment)."""
    crop_padding: int = 0
    flip: bool = False


@dataclass
class ImageDataset:
    name: str
    train_x: torch.Tensor  # uint8 (N, C, H, W)
    train_y: torch.Tensor  # int64 (N,)
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    mean: tuple  # per channel, in [0, 1] units
    std: tuple
    augmentation: Augmentation
    class_names: list[str] | None = None  # the user's own data: label i is class_names[i]

    @property
    def in_channels(self) -> int:
        return self.train_x.shape[1]

    @property
    def image_size(self) -> int:
        return self.train_x.shape[2]


# --- CIFAR -----------------------------------------------------------------------------------------
CIFAR = {
    "cifar10": dict(url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                    md5="c58f30108f718f92721af3b95e74349a", folder="cifar-10-batches-py",
                    train=[f"data_batch_{i}" for i in range(1, 6)], test=["test_batch"], label="labels",
                    classes=10, mean=(0.49139968, 0.48215827, 0.44653124), std=(0.24703233, 0.24348505, 0.26158768)),
    "cifar100": dict(url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                     md5="eb9058c3a382ffc7106e4002c42a8d85", folder="cifar-100-python",
                     train=["train"], test=["test"], label="fine_labels",
                     classes=100, mean=(0.5071, 0.4865, 0.4409), std=(0.2673, 0.2564, 0.2762)),
}


def _read_cifar_batch(path: Path, label_key: str):
    try:
        with open(path, "rb") as f:
            d = load_restricted(f, encoding="latin1")  # a crafted batch file could run code
        data = np.asarray(d["data"], dtype=np.uint8)
        labels = np.asarray(d[label_key], dtype=np.int64)
    except FileNotFoundError:
        raise
    except Exception as e:  # unpickling errors, missing keys, wrong shapes
        raise UserError(f"{path} is not a valid CIFAR python batch ({type(e).__name__}: {e}); "
                        f"delete it and download the dataset again") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise UserError(f"{path}: expected 'data' N x 3072 uint8 and N labels, got {data.shape} and {len(labels)}")
    return torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()), torch.from_numpy(labels)


def load_cifar(name: str, root: Path, download: bool = True) -> ImageDataset:
    spec = CIFAR[name]
    root = Path(root)
    folder = root / spec["folder"]
    if not folder.is_dir():
        if not download:
            raise UserError(f"{name} not found in {root}: put the extracted '{spec['folder']}' folder there "
                            f"(from {spec['url']})")
        archive = fetch(spec["url"], root / Path(spec["url"]).name, spec["md5"], name)
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")

    def read(files):
        parts = []
        for f in files:
            p = folder / f
            if not p.is_file():
                raise UserError(f"{name}: missing {p}; the folder is incomplete, delete it and download again")
            parts.append(_read_cifar_batch(p, spec["label"]))
        return torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])

    train_x, train_y = read(spec["train"])
    test_x, test_y = read(spec["test"])
    _check_labels(name, train_y, test_y, spec["classes"])
    return ImageDataset(name, train_x, train_y, test_x, test_y, spec["classes"], spec["mean"], spec["std"],
                        Augmentation(crop_padding=4, flip=True))


# --- Fashion-MNIST (IDX) -----------------------------------------------------------------------------
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_FILES = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed): magic, dims, then big-endian data."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
        if zero != 0 or dtype_code != 0x08:
            raise ValueError(f"magic {zero:#x}/{dtype_code:#x} is not an unsigned-byte IDX file")
        dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
        data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
        if data.size != int(np.prod(dims)):
            raise ValueError(f"header says {dims} but the file holds {data.size} bytes")
    except (OSError, EOFError, ValueError, struct.error) as e:
        raise UserError(f"{path} is not a valid IDX file ({e}); delete it and download it again") from None
    return data.reshape(dims)


def load_fashion_mnist(root: Path | None, download: bool = True) -> ImageDataset:
    root = Path(root) if root is not None else FASHION_DEFAULT_DIR
    for fname, md5 in FASHION_FILES.items():
        if not (root / fname).is_file():
            if not download:
                raise UserError(f"fashion-mnist: {root / fname} missing; install Debian's dataset-fashion-mnist "
                                f"or put the four IDX .gz files in --data")
            fetch(FASHION_URL + fname, root / fname, md5, "fashion-mnist")
    arrays = {k: read_idx(root / k) for k in FASHION_FILES}
    tx = torch.from_numpy(arrays["train-images-idx3-ubyte.gz"].copy()).unsqueeze(1)
    ty = torch.from_numpy(arrays["train-labels-idx1-ubyte.gz"].astype(np.int64))
    vx = torch.from_numpy(arrays["t10k-images-idx3-ubyte.gz"].copy()).unsqueeze(1)
    vy = torch.from_numpy(arrays["t10k-labels-idx1-ubyte.gz"].astype(np.int64))
    if len(tx) != len(ty) or len(vx) != len(vy):
        raise UserError(f"fashion-mnist in {root}: image and label counts differ; the files are corrupt")
    _check_labels("fashion-mnist", ty, vy, 10)
    return ImageDataset("fashion-mnist", tx, ty, vx, vy, 10, (0.2860,), (0.3530,),
                        Augmentation(crop_padding=2, flip=True))


# --- scikit-learn digits (the embedded offline default) -----------------------------------------------
def load_digits(root=None, download: bool = True, test_fraction: float = 0.2) -> ImageDataset:
    """1,797 8x8 digits shipped inside scikit-learn: searchable on any machine without a download.

    The last 20 % (a fixed split) is the test set; pixel values 0..16 are scaled to 0..255.
    """
    from sklearn.datasets import load_digits as sk_digits
    d = sk_digits()
    x = torch.from_numpy(np.round(d.images * (255.0 / 16.0)).astype(np.uint8)).unsqueeze(1)
    y = torch.from_numpy(d.target.astype(np.int64))
    n_test = int(round(len(x) * test_fraction))
    mean = float(x[:-n_test].float().mean() / 255)
    std = float(x[:-n_test].float().std() / 255)
    return ImageDataset("digits", x[:-n_test], y[:-n_test], x[-n_test:], y[-n_test:], 10, (mean,), (std,),
                        Augmentation(crop_padding=1, flip=False))


def _check_labels(name, train_y, test_y, classes):
    for split, y in (("train", train_y), ("test", test_y)):
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= classes):
            raise UserError(f"{name} {split} labels fall outside 0..{classes - 1}; the files are corrupt")


def _own_data_reader(module: str, function: str) -> Callable[..., ImageDataset]:
    """Readers of the user's own data live in their own modules, which import this one: load them on use."""
    def load(root, download: bool = True, **options) -> ImageDataset:
        return getattr(importlib.import_module(module), function)(root, **options)
    return load


LOADERS: dict[str, Callable[..., ImageDataset]] = {
    "cifar10": lambda root, download=True: load_cifar("cifar10", root, download),
    "cifar100": lambda root, download=True: load_cifar("cifar100", root, download),
    "fashion-mnist": load_fashion_mnist,
    "digits": load_digits,
    "folder": _own_data_reader("darts.data.folder", "load_image_folder"),
    "npz": _own_data_reader("darts.data.npz", "load_npz"),
}
# The user's own data: --data is required, reader options are passed through, the shape is read from it.
OWN_DATA = {"folder": "a folder of class subfolders of images", "npz": "a .npz file with arrays x and y"}

# Input shape of each dataset, known without reading it (for --summary).
INPUT_SHAPES = {"cifar10": (3, 32, 32, 10), "cifar100": (3, 32, 32, 100), "fashion-mnist": (1, 28, 28, 10),
                "digits": (1, 8, 8, 10)}


def load_image_dataset(name: str, root: str | Path | None = None, download: bool = True,
                       **options) -> ImageDataset:
    """Load a dataset by name. `root` is the --data folder (defaults: ./data; Debian's path for fashion-mnist).

    `options` go to the readers of the user's own data (folder: image_size, cache, strict, test_fraction;
    npz: test_fraction)."""
    if name not in LOADERS:
        raise UserError(f"unknown image dataset {name!r}; choose one of: {', '.join(LOADERS)}")
    if name in OWN_DATA:
        if root is None:
            raise UserError(f"--dataset {name} needs --data: {OWN_DATA[name]}")
        return LOADERS[name](Path(root), **options)
    if options:
        raise TypeError(f"{name} takes no reader options, got {sorted(options)}")
    if root is None and name in ("cifar10", "cifar100"):
        root = Path("data")
    return LOADERS[name](Path(root) if root is not None else None, download=download)


def image_input_shape(name: str, root: str | Path | None = None, **options) -> tuple[int, int, int, int]:
    """(channels, height, width, classes): known for the standard datasets; read from the user's own data
    (folder: class folders and image headers, or its cache; npz: array headers), which --data must name."""
    if name in INPUT_SHAPES:
        return INPUT_SHAPES[name]
    if name not in OWN_DATA:
        raise UserError(f"unknown image dataset {name!r}; choose one of: {', '.join(LOADERS)}")
    if root is None:
        raise UserError(f"--dataset {name} needs --data: {OWN_DATA[name]}")
    module = importlib.import_module(f"darts.data.{name}")
    return module.input_shape(Path(root), **options)
