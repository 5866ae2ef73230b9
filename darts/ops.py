"""Candidate operations of the DARTS convolutional space, in one registry.

Every operation is built by a factory `factory(C, stride, affine) -> nn.Module` that keeps the channel
count C and divides the spatial size by `stride`. Search builds them with affine=False (BatchNorm
without learnable scale/shift, as in the paper); final networks with affine=True. Register your own
with `@register_op("name")`.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from darts.errors import UserError

OpFactory = Callable[[int, int, bool], nn.Module]
OPS: dict[str, OpFactory] = {}

# The paper's eight candidates, in the original code's order (the alphas' column order).
PRIMITIVES = [
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
]


def register_op(name: str) -> Callable[[OpFactory], OpFactory]:
    """Decorator: add `factory(C, stride, affine)` to the registry under `name`."""
    def wrap(factory: OpFactory) -> OpFactory:
        if name in OPS:
            raise ValueError(f"operation {name!r} is already registered")
        OPS[name] = factory
        return factory
    return wrap


def build_op(name: str, C: int, stride: int, affine: bool) -> nn.Module:
    try:
        factory = OPS[name]
    except KeyError:
        raise UserError(f"unknown operation {name!r}; registered operations: {', '.join(sorted(OPS))}") from None
    return factory(C, stride, affine)


class ReLUConvBN(nn.Sequential):
    def __init__(self, C_in: int, C_out: int, kernel_size, stride, padding, affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """ReLU, depthwise dilated conv, pointwise conv, BatchNorm."""

    def __init__(self, C_in, C_out, kernel_size, stride, padding, dilation, affine=True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride, padding, dilation=dilation, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two stacked depthwise-separable convolutions (the first carries the stride), as in the paper."""

    def __init__(self, C_in, C_out, kernel_size, stride, padding, affine=True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride, padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_in, 1, bias=False),
            nn.BatchNorm2d(C_in, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, 1, padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class Identity(nn.Module):
    def forward(self, x):
        return x


class Zero(nn.Module):
    """The 'none' operation: zeros at the output resolution."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1x1 convs, concatenated along channels.

    Odd sizes (e.g. 7x7 Fashion-MNIST maps) are padded on the shifted branch so both halves agree;
    even sizes behave exactly as the original.
    """

    def __init__(self, C_in: int, C_out: int, affine: bool = True):
        super().__init__()
        assert C_out % 2 == 0, "FactorizedReduce needs an even number of output channels"
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x):
        x = self.relu(x)
        shifted = x[:, :, 1:, 1:]
        if x.size(2) % 2 or x.size(3) % 2:
            shifted = F.pad(shifted, (0, x.size(3) % 2, 0, x.size(2) % 2))
        return self.bn(torch.cat([_pointwise_stride2(self.conv_1, x), _pointwise_stride2(self.conv_2, shifted)], dim=1))


# oneDNN's CPU backward of a stride-2 1x1 convolution over 2 to 6 input channels corrupts the heap on some CPUs
# (torch 2.13 on AMD EPYC: aborts and segfaults, channels_last or not, e.g. partial channels or --init_channels 4).
_CRASHING_IN_CHANNELS = range(2, 7)


def _pointwise_stride2(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """`conv(x)` for a 1x1 stride-2 conv; where that kernel crashes, the same sums as a stride-1 conv over the
    subsampled map (not bitwise equal to the strided kernel, so only there)."""
    if x.device.type != "cpu" or conv.in_channels not in _CRASHING_IN_CHANNELS:
        return conv(x)
    return F.conv2d(x[:, :, ::2, ::2], conv.weight, conv.bias)


def _register_builtin() -> None:
    OPS.update({
        "none": lambda C, stride, affine: Zero(stride),
        "avg_pool_3x3": lambda C, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False),
        "max_pool_3x3": lambda C, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
        "skip_connect": lambda C, stride, affine: Identity() if stride == 1 else FactorizedReduce(C, C, affine),
        "sep_conv_3x3": lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine),
        "sep_conv_5x5": lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine),
        "sep_conv_7x7": lambda C, stride, affine: SepConv(C, C, 7, stride, 3, affine),
        "dil_conv_3x3": lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine),
        "dil_conv_5x5": lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine),
        "conv_7x1_1x7": lambda C, stride, affine: nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C, C, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(C, C, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            nn.BatchNorm2d(C, affine=affine),
        ),
    })


_register_builtin()


def check_primitives(primitives: str | Sequence[str] | None) -> list[str]:
    """The candidate operations (a list, or names separated by commas; None: the paper's eight), checked:
    registered, no repeats, at least one besides 'none', and each keeps C channels and divides the
    spatial size by its stride (probed on a tiny tensor, so a faulty custom op fails here, not mid-search)."""
    if primitives is None:
        return list(PRIMITIVES)
    names = [p.strip() for p in primitives.split(",")] if isinstance(primitives, str) else list(primitives)
    names = [n for n in names if n]
    unknown = [n for n in names if n not in OPS]
    if unknown:
        raise UserError(f"unknown operation(s) {', '.join(unknown)} in --primitives; registered: "
                        f"{', '.join(sorted(OPS))} (register your own with darts.ops.register_op and --ops_module)")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UserError(f"--primitives names {', '.join(repeated)} more than once")
    if not [n for n in names if n != "none"]:
        raise UserError("--primitives needs at least one operation besides 'none'")
    with torch.random.fork_rng(devices=[]):  # probing must not move the seeded RNG the supernet is built from
        for name in names:
            _probe_op(name)
    return names


def _probe_op(name: str, C: int = 4, size: int = 6) -> None:
    x = torch.randn(2, C, size, size)
    for stride in (1, 2):
        expected = (2, C, size // stride, size // stride)
        try:
            with torch.no_grad():
                out = build_op(name, C, stride, affine=False)(x)
            shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        except UserError:
            raise
        except Exception as e:  # the user's op failed on a plain input: say which op and why
            raise UserError(f"operation {name!r} fails on a {tuple(x.shape)} input with stride {stride}: "
                            f"{type(e).__name__}: {e}") from None
        if shape != expected:
            raise UserError(f"operation {name!r} maps {tuple(x.shape)} to {shape} with stride {stride}; a cell "
                            f"operation must keep the C channels and divide height and width by the stride "
                            f"(expected {expected})")
