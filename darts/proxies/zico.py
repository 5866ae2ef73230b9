"""ZiCo (Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients", ICLR 2023)."""
from __future__ import annotations

import math

import torch

from darts.proxies.base import Proxy, loss_gradients, register_proxy, weight_layers, working_copy

ZICO_BATCHES = 2  # the authors' code takes the gradients of two batches


def zico_from_gradients(per_layer: list[torch.Tensor]) -> float:
    """sum over layers of log( sum over the layer's weights with sigma > 0 of mean|g| / sigma(g) ), from each
    layer's gradients stacked over the batches (B, weights); sigma the population standard deviation over the
    batches. A layer whose sum is 0 adds nothing."""
    total = 0.0
    for grads in per_layer:
        g = grads.to(torch.float64)
        sigma = g.std(dim=0, unbiased=False)
        kept = sigma != 0
        ratio = float((g.abs().mean(dim=0)[kept] / sigma[kept]).sum())
        if ratio > 0:
            total += math.log(ratio)
    return total


@register_proxy
class Zico(Proxy):
    """ZiCo: the minibatch is split into two batches, each one forward and backward pass of the loss; for
    every convolution and linear layer, the inverse coefficient of variation of each weight's gradient over
    the batches, mean|g| / sigma(g), summed over the layer's weights (those with sigma > 0), and the log of
    that sum added over layers. Default initialisation, training-mode batch norm, float32 network; a minibatch
    of 128 gives the two batches of 64 (the paper computes it on two batches of the training data)."""
    name = "zico"
    description = "sum over layers of log(sum mean|g|/std(g)) over two batches (Li et al., ICLR 2023)"
    batch_size = 128

    def compute(self, network, inputs, targets, loss_fn) -> float:
        if inputs.shape[0] < ZICO_BATCHES:
            raise ValueError(f"ZiCo splits the minibatch into {ZICO_BATCHES} batches; give at least "
                             f"{ZICO_BATCHES} images")
        net = working_copy(network)
        layers = weight_layers(net)
        per_batch = []
        for x, y in zip(inputs.tensor_split(ZICO_BATCHES), targets.tensor_split(ZICO_BATCHES)):
            for m in layers:
                m.weight.grad = None
            loss_gradients(net, x, y, loss_fn)
            per_batch.append([torch.zeros_like(m.weight).reshape(-1) if m.weight.grad is None
                              else m.weight.grad.detach().reshape(-1).clone() for m in layers])
        return zico_from_gradients([torch.stack(column) for column in zip(*per_batch)])
