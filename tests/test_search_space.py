"""The DARTS convolutional supernet: the original's parameter count, alphas kept apart, shapes."""
import pytest
import torch

from darts.spaces.darts_cnn import SearchNetwork
from darts.summary import count_parameters


def test_parameter_count_matches_original():
    # quark0/darts model_search.Network(16, 10, 8) reports 1,930,618 weights (alphas excluded).
    assert count_parameters(SearchNetwork(C=16, num_classes=10, layers=8)) == 1930618


def test_alphas_are_parameters_outside_the_weights():
    m = SearchNetwork(C=4, num_classes=10, layers=3)
    alpha_ids = {id(a) for a in m.alphas()}
    assert alpha_ids == {id(m.alphas_normal), id(m.alphas_reduce)}
    assert not alpha_ids & {id(w) for w in m.weights()}
    assert len(list(m.parameters())) == len(m.weights()) + 2
    assert m.alphas_normal.shape == (14, 8)


@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (2, 1, 28, 28), (2, 1, 8, 8)])
def test_output_shape(shape):
    m = SearchNetwork(C=4, num_classes=7, layers=3, in_channels=shape[1])
    assert m(torch.randn(*shape)).shape == (2, 7)


def test_none_is_skipped_without_changing_the_result():
    """Skipping 'none' in the mixture must equal summing its zero output explicitly."""
    torch.manual_seed(0)
    m = SearchNetwork(C=4, num_classes=3, layers=3, in_channels=1).double()
    x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    edge = m.cells[0].edges[0]
    w = torch.softmax(torch.randn(8, dtype=torch.float64), 0)
    explicit = sum(wi * op(x.repeat(1, 12, 1, 1)[:, :4]) for wi, op in zip(w, edge._ops))
    torch.testing.assert_close(edge(x.repeat(1, 12, 1, 1)[:, :4], w), explicit)
