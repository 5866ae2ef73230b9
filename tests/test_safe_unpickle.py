"""Pickled inputs (CIFAR's python batches, benchmark records) are read without running code: a crafted file
is refused with one line before anything it names is called, a genuine one still loads."""
import os
import pickle

import numpy as np
import pytest

from darts.data.images import load_cifar
from darts.errors import UserError
from darts.safe_pickle import load_restricted
from tests.test_data import write_cifar10


class RunsCode:
    """Pickles to a call of os.system, as a crafted download could."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_crafted_cifar_batch_is_refused_without_running_its_code(tmp_path):
    folder = write_cifar10(tmp_path, n=2)
    marker = tmp_path / "ran"
    with open(folder / "data_batch_1", "wb") as f:
        pickle.dump({"data": RunsCode(marker), "labels": [0, 1]}, f, protocol=2)
    with pytest.raises(UserError) as refused:
        load_cifar("cifar10", tmp_path, download=False)
    message = str(refused.value)
    assert "data_batch_1" in message and "system" in message and "\n" not in message
    assert not marker.exists()


def test_a_genuine_cifar_batch_still_loads(tmp_path):
    folder = write_cifar10(tmp_path, n=2)
    rng = np.random.default_rng(1)
    batch = {"batch_label": "training batch 1 of 5", "labels": [3, 7],  # the format's keys and types
             "data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), "filenames": ["a.png", "b.png"]}
    with open(folder / "data_batch_1", "wb") as f:
        pickle.dump(batch, f, protocol=2)
    data = load_cifar("cifar10", tmp_path, download=False)
    assert data.train_y[:2].tolist() == [3, 7]
    assert data.train_x[0].flatten().tolist() == batch["data"][0].tolist()


def test_the_restricted_unpickler_admits_plain_data_only(tmp_path):
    plain = {"a": [1, 2.5, "x", b"y"], "b": np.arange(3), "c": np.float32(1.5), "d": {1, 2}}
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps(plain))
    with open(path, "rb") as f:
        loaded = load_restricted(f)
    assert loaded["a"] == plain["a"] and loaded["b"].tolist() == [0, 1, 2] and loaded["d"] == {1, 2}
    path.write_bytes(pickle.dumps([RunsCode(tmp_path / "ran")]))
    with open(path, "rb") as f, pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        load_restricted(f)
    assert not (tmp_path / "ran").exists()
