"""ImageNet in the usual folder layout (train/ and val/, one subfolder of JPEGs per class).

JPEG decoding and the paper's augmentation (random resized crop, flip, colour jitter; resize 256 and
centre crop 224 for evaluation) run in DataLoader workers through torchvision, an optional extra
imported only here and only when ImageNet data is read: the network and `--summary` never need it.
Batches are produced with the same interface as `BatchStream`, so the training loop is shared.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import torch

from darts.errors import UserError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# (channels, height, width, classes) of the mobile setting, known without reading any data
IMAGENET_INPUT_SHAPE = (3, 224, 224, 1000)


def _torchvision():
    try:
        import torchvision
    except ImportError:
        raise UserError("reading ImageNet JPEGs needs torchvision, an optional extra: pip install torchvision "
                        "(the release built for your torch version); the network and --summary work without it"
                        ) from None
    return torchvision


def imagenet_folders(root: str | Path) -> tuple[Path, Path, list[str]]:
    """(train folder, val folder, class names), checked before anything is decoded."""
    root = Path(root)
    train, val = root / "train", root / "val"
    for split in (train, val):
        if not split.is_dir():
            raise UserError(f"ImageNet: {split} is not a folder; --data must hold train/ and val/, "
                            f"each with one subfolder of images per class")
    classes = sorted(p.name for p in train.iterdir() if p.is_dir())
    if not classes:
        raise UserError(f"ImageNet: {train} has no class subfolders (expected train/<class>/<image>.JPEG)")
    val_classes = sorted(p.name for p in val.iterdir() if p.is_dir())
    if val_classes != classes:
        missing = sorted(set(classes) ^ set(val_classes))[:3]
        raise UserError(f"ImageNet: train/ and val/ have different class folders (e.g. {', '.join(missing)}); "
                        f"val/ must be sorted into the same class subfolders")
    return train, val, classes


class ImageFolderStream:
    """Batches of one ImageNet split on `device`; a CPU generator fixes the shuffle order and the
    workers' random seeds, so its state resumes a run exactly at an epoch boundary."""

    def __init__(self, folder: str | Path, batch_size: int, device: torch.device | str, train: bool,
                 seed: int = 0, workers: int = 4):
        tv = _torchvision()
        T = tv.transforms
        normalize = T.Normalize(IMAGENET_MEAN, IMAGENET_STD)
        if train:
            transform = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
                                   T.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.2),
                                   T.ToTensor(), normalize])
        else:
            transform = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), normalize])
        self.dataset = tv.datasets.ImageFolder(str(folder), transform)
        if len(self.dataset) == 0:
            raise UserError(f"ImageNet: no images found under {folder}")
        self.classes = list(self.dataset.classes)
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.train = train
        self.workers = workers
        self.generator = torch.Generator().manual_seed(seed)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full + (1 if rest > 1 else 0)

    def batches_per_epoch(self, max_batches: int | None = None) -> int:
        return len(self) if max_batches is None else min(len(self), max_batches)

    def _batches(self, shuffle: bool, max_batches: int | None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        loader = torch.utils.data.DataLoader(
            self.dataset, batch_size=self.batch_size, shuffle=shuffle,
            generator=self.generator if shuffle else None, num_workers=self.workers,
            pin_memory=self.device.type == "cuda")
        for i, (x, y) in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            if len(y) < 2 and shuffle:  # BatchNorm cannot train on a single example
                continue
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def epoch(self, max_batches: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One augmented pass in a fresh random order."""
        return self._batches(True, max_batches)

    def evaluation_batches(self, max_batches: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One pass in folder order with the evaluation transform of the split."""
        return self._batches(False, max_batches)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
