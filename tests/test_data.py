"""Dataset readers on files written by the tests, batched augmentation, exact stream state."""
import gzip
import pickle
import struct

import numpy as np
import pytest
import torch

from darts.data import BatchStream, load_image_dataset
from darts.data.augment import cutout, random_crop, random_flip
from darts.data.images import Augmentation, read_idx
from darts.errors import UserError


def write_cifar10(root, n=20, corrupt=False):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": list(rng.integers(0, 10, n))}
        with open(folder / name, "wb") as f:
            if corrupt and name == "data_batch_3":
                f.write(b"not a pickle")
            else:
                pickle.dump(d, f)
    return folder


def test_cifar10_reader(tmp_path):
    folder = write_cifar10(tmp_path)
    d = load_image_dataset("cifar10", tmp_path, download=False)
    assert d.train_x.shape == (100, 3, 32, 32) and d.test_x.shape == (20, 3, 32, 32)
    assert d.train_x.dtype == torch.uint8 and d.num_classes == 10
    raw = pickle.load(open(folder / "data_batch_1", "rb"))
    # channel-major layout: the first 1024 bytes are the red plane of image 0
    assert torch.equal(d.train_x[0, 0].flatten(), torch.from_numpy(raw["data"][0, :1024]))
    assert d.train_y[:20].tolist() == [int(v) for v in raw["labels"]]


def test_cifar_corrupt_and_missing(tmp_path):
    write_cifar10(tmp_path / "bad", corrupt=True)
    with pytest.raises(UserError, match="data_batch_3 is not a valid CIFAR"):
        load_image_dataset("cifar10", tmp_path / "bad", download=False)
    with pytest.raises(UserError, match="put the extracted 'cifar-10-batches-py' folder"):
        load_image_dataset("cifar10", tmp_path / "empty", download=False)


def test_idx_reader(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    p = tmp_path / "x-idx3-ubyte.gz"
    with gzip.open(p, "wb") as f:
        f.write(struct.pack(">HBB", 0, 8, 3) + struct.pack(">III", 2, 3, 4) + arr.tobytes())
    assert np.array_equal(read_idx(p), arr)
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(struct.pack(">HBB", 0, 8, 3) + struct.pack(">III", 2, 3, 5) + arr.tobytes())
    with pytest.raises(UserError, match="header says"):
        read_idx(bad)


def test_digits_is_embedded():
    d = load_image_dataset("digits")
    assert d.train_x.shape[1:] == (1, 8, 8) and len(d.train_x) + len(d.test_x) == 1797
    assert int(d.train_x.max()) == 255


def test_random_crop_is_a_shifted_window():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 1 * 5 * 5, dtype=torch.float32).view(2, 1, 5, 5) + 1
    out = random_crop(x, 2, g)
    g2 = torch.Generator().manual_seed(0)
    dy, dx = torch.randint(0, 5, (2, 2), generator=g2)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for n in range(2):
        assert torch.equal(out[n], padded[n, :, dy[n]:dy[n] + 5, dx[n]:dx[n] + 5])


def test_flip_and_cutout():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 2, 6, 6)
    f = random_flip(x, g)
    flipped = [(f[i] == x[i].flip(2)).all().item() for i in range(64)]
    kept = [(f[i] == x[i]).all().item() for i in range(64)]
    assert all(a or b for a, b in zip(flipped, kept)) and 10 < sum(flipped) < 54
    c = cutout(torch.ones(16, 1, 10, 10), 4, g)
    zeros = (c == 0).sum(dim=(1, 2, 3))
    assert zeros.max() == 16 and zeros.min() >= 4  # 4x4 squares, clipped at the border


def test_stream_state_resumes_exactly():
    x = torch.randint(0, 256, (50, 1, 8, 8), dtype=torch.uint8)
    y = torch.randint(0, 10, (50,))
    make = lambda: BatchStream(x, y, 8, (0.5,), (0.25,), augmentation=Augmentation(1, True), cutout_length=2, seed=3)
    a = make()
    list(a.epoch())
    a.next(); a.next()
    state = a.state_dict()
    expected = [a.next() for _ in range(9)]
    b = make()
    b.load_state_dict(state)
    for (xe, ye), (xg, yg) in zip(expected, [b.next() for _ in range(9)]):
        assert torch.equal(xe, xg) and torch.equal(ye, yg)


def test_stream_covers_every_example_once_per_epoch():
    x = torch.arange(22, dtype=torch.uint8).view(22, 1, 1, 1)
    s = BatchStream(x, torch.arange(22), 4, (0.0,), (1.0,), seed=0)
    ys = torch.cat([y for _, y in s.epoch()])
    assert sorted(ys.tolist()) == list(range(22)) and len(s) == 6
    s2 = BatchStream(x[:9], torch.arange(9), 4, (0.0,), (1.0,))
    assert len(s2) == 2 and sum(len(y) for _, y in s2.epoch()) == 8  # a lone last example is dropped
