"""The library refuses bad arguments with InvalidArgument, a ValueError that names the argument and the values
it takes (the ranges the command lines' flags declare), before anything is built or written."""
import math

import pytest
import torch

from darts import api
from darts.errors import InvalidArgument, UserError


@pytest.fixture(scope="module")
def tiny():
    """A tiny network and data it fits: 1-channel 8x8 images of 2 classes."""
    net = api.build_network("DARTS_V2", in_channels=1, num_classes=2, init_channels=4, layers=3)
    data = (torch.rand(8, 1, 8, 8), torch.tensor([0, 1] * 4))
    return net, data


def test_the_exception_is_a_value_error_and_a_user_error():
    assert issubclass(InvalidArgument, ValueError) and issubclass(InvalidArgument, UserError)


@pytest.mark.parametrize("arguments, message", [
    ({"num_classes": -1}, "num_classes -1: must be at least 1"),
    ({"in_channels": 0}, "in_channels 0: must be at least 1"),
    ({"init_channels": 0}, "init_channels 0: must be at least 1"),
    ({"layers": 1}, "layers 1: must be at least 3"),  # the DARTS space's own bound
])
def test_build_network_names_a_bad_argument_and_its_range(arguments, message):
    with pytest.raises(InvalidArgument, match=message):
        api.build_network("DARTS_V2", **arguments)


def test_build_network_refuses_a_size_that_cannot_fit_in_memory():
    with pytest.raises(InvalidArgument, match=r"init_channels 100000, .* GiB .* choose smaller sizes"):
        api.build_network("DARTS_V2", init_channels=100000)


@pytest.mark.parametrize("arguments, message", [
    ({"batch_size": 0}, "batch_size 0: must be at least 2"),
    ({"learning_rate": -1}, "learning_rate -1: must be at least 0"),
    ({"learning_rate": math.inf}, "learning_rate must be a finite number"),
    ({"epochs": 0}, "epochs 0: must be at least 1"),
    ({"drop_path_prob": 1}, "drop_path_prob 1: must be at least 0 and below 1"),
    ({"label_smoothing": 1.5}, "label_smoothing 1.5: must be at least 0 and below 1"),
])
def test_train_names_a_bad_argument_and_its_range_before_writing(arguments, message, tiny, tmp_path):
    net, data = tiny
    with pytest.raises(ValueError, match=message):
        api.train(net, data, save=tmp_path / "run", **arguments)
    assert not (tmp_path / "run").exists()


def test_search_names_a_bad_setting_before_writing(tmp_path):
    with pytest.raises(InvalidArgument, match="--learning_rate must be a finite number, got inf"):
        api.search(dataset="digits", learning_rate=math.inf, save=tmp_path / "run")
    with pytest.raises(InvalidArgument, match="--evolution_population_size 0: must be at least 1"):
        api.search(dataset="digits", strategy="evolution", evolution_population_size=0, save=tmp_path / "run")
    assert not (tmp_path / "run").exists()
