"""The float64 comparisons of gpu_check's step 1: one computation on the CPU (the reference) and on the device
under test, relative error of every tensor it yields.

Each comparison builds its network and batches on the CPU in float64 with a fixed seed, copies both to the
device (same weights, same momentum buffers), and runs the package's own classes there: the search supernet
(darts.spaces.darts_cnn.SearchNetwork) for logits and weight gradients, the architect
(darts.strategies.architect.Architect) for the first-order, finite-difference and exact second-order alpha
gradients, an exact Hessian-vector product by double backward, and the final CIFAR network (NetworkCIFAR,
DARTS_V2, auxiliary head, no drop path: its random masks differ between devices) for logits and gradients.
In a dry run the "device" is the CPU in float32, so the same code runs and the tolerance is float32's.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from darts.spaces.darts_cnn import SearchNetwork
from darts.spaces.darts_cnn.network import NetworkCIFAR
from darts.spaces.genotype_io import load_genotype
from darts.strategies.architect import Architect
from darts.training import frozen_batchnorm_stats

# relative error allowed per (dtype of the device side, comparison): float64 is rounding only; the finite
# difference divides a difference of gradients by 2 eps, which multiplies the rounding by ~1/eps
TOLERANCE = {torch.float64: {"default": 1e-9, "finite_difference": 1e-6},
             torch.float32: {"default": 1e-3, "finite_difference": 5e-2}}


def ce_loss(forward, batch):
    x, y = batch
    return F.cross_entropy(forward(x), y)


def rel_err(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    """||a - b|| / ||b|| over all tensors, computed in float64 on the CPU."""
    a = torch.cat([t.detach().double().cpu().flatten() for t in a])
    b = torch.cat([t.detach().double().cpu().flatten() for t in b])
    return float((a - b).norm() / b.norm().clamp_min(1e-300))


def _moved(batch, device, dtype):
    x, y = batch
    return x.to(device, dtype), y.to(device)


def _search_setup(sizes: dict):
    """A float64 supernet with alphas away from uniform, an SGD optimizer with momentum, two batches."""
    torch.manual_seed(0)
    model = SearchNetwork(sizes["C"], 10, sizes["layers"]).double()
    with torch.no_grad():
        for a in model.alphas():
            a.normal_(0, 0.5)
    g = torch.Generator().manual_seed(1)
    n, side = sizes["batch"], sizes["size"]
    make = lambda: (torch.randn(n, 3, side, side, generator=g, dtype=torch.float64),
                    torch.randint(0, 10, (n,), generator=g))
    return model, make(), make()


def _optimizer(model, buffers=None):
    """SGD as the search uses it; momentum buffers given (copied to the model's device) or drawn at random."""
    opt = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    g = torch.Generator().manual_seed(2)
    for i, w in enumerate(model.weights()):
        buf = buffers[i] if buffers is not None else torch.randn(w.shape, generator=g, dtype=torch.float64)
        opt.state[w]["momentum_buffer"] = buf.to(w.device, w.dtype)
    return opt


def search_results(model, train, val, opt) -> dict[str, list[torch.Tensor]]:
    """Every quantity compared, computed by the package on whatever device the model is on."""
    out = {}
    with frozen_batchnorm_stats(model):
        out["search_logits"] = [model(train[0])]
        out["search_weight_grads"] = list(torch.autograd.grad(ce_loss(model, train), model.weights()))
    for name, kw in (("first_order", {}), ("finite_difference", {"unrolled": True}),
                     ("exact_hessian", {"unrolled": True, "hessian": "exact"})):
        out[f"hypergradient_{name}"] = Architect(model, ce_loss, opt, **kw).hypergradient(train, val)[0]
    with frozen_batchnorm_stats(model):  # grad_alpha (grad_w L_train . v) for a fixed v: the exact HVP itself
        g = torch.autograd.grad(ce_loss(model, train), model.weights(), create_graph=True)
        gen = torch.Generator().manual_seed(3)
        v = [torch.randn(w.shape, generator=gen, dtype=torch.float64).to(w.device, w.dtype) for w in model.weights()]
        out["exact_hvp"] = list(torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), model.alphas()))
    return out


def final_results(model, batch) -> dict[str, list[torch.Tensor]]:
    model.train()
    logits, aux = model(batch[0])
    loss = F.cross_entropy(logits, batch[1]) + 0.4 * F.cross_entropy(aux, batch[1])
    return {"final_logits": [logits, aux], "final_weight_grads": list(torch.autograd.grad(loss, model.parameters()))}


def compare(device: torch.device, dtype: torch.dtype, sizes: dict) -> dict:
    """{name: {"rel_err", "tolerance", "pass"}} of every comparison, CPU float64 against `device` in `dtype`."""
    model, train, val = _search_setup(sizes)
    opt = _optimizer(model)
    buffers = [opt.state[w]["momentum_buffer"] for w in model.weights()]
    other = copy.deepcopy(model).to(device, dtype)
    ref = search_results(model, train, val, opt)
    got = search_results(other, _moved(train, device, dtype), _moved(val, device, dtype), _optimizer(other, buffers))

    torch.manual_seed(0)
    net = NetworkCIFAR(load_genotype("DARTS_V2"), sizes["final_C"], 10, sizes["final_layers"], auxiliary=True).double()
    net.drop_path_prob = 0.0
    g = torch.Generator().manual_seed(4)
    side = sizes["final_size"]
    batch = (torch.randn(sizes["batch"], 3, side, side, generator=g, dtype=torch.float64),
             torch.randint(0, 10, (sizes["batch"],), generator=g))
    net_other = copy.deepcopy(net).to(device, dtype)
    ref.update(final_results(net, batch))
    got.update(final_results(net_other, _moved(batch, device, dtype)))

    rows = {}
    for name in ref:
        tol = TOLERANCE[dtype]["finite_difference" if name.endswith("finite_difference") else "default"]
        err = rel_err(got[name], ref[name])
        rows[name] = {"rel_err": err, "tolerance": tol, "pass": err <= tol}
    return rows
