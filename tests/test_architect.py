"""The architect's alpha gradients against autograd through the unrolled step (float64, tiny nets)."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from darts.spaces.darts_cnn import SearchNetwork
from darts.strategies.architect import Architect, frozen_batchnorm_stats


def ce_loss(forward, batch):
    x, y = batch
    return F.cross_entropy(forward(x), y)


def tiny_setup(seed=0, momentum_steps=1):
    torch.manual_seed(seed)
    model = SearchNetwork(C=2, num_classes=3, layers=3, in_channels=1).double()
    with torch.no_grad():  # alphas away from uniform so the softmax Jacobian is not degenerate
        for a in model.alphas():
            a.normal_(0, 0.5)
    opt = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    g = torch.Generator().manual_seed(seed + 1)
    train = (torch.randn(6, 1, 8, 8, generator=g, dtype=torch.float64), torch.randint(0, 3, (6,), generator=g))
    val = (torch.randn(6, 1, 8, 8, generator=g, dtype=torch.float64), torch.randint(0, 3, (6,), generator=g))
    for _ in range(momentum_steps):  # fill the momentum buffers so the virtual step uses them
        opt.zero_grad()
        ce_loss(model, train).backward()
        opt.step()
    opt.zero_grad()
    return model, opt, train, val


def unrolled_autograd(model, opt, train, val):
    """d/dalpha L_val(w - xi * (momentum*buf + grad_w L_train(w, alpha) + wd*w), alpha) by autograd."""
    names, weights = zip(*model.named_weights())
    group = opt.param_groups[0]
    xi, mom, wd = group["lr"], group["momentum"], group["weight_decay"]
    alphas = model.alphas()
    with frozen_batchnorm_stats(model):
        g = torch.autograd.grad(ce_loss(model, train), weights, create_graph=True)
        w_prime = [w - xi * (mom * opt.state[w]["momentum_buffer"] + gi + wd * w) for w, gi in zip(weights, g)]
        loss = ce_loss(lambda x: functional_call(model, dict(zip(names, w_prime)), (x,)), val)
        return torch.autograd.grad(loss, alphas)


def rel_err(a, b):
    a = torch.cat([t.flatten() for t in a])
    b = torch.cat([t.flatten() for t in b])
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("hessian,radius,tol", [("exact", 0.01, 1e-8), ("finite-difference", 1e-6, 1e-4)])
def test_second_order_matches_autograd_through_unrolled_step(hessian, radius, tol):
    model, opt, train, val = tiny_setup()
    expected = unrolled_autograd(model, opt, train, val)
    arch = Architect(model, ce_loss, opt, unrolled=True, hessian=hessian, fd_radius=radius)
    got, _ = arch.hypergradient(train, val)
    assert rel_err(got, expected) < tol
    # and it is genuinely second order: the first-order gradient differs measurably
    first, _ = Architect(model, ce_loss, opt, unrolled=False).hypergradient(train, val)
    assert rel_err(first, expected) > 100 * tol


def test_first_order_is_validation_gradient():
    model, opt, train, val = tiny_setup()
    expected = torch.autograd.grad(ce_loss(model, val), model.alphas())
    got, _ = Architect(model, ce_loss, opt).hypergradient(train, val)
    assert rel_err(got, expected) < 1e-12


def test_virtual_step_equals_weight_optimizer_step():
    model, opt, train, val = tiny_setup(momentum_steps=2)
    arch = Architect(model, ce_loss, opt, unrolled=True)
    grads = torch.autograd.grad(ce_loss(model, train), model.weights())
    virtual = arch.virtual_step(grads)
    # the real optimizer on a deep copy of model and optimizer
    model2 = copy.deepcopy(model)
    opt2 = torch.optim.SGD(model2.weights(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    opt2.load_state_dict(opt.state_dict())
    for p, g in zip(model2.weights(), grads):
        p.grad = g.clone()
    opt2.step()
    for v, p in zip(virtual, model2.weights()):
        torch.testing.assert_close(v, p.detach(), rtol=0, atol=1e-14)


def test_architect_leaves_weights_and_bn_stats_untouched():
    model, opt, train, val = tiny_setup()
    before = copy.deepcopy(model.state_dict())
    arch = Architect(model, ce_loss, opt, unrolled=True)
    arch.step(train, val)
    after = model.state_dict()
    for k, v in before.items():
        if k in ("alphas_normal", "alphas_reduce"):
            assert not torch.equal(v, after[k]), "alphas should have moved"
        else:
            assert torch.equal(v, after[k]), f"{k} changed during the architect step"
