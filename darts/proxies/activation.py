"""Scores from how an untrained network separates the images of one minibatch (Mellor et al.): NASWOT, from
the ReLUs' on/off patterns, and jacob_cov, from the correlation of the input Jacobians."""
from __future__ import annotations

import torch
import torch.nn as nn

from darts.proxies.base import Proxy, logits, register_proxy, working_copy

JACOB_COV_K = 1e-5  # the constant the score adds to each eigenvalue (Mellor et al., arXiv v1)


def relu_codes_kernel(codes: torch.Tensor) -> torch.Tensor:
    """K[i, j] = the number of units on which the binary codes of images i and j agree = N_A - Hamming(c_i, c_j),
    from codes (N, N_A) of 0/1, in float64. Both on: c_i . c_j; both off: N_A - |c_i| - |c_j| + c_i . c_j. One
    float32 product is exact here (integers below 2^24)."""
    c = codes.to(torch.float32)
    on = (c @ c.t()).to(torch.float64)
    ones = c.sum(dim=1).to(torch.float64)
    return 2 * on - ones[:, None] - ones[None, :] + c.shape[1]


def relus(network: nn.Module) -> list[nn.Module]:
    return [m for m in network.modules() if isinstance(m, nn.ReLU)]


@register_proxy
class Naswot(Proxy):
    """NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021): each image's binary code
    is the on/off state (input > 0) of every unit at the input of every nn.ReLU module, over the whole forward
    pass (a ReLU module called several times contributes each call); K_H[i, j] = N_A - Hamming(c_i, c_j); the
    score is log|det K_H|. Batch 128, default initialisation, training-mode batch norm (the network as built),
    no gradients; the kernel in float64. ReLUs applied as functions (torch.relu) are not seen: the networks of
    every image space here use nn.ReLU modules in their cells (NASNet's final torch.relu before pooling aside)."""
    name = "naswot"
    description = "log|K_H|, K_H = N_A - Hamming distance of the ReLU codes (Mellor et al., ICML 2021)"
    batch_size = 128
    needs_gradients = False
    needs_labels = False

    def compute(self, network, inputs, targets, loss_fn) -> float:
        net = working_copy(network)
        modules = relus(net)
        if not modules:
            raise ValueError(f"NASWOT reads nn.ReLU modules; {type(network).__name__} has none")
        n = inputs.shape[0]
        kernel = torch.zeros(n, n, dtype=torch.float64, device=inputs.device)

        def count(module, inp, out):
            nonlocal kernel
            kernel = kernel + relu_codes_kernel((inp[0].detach().reshape(n, -1) > 0))

        hooks = [m.register_forward_hook(count) for m in modules]
        try:
            with torch.no_grad():
                net(inputs)
        finally:
            for h in hooks:
                h.remove()
        return float(torch.linalg.slogdet(kernel).logabsdet)


def jacobian_score(jacobians: torch.Tensor, k: float = JACOB_COV_K) -> float:
    """-sum_i (log(v_i + k) + 1 / (v_i + k)), v the eigenvalues of the correlation matrix of the rows."""
    corr = torch.corrcoef(jacobians.to(torch.float64))
    if not torch.isfinite(corr).all():
        return float("nan")  # an image whose Jacobian is constant: the correlation is undefined
    v = torch.linalg.eigvalsh(corr)
    return float(-(torch.log(v + k) + 1.0 / (v + k)).sum())


@register_proxy
class JacobCov(Proxy):
    """jacob_cov (Mellor et al., arXiv v1 of "Neural Architecture Search without Training", 2020; as evaluated by
    Abdelfattah et al. 2021): J_i = d(sum of logits of image i)/d(image i), flattened; S = the correlation matrix
    of the J_i; the score is -sum(log(v + k) + 1/(v + k)) over the eigenvalues v of S, k = 1e-5. Batch 64 (as
    Abdelfattah et al. score it), training-mode batch norm, float32 network, the score in float64; NaN when a
    Jacobian is constant."""
    name = "jacob_cov"
    description = "-sum(log(v+k) + 1/(v+k)), v eigenvalues of the input-Jacobian correlations (Mellor et al. v1)"
    needs_labels = False

    def compute(self, network, inputs, targets, loss_fn) -> float:
        net = working_copy(network)
        x = inputs.detach().clone().requires_grad_(True)
        out = logits(net(x))
        out.backward(torch.ones_like(out))
        if x.grad is None:
            return float("nan")  # the output does not depend on the images (a cell of 'none' edges)
        return jacobian_score(x.grad.reshape(x.shape[0], -1))
