"""channels_last, the image searches' default memory layout on CPU too, computes the search step NCHW computes:
the same hypergradient (first order, finite difference, exact) and the same weights after a step, up to float
rounding (float64 here, so any difference beyond rounding is a layout bug, not noise)."""
import pytest
import torch
import torch.nn.functional as F

from darts.spaces.darts_cnn import SearchNetwork
from darts.strategies.architect import Architect
from darts.training import weight_step


def ce_loss(forward, batch):
    x, y = batch
    return F.cross_entropy(forward(x), y)


def one_step(channels_last: bool, **architect):
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = SearchNetwork(C=4, num_classes=3, layers=3).double().to(memory_format=fmt)
    with torch.no_grad():
        for a in model.alphas():
            a.normal_(0, 0.5)
    weights = model.weights()
    opt = torch.optim.SGD(weights, lr=0.05, momentum=0.9, weight_decay=3e-4)
    g = torch.Generator().manual_seed(1)
    batch = lambda: (torch.randn(4, 3, 8, 8, generator=g, dtype=torch.float64).contiguous(memory_format=fmt),
                     torch.randint(0, 3, (4,), generator=g))
    train, val = batch(), batch()
    weight_step(weights, ce_loss(model, train), opt, 5.0)  # fills the momentum buffers of the virtual step
    arch = Architect(model, ce_loss, opt, **architect)
    hypergradient, _ = arch.hypergradient(train, val)
    arch.step(train, val)
    weight_step(weights, ce_loss(model, train), opt, 5.0)
    return hypergradient, [a.detach().clone() for a in model.alphas()], [w.detach().clone() for w in weights]


@pytest.mark.parametrize("architect", [{}, {"unrolled": True}, {"unrolled": True, "hessian": "exact"}],
                         ids=["first-order", "finite-difference", "exact"])
def test_channels_last_search_step_equals_nchw(architect):
    nchw, last = one_step(False, **architect), one_step(True, **architect)
    for a, b in zip(nchw[0], last[0]):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)
    for part in (1, 2):
        for a, b in zip(nchw[part], last[part]):
            assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)
    assert any(w.dim() == 4 and w.is_contiguous(memory_format=torch.channels_last)
               and not w.is_contiguous() for w in one_step(True, **architect)[2])  # the layout was in use
