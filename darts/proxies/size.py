"""The baselines every zero-cost proxy is held against: the parameter count and the multiply-adds of a forward
pass (ZiCo's authors found most proxies no better than #params)."""
from __future__ import annotations

import torch

from darts.proxies.base import Proxy, register_proxy, working_copy
from darts.summary import count_multiply_adds, count_parameters


@register_proxy
class Params(Proxy):
    """#params: trainable weights, the auxiliary head excluded (darts.summary.count_parameters)."""
    name = "params"
    description = "number of trainable parameters (the baseline)"
    needs_gradients = needs_labels = needs_data = False

    def compute(self, network, inputs, targets, loss_fn) -> float:
        return float(count_parameters(network))


@register_proxy
class Flops(Proxy):
    """FLOPs: multiply-adds of convolutions and linear layers for one image of the data's shape, in
    evaluation mode (darts.summary.count_multiply_adds); depends on the input's shape only."""
    name = "flops"
    description = "multiply-adds of one forward pass per image (the baseline)"
    needs_gradients = needs_labels = needs_data = False

    def compute(self, network, inputs, targets, loss_fn) -> float:
        return float(count_multiply_adds(working_copy(network), torch.zeros_like(inputs[:1])))
