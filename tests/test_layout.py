"""One image-layout rule for arrays, npz files and torch Datasets (darts.data.arrays.image_layout)."""
import numpy as np
import pytest
import torch
from PIL import Image

from darts.data import load_image_dataset
from darts.data.arrays import arrays_to_dataset, image_layout, materialize
from darts.errors import UserError


@pytest.mark.parametrize("shape, channels_last, layout", [
    ((5, 8, 8), None, "NHW"),
    ((5, 3, 32, 32), None, "NCHW"),
    ((5, 32, 32, 3), None, "NHWC"),
    ((5, 1, 28, 28), None, "NCHW"),
    ((5, 28, 28, 4), None, "NHWC"),
    ((5, 3, 32, 3), True, "NHWC"),     # ambiguous shapes obey the flag
    ((5, 8, 8, 8), False, "NCHW"),
    ((5, 32, 32, 3), False, "NCHW"),   # the flag wins even over a clear shape
    ((5, 8, 8), True, "NHW"),
])
def test_image_layout(shape, channels_last, layout):
    assert image_layout(shape, channels_last) == layout


@pytest.mark.parametrize("shape", [(5, 3, 32, 3), (5, 8, 8, 8), (5, 1, 4, 4)])
def test_ambiguous_shapes_ask_for_channels_last(shape):
    with pytest.raises(UserError, match=r"channels_last=True or False") as e:
        image_layout(shape, what="my images")
    assert "\n" not in str(e.value) and str(shape) in str(e.value)


def test_other_ranks_are_refused():
    with pytest.raises(UserError, match=r"has shape \(5, 8\)"):
        image_layout((5, 8))


def images_and_labels(n=24, c=3, size=6):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, c, size, size), dtype=np.uint8), np.arange(n) % 3


def assert_same(a, b):
    for name in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert a.mean == b.mean and a.std == b.std


def test_both_array_layouts_give_the_same_dataset():
    x, y = images_and_labels()
    first = arrays_to_dataset("d", x, y)
    assert first.train_x.shape[1:] == (3, 6, 6)
    assert_same(first, arrays_to_dataset("d", x.transpose(0, 2, 3, 1), y))
    assert_same(first, arrays_to_dataset("d", torch.from_numpy(x.transpose(0, 2, 3, 1)), torch.from_numpy(y)))


def test_npz_files_of_either_layout_and_the_flag(tmp_path):
    x, y = images_and_labels()
    np.savez(tmp_path / "first.npz", x=x, y=y)
    np.savez(tmp_path / "last.npz", x=x.transpose(0, 2, 3, 1), y=y)
    first = load_image_dataset("npz", tmp_path / "first.npz")
    assert_same(first, load_image_dataset("npz", tmp_path / "last.npz"))
    square, _ = images_and_labels(c=4, size=4)  # (N, 4, 4, 4): only the file's flag can tell
    np.savez(tmp_path / "ambiguous.npz", x=square, y=y)
    with pytest.raises(UserError, match="channels_last"):
        load_image_dataset("npz", tmp_path / "ambiguous.npz")
    np.savez(tmp_path / "flagged.npz", x=square, y=y, channels_last=False)
    assert torch.equal(load_image_dataset("npz", tmp_path / "flagged.npz").test_x,
                       arrays_to_dataset("d", square, y, channels_last=False).test_x)
    np.savez(tmp_path / "bad_flag.npz", x=square, y=y, channels_last=np.array([1, 0]))
    with pytest.raises(UserError, match="must be a scalar True or False"):
        load_image_dataset("npz", tmp_path / "bad_flag.npz")


def test_datasets_of_either_layout_give_the_same_dataset():
    x, y = images_and_labels()
    first = arrays_to_dataset("d", x, y)
    chw = [(torch.from_numpy(img), int(t)) for img, t in zip(x, y)]
    hwc = [(img.transpose(1, 2, 0), int(t)) for img, t in zip(x, y)]
    pil = [(Image.fromarray(img.transpose(1, 2, 0)), int(t)) for img, t in zip(x, y)]
    for items in (chw, hwc, pil):
        assert_same(first, arrays_to_dataset("d", *materialize(items)))


def test_grayscale_images_without_a_channel_axis():
    x, y = images_and_labels(c=1)
    first = arrays_to_dataset("d", x, y)
    assert_same(first, arrays_to_dataset("d", x[:, 0], y))
    assert_same(first, arrays_to_dataset("d", *materialize([(Image.fromarray(i[0]), t) for i, t in zip(x, y)])))
