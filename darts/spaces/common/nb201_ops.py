"""The five candidate operations of NAS-Bench-201, as the benchmark defines them.

    none          zeros
    skip_connect  identity
    nor_conv_1x1  ReLU -> 1x1 conv -> BatchNorm
    nor_conv_3x3  ReLU -> 3x3 conv (padding 1) -> BatchNorm
    avg_pool_3x3  3x3 average pooling, stride 1, padding 1, padding not counted, no BatchNorm

`none`, `skip_connect` and `avg_pool_3x3` are already in the shared registry (darts.ops) with exactly
these definitions for stride 1 and equal channels, which is all a NAS-Bench-201 cell uses; the two
"normal" convolutions are registered here. Inside a cell every op keeps the channel count.
"""
from __future__ import annotations

import torch.nn as nn

from darts.ops import OPS, ReLUConvBN, build_op, register_op

# The benchmark's order: the column order of the supernet's alphas and the digits of the table index.
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

if "nor_conv_1x1" not in OPS:
    register_op("nor_conv_1x1")(lambda C, stride, affine: ReLUConvBN(C, C, 1, stride, 0, affine))
if "nor_conv_3x3" not in OPS:
    register_op("nor_conv_3x3")(lambda C, stride, affine: ReLUConvBN(C, C, 3, stride, 1, affine))


def nb201_op(name: str, C: int, affine: bool) -> nn.Module:
    """One NAS-Bench-201 operation on C channels (stride 1: cells never change the resolution)."""
    return build_op(name, C, 1, affine)
