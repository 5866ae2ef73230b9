"""The user's own images as numpy arrays in one .npz file (numpy.savez).

Arrays: `x` (N, H, W), (N, H, W, C) or (N, C, H, W), uint8 or float in [0, 1] or [0, 255]; `y` (N,) integer
labels 0..K-1; optionally `x_test` and `y_test`, else a stratified fraction of x is held out for testing;
optionally a scalar `channels_last` (True / False) where the shape cannot tell the layout (darts.data.arrays.
image_layout: the axis holding 1, 3 or 4 channels tells it otherwise).
Shapes, dtypes and label ranges are checked with a message that names the array (darts.data.arrays).
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from darts.data.arrays import arrays_to_dataset
from darts.data.images import ImageDataset
from darts.errors import UserError

REQUIRED = ("x", "y")
OPTIONAL = ("x_test", "y_test")
LAYOUT = "channels_last"


def _open(path: Path):
    if not path.is_file():
        raise UserError(f"--data {path} is not a file; give a .npz file written by numpy.savez(path, x=..., y=...)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:  # EOFError: an empty file
        raise UserError(f"{path} is not a .npz file ({e or 'empty'}); write one with numpy.savez(path, x=..., y=...)") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise UserError(f"{path} holds a single array, not a .npz archive; write one with "
                        f"numpy.savez(path, x=images, y=labels)")
    missing = [k for k in REQUIRED if k not in archive.files]
    if missing:
        raise UserError(f"{path} has arrays {archive.files} but no {' or '.join(missing)}; name the images x and "
                        f"the labels y (optionally x_test and y_test): numpy.savez(path, x=..., y=...)")
    return archive


def _array(archive, path: Path, key: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as e:  # object arrays need pickle, which is refused for safety
        if "pickle" not in str(e).lower():
            raise UserError(f"{path}: array {key!r} cannot be read ({e}); the file is damaged") from None
        raise UserError(f"{path}: array {key!r} is an object array; save plain numeric arrays "
                        f"(numpy.stack the images into one uint8 or float array)") from None
    except (zipfile.BadZipFile, OSError, EOFError) as e:  # a damaged member (bad CRC, truncated)
        raise UserError(f"{path}: array {key!r} cannot be read ({e}); the file is damaged") from None


def _channels_last(archive, path: Path) -> bool | None:
    """The file's optional scalar `channels_last` flag; None (absent): the shape tells the layout."""
    if LAYOUT not in archive.files:
        return None
    flag = _array(archive, path, LAYOUT)
    if flag.shape != () or flag.dtype.kind not in "biu" or int(flag) not in (0, 1):
        raise UserError(f"{path}: array {LAYOUT!r} must be a scalar True or False, got {flag.dtype} "
                        f"{flag.shape}; save it as numpy.savez(path, ..., channels_last=True)")
    return bool(flag)


def load_npz(path: str | Path, test_fraction: float = 0.2) -> ImageDataset:
    path = Path(path)
    with _open(path) as archive:
        arrays = {k: _array(archive, path, k) for k in REQUIRED + OPTIONAL if k in archive.files}
        channels_last = _channels_last(archive, path)
    return arrays_to_dataset("npz", arrays["x"], arrays["y"], arrays.get("x_test"), arrays.get("y_test"),
                             channels_last=channels_last, test_fraction=test_fraction,
                             array_names=("array x", "array y", "array x_test", "array y_test"), source=str(path))


def input_shape(path: Path, **_reader_options) -> tuple[int, int, int, int]:
    """(channels, height, width, classes), reading the arrays (labels are needed to count the classes)."""
    ds = load_npz(path, **{k: v for k, v in _reader_options.items() if k == "test_fraction"})
    return ds.in_channels, ds.train_x.shape[2], ds.train_x.shape[3], ds.num_classes
