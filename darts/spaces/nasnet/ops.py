"""The NASNet paper's 13 candidate operations, as names in the shared registry (darts.ops).

Most are registered already, with the paper's definitions: `skip_connect` (identity; a factorized
reduction when it must stride), `sep_conv_KxK` (ReLU, depthwise KxK, pointwise 1x1, BatchNorm, applied
twice as in the reference implementation's 'separable_KxK_2'), `conv_7x1_1x7` (ReLU, 1x7 then 7x1
conv, BatchNorm), `avg_pool_3x3`, `max_pool_3x3`, and NAS-Bench-201's `nor_conv_1x1` / `nor_conv_3x3`
(ReLU-conv-BN). This module adds the rest: 1x3 then 3x1 conv, a full 3x3 conv of dilation 2 (the
paper lists it beside the plain convolutions, not the separable ones) and 5x5 / 7x7 max pooling
(padding keeps the size). The paper's list has one average pooling, 3x3.
"""
from __future__ import annotations

import torch.nn as nn

from darts.ops import OPS, register_op
import darts.spaces.common.nb201_ops  # noqa: F401  (registers nor_conv_1x1 and nor_conv_3x3, the same ops)

# The paper's list (section 3), in its order: the column order of the controller's op classifiers.
NASNET_OPS = (
    "skip_connect",        # identity
    "conv_3x1_1x3",        # 1x3 then 3x1 convolution
    "conv_7x1_1x7",        # 1x7 then 7x1 convolution
    "dil_conv_3x3_plain",  # 3x3 dilated convolution
    "avg_pool_3x3",
    "max_pool_3x3", "max_pool_5x5", "max_pool_7x7",
    "nor_conv_1x1",        # 1x1 convolution
    "nor_conv_3x3",        # 3x3 convolution
    "sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7",
)


def factorized_conv(C: int, k: int, stride: int, affine: bool) -> nn.Module:
    """ReLU, a 1xk then a kx1 convolution (each strides along its own axis), BatchNorm."""
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(C, C, (1, k), stride=(1, stride), padding=(0, k // 2), bias=False),
        nn.Conv2d(C, C, (k, 1), stride=(stride, 1), padding=(k // 2, 0), bias=False),
        nn.BatchNorm2d(C, affine=affine),
    )


def dilated_conv(C: int, stride: int, affine: bool) -> nn.Module:
    """ReLU, a full (not separable) 3x3 convolution of dilation 2, BatchNorm."""
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(C, C, 3, stride=stride, padding=2, dilation=2, bias=False),
        nn.BatchNorm2d(C, affine=affine),
    )


def _register() -> None:
    new = {
        "conv_3x1_1x3": lambda C, stride, affine: factorized_conv(C, 3, stride, affine),
        "dil_conv_3x3_plain": lambda C, stride, affine: dilated_conv(C, stride, affine),
        "max_pool_5x5": lambda C, stride, affine: nn.MaxPool2d(5, stride=stride, padding=2),
        "max_pool_7x7": lambda C, stride, affine: nn.MaxPool2d(7, stride=stride, padding=3),
    }
    for name, factory in new.items():
        if name not in OPS:  # a module reloaded in one process registers nothing twice
            register_op(name)(factory)


_register()
