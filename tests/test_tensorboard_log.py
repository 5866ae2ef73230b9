"""TensorBoardLog: epoch rows become scalars; without tensorboard, a one-line UserError."""
import builtins
import math

import pytest
import torch

from darts.errors import UserError
from darts.tensorboard_log import TensorBoardLog, scalars


def test_scalars_flattens_nested_rows_and_skips_what_is_not_a_number():
    row = {"epoch": 3, "lr": 0.01, "metrics": {"valid_acc": 91.5, "deep": {"x": 1}}, "genotype": "G(...)",
           "alphas": [[0.1, 0.9]], "finished": True, "loss": torch.tensor(0.5)}
    assert dict(scalars(row)) == {"epoch": 3.0, "lr": 0.01, "metrics/valid_acc": 91.5, "metrics/deep/x": 1.0,
                                  "loss": 0.5}


def test_rows_are_read_back_from_the_event_file(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    sink = TensorBoardLog(tmp_path / "tb")
    for epoch in range(3):
        sink(epoch, {"train_loss": 2.0 - epoch, "metrics": {"valid_acc": 50.0 + epoch}, "genotype": "x"})
    sink(3, {"train_loss": float("nan")})
    sink.close()
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == ["metrics/valid_acc", "train_loss"]
    loss = events.Scalars("train_loss")
    assert [e.step for e in loss] == [0, 1, 2, 3] and [e.value for e in loss][:3] == [2.0, 1.0, 0.0]
    assert math.isnan(loss[3].value)
    assert [e.value for e in events.Scalars("metrics/valid_acc")] == [50.0, 51.0, 52.0]


def test_without_tensorboard_the_error_says_what_to_install(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name == "tensorboard" or name.startswith("tensorboard."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(UserError, match=r"^TensorBoard logging needs the tensorboard package: pip install "
                                        r"tensorboard$"):
        TensorBoardLog(tmp_path / "tb")
    assert not (tmp_path / "tb").exists()
