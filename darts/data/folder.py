"""The user's own images in class subfolders, decoded once with Pillow into a cached uint8 tensor file.

Layouts: DIR/train/<class>/... with DIR/test/<class>/... (or val/), or a single DIR/<class>/... tree of
which a stratified fraction is held out for testing (see darts.data.arrays). Every image is resized so
its shorter side is `image_size` and centre-cropped to a square; the dataset is grayscale when every
image is, else RGB. Unreadable images are reported by path and skipped (or, `strict`, an error), so a
bad file never stops a run mid-epoch.

The decoded images go to CACHE/folder-<hash of DIR>-<size>px.pt, written atomically. The file records
a hash of the image list with every file's size and modification time and the image size: adding,
removing or editing an image makes it stale, and it is rebuilt.
"""
from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from darts.checkpoint import save_checkpoint
from darts.data.arrays import make_image_dataset
from darts.data.images import ImageDataset
from darts.errors import UserError
from darts.progress import Progress

log = logging.getLogger("darts")

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
TEST_FOLDERS = ("test", "val")
CACHE_FORMAT = "darts-image-folder-cache-1"
SHOWN_SKIPPED = 20  # paths listed in the warning; the count covers all


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "darts"


@dataclass
class FolderListing:
    root: Path
    classes: list[str]
    files: list[tuple[str, int, bool]]  # (path relative to root, label, in the test split)
    has_test_split: bool
    ignored: int  # files that are not images by their suffix

    def key(self, image_size: int) -> str:
        """Hash of what the decoded images depend on: each file's path, size and mtime, and the image size."""
        h = hashlib.sha256(f"{CACHE_FORMAT} {image_size}\n".encode())
        for rel, label, test in self.files:
            try:
                st = (self.root / rel).stat()
                size, mtime = st.st_size, st.st_mtime_ns
            except OSError:  # a dangling link or a file gone: decoding reports and skips it
                size, mtime = -1, 0
            h.update(f"{rel}\0{label}\0{int(test)}\0{size}\0{mtime}\n".encode())
        return h.hexdigest()


def _visible_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _class_files(folder: Path) -> tuple[list[Path], int]:
    images, ignored = [], 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if Path(name).suffix.lower() in IMAGE_SUFFIXES:
                images.append(Path(dirpath) / name)
            else:
                ignored += 1
    return images, ignored


