"""Model size figures: parameter counts as the original code reports them, and multiply-adds."""
from __future__ import annotations

import torch
import torch.nn as nn


def count_parameters(model: nn.Module) -> int:
    """Trainable weights, excluding alphas and the auxiliary head (as the original's count does)."""
    skip = set(getattr(model, "ALPHA_NAMES", ()))
    return sum(p.numel() for n, p in model.named_parameters() if n not in skip and "auxiliary" not in n)


def param_size_mb(model: nn.Module) -> float:
    """The original's 'param size = X MB' figure: parameters / 1e6."""
    return count_parameters(model) / 1e6


@torch.no_grad()
def count_multiply_adds(model: nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-adds of one forward pass on `inputs` (convolutions and linear layers, batch of 1 counted)."""
    total = 0
    batch = inputs[0].shape[0] if inputs and inputs[0].dim() > 0 else 1

    def conv_hook(m: nn.Conv2d, inp, out):
        nonlocal total
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total += out.numel() // batch * k

    def linear_hook(m: nn.Linear, inp, out):
        nonlocal total
        total += out.numel() // batch * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        model(*inputs)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return total


def batch_work(model: nn.Module, in_channels: int, height: int, width: int, batch_size: int) -> float:
    """Forward multiply-adds of one batch, counted without side effects (eval mode, so no BatchNorm statistics
    move; the RNG untouched): what --threads auto weighs."""
    was_training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=[]):
            one = count_multiply_adds(model, torch.zeros(1, in_channels, height, width))
    finally:
        model.train(was_training)
    return float(one) * batch_size