def scan_folder(root: str | Path) -> FolderListing:
    """The class names and image files of DIR, in a fixed order, with their split; checked before decoding."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"--data {root} is not a folder; give a folder of class subfolders of images "
                        f"(DIR/<class>/*.png, or DIR/train/<class>/... and DIR/test/<class>/...)")
    train_dir = root / "train" if (root / "train").is_dir() else root
    test_dir = next((root / t for t in TEST_FOLDERS if (root / t).is_dir()), None) if train_dir != root else None
    classes = [p.name for p in _visible_dirs(train_dir)]
    if not classes:
        raise UserError(f"{train_dir} has no class subfolders; put each class's images in a folder of its own: "
                        f"{train_dir}/<class>/<image>.png")
    if len(classes) < 2:
        raise UserError(f"{train_dir} has a single class folder ({classes[0]}); classification needs at least 2")
    label = {c: i for i, c in enumerate(classes)}
    files, ignored = [], 0
    splits = [(train_dir, False)] + ([(test_dir, True)] if test_dir is not None else [])
    for split_dir, is_test in splits:
        for class_dir in _visible_dirs(split_dir):
            if class_dir.name not in label:
                raise UserError(f"{class_dir} is a class that {train_dir} does not have; the test folders must "
                                f"be among the training classes ({', '.join(classes[:5])}...)")
            images, n_ignored = _class_files(class_dir)
            ignored += n_ignored
            if not images and not is_test:
                raise UserError(f"class folder {class_dir} holds no images "
                                f"({', '.join(sorted(IMAGE_SUFFIXES))}); remove it or add images")
            files += [(p.relative_to(root).as_posix(), label[class_dir.name], is_test) for p in images]
    return FolderListing(root, classes, files, test_dir is not None, ignored)


def decode_image(path: Path, image_size: int) -> tuple[np.ndarray, bool]:
    """(uint8 array (image_size, image_size, 3), grayscale?): shorter side resized to image_size, centre crop."""
    from PIL import Image, ImageOps
    with Image.open(path) as im:
        gray = im.mode in GRAY_MODES
        im.draft("L" if gray else "RGB", (image_size, image_size))  # JPEG: decode at a reduced scale
        im = ImageOps.exif_transpose(im).convert("L" if gray else "RGB")
        im = ImageOps.fit(im, (image_size, image_size), Image.Resampling.BICUBIC)
        a = np.asarray(im)
    return (a[:, :, None] if gray else a), gray


def _decode_all(listing: FolderListing, image_size: int, workers: int | None) -> dict:
    from PIL import Image
    n = len(listing.files)
    pixels = np.zeros((n, image_size, image_size, 3), dtype=np.uint8)
    gray = np.zeros(n, dtype=bool)
    ok = np.zeros(n, dtype=bool)
    skipped: list[tuple[str, str]] = []
    errors = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)

    def one(i: int):
        try:
            return i, decode_image(listing.root / listing.files[i][0], image_size), None
        except errors as e:
            return i, None, f"{type(e).__name__}: {e}"

    bar = Progress(n, f"decoding {n} images of {listing.root}", report_freq=max(500, n // 10), unit="image")
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:  # Pillow decodes outside the GIL
        for i, decoded, error in pool.map(one, range(n)):
            if error is None:
                pixels[i], gray[i], ok[i] = decoded[0], decoded[1], True
            else:
                skipped.append((listing.files[i][0], error))
            bar.update()
    bar.close()
    all_gray = bool(gray[ok].all()) if ok.any() else False
    x = torch.from_numpy(pixels[ok][..., :1] if all_gray else pixels[ok]).permute(0, 3, 1, 2).contiguous()
    kept = [f for f, good in zip(listing.files, ok) if good]
    return {"format": CACHE_FORMAT, "root": str(listing.root.resolve()), "classes": listing.classes,
            "images": x, "labels": torch.tensor([f[1] for f in kept], dtype=torch.int64),
            "is_test": torch.tensor([f[2] for f in kept], dtype=torch.bool), "skipped": skipped}


def cache_path(cache_dir: Path, root: Path, image_size: int) -> Path:
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return cache_dir / f"folder-{root.resolve().name}-{digest}-{image_size}px.pt"


def _read_cache(path: Path, key: str) -> dict | None:
    if not path.is_file():
        return None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a truncated or foreign file: rebuild it
        log.warning("image cache %s is unreadable (%s); decoding the images again", path, type(e).__name__)
        return None
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or data.get("key") != key:
        log.info("image cache %s is stale (images added, removed or changed); decoding again", path)
        return None
    return data


def _write_cache(path: Path, data: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(path, data)  # atomic: temporary file, then rename
    except OSError as e:
        log.warning("cannot write the image cache %s (%s); the images will be decoded again next time; "
                    "choose a writable --cache folder", path, e.strerror or e)
        return
    log.info("cached the decoded images in %s", path)


def decoded_folder(root: str | Path, image_size: int = 32, cache: str | Path | None | bool = None,
                   workers: int | None = None) -> dict:
    """The decoded images of DIR (from the cache when it is current). cache: a folder (None: the default,
    ~/.cache/darts), or False to decode without caching."""
    if image_size < 1:
        raise UserError(f"--image_size must be at least 1, got {image_size}")
    listing = scan_folder(root)
    if listing.ignored:
        log.info("%s: ignored %d files that are not images (%s)", root, listing.ignored,
                 ", ".join(sorted(IMAGE_SUFFIXES)))
    key = listing.key(image_size)
    path = None
    if cache is not False:
        path = cache_path(Path(cache) if cache not in (None, True) else default_cache_dir(), listing.root, image_size)
        data = _read_cache(path, key)
        if data is not None:
            log.info("read %d decoded images from the cache %s", len(data["labels"]), path)
            return data
    data = _decode_all(listing, image_size, workers)
    data["key"] = key
    data["has_test_split"] = listing.has_test_split
    if path is not None:
        _write_cache(path, data)
    return data


def report_skipped(root, skipped: list, strict: bool) -> None:
    if not skipped:
        return
    first = f"{Path(root) / skipped[0][0]} ({skipped[0][1]})"
    if strict:
        raise UserError(f"{len(skipped)} unreadable image(s) in {root}, first {first}; remove or fix them, "
                        f"or leave out --strict to skip them")
    log.warning("skipped %d unreadable image(s) in %s (--strict makes this an error):", len(skipped), root)
    for rel, reason in skipped[:SHOWN_SKIPPED]:
        log.warning("  %s: %s", Path(root) / rel, reason)
    if len(skipped) > SHOWN_SKIPPED:
        log.warning("  ... and %d more", len(skipped) - SHOWN_SKIPPED)


def load_image_folder(root: str | Path, image_size: int = 32, cache: str | Path | None | bool = None,
                      strict: bool = False, test_fraction: float = 0.2, workers: int | None = None,
                      flip: bool = True) -> ImageDataset:
    """An ImageDataset of the images under DIR (see the module docstring for layouts, cache and errors)."""
    data = decoded_folder(root, image_size, cache, workers)
    report_skipped(root, data["skipped"], strict)
    x, y, is_test = data["images"], data["labels"], data["is_test"]
    if not (~is_test).any():
        raise UserError(f"no readable training images in {root}")
    name = "folder"  # the --dataset name: a saved network records it, and train_final.py --eval_only reads it
    if data["has_test_split"]:
        if not is_test.any():
            raise UserError(f"no readable test images in {root}; the test folder needs images of each class")
        ds = make_image_dataset(name, x[~is_test], y[~is_test], x[is_test], y[is_test],
                                class_names=data["classes"], flip=flip, source=str(root))
    else:
        ds = make_image_dataset(name, x, y, test_fraction=test_fraction, class_names=data["classes"], flip=flip,
                                source=str(root))
    log.info("%s: %d training and %d test images of %d classes, %dx%dx%d", root, len(ds.train_x), len(ds.test_x),
             ds.num_classes, ds.in_channels, image_size, image_size)
    return ds


def input_shape(root: Path, image_size: int = 32, cache: str | Path | None | bool = None,
                **_reader_options) -> tuple[int, int, int, int]:
    """(channels, image_size, image_size, classes) without decoding: from a current cache, or from the
    image headers (grayscale only when every image's mode is)."""
    from PIL import Image
    listing = scan_folder(root)
    if cache is not False:
        path = cache_path(Path(cache) if cache not in (None, True) else default_cache_dir(), listing.root, image_size)
        data = _read_cache(path, listing.key(image_size))
        if data is not None:
            return data["images"].shape[1], image_size, image_size, len(listing.classes)
    channels = 1
    for rel, _, _ in listing.files:
        try:
            with Image.open(listing.root / rel) as im:
                if im.mode not in GRAY_MODES:
                    channels = 3
                    break
        except (OSError, ValueError, SyntaxError, EOFError):
            continue
    return channels, image_size, image_size, len(listing.classes)
