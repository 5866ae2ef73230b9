"""Pieces of networks stacked from cells, shared by the DARTS and NASNet spaces: scheduled drop path and the
auxiliary classifier heads, built as the DARTS evaluation code builds them (module indices included, so the
original's saved weights load by name).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples of an edge's output with probability `drop_prob`, scaling the rest by
    1 / (1 - drop_prob) so the expected value is unchanged (scheduled drop path, Zoph et al. 2018)."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


class _AuxPool(nn.Module):
    """Average pooling to 2x2 for the auxiliary heads.

    The original pools with a fixed window that only yields 2x2 on the map size it was written for
    (8x8 on CIFAR: 5x5 window, stride 3; 7x7 on ImageNet: 5x5, stride 2). On that size this pools
    exactly the same way; on any other size (7x7 Fashion-MNIST maps, 2x2 digits maps) it averages
    adaptively to 2x2 instead. Pooling has no weights, so the parameter count is the same either way.
    """

    def __init__(self, native_size: int, stride: int):
        super().__init__()
        self.native_size = native_size
        self.fixed = nn.AvgPool2d(5, stride=stride, padding=0, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] == (self.native_size, self.native_size):
            return self.fixed(x)
        return F.adaptive_avg_pool2d(x, 2)


class _AuxiliaryHead(nn.Module):
    """ReLU, average pool to 2x2, 1x1 conv to 128, 2x2 conv to 768, linear classifier.

    Module indices follow the original's, so its saved weights load by name (see
    `from_original_state_dict`).
    """

    def __init__(self, C: int, num_classes: int, native_size: int, stride: int, bn_after_2x2: bool):
        super().__init__()
        layers = [nn.ReLU(inplace=False), _AuxPool(native_size, stride),
                  nn.Conv2d(C, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=False),
                  nn.Conv2d(128, 768, 2, bias=False)]
        if bn_after_2x2:
            layers.append(nn.BatchNorm2d(768))
        layers.append(nn.ReLU(inplace=False))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class AuxiliaryHeadCIFAR(_AuxiliaryHead):
    """Auxiliary classifier after the second reduction cell (native input 8x8)."""

    def __init__(self, C: int, num_classes: int):
        super().__init__(C, num_classes, native_size=8, stride=3, bn_after_2x2=True)


class AuxiliaryHeadImageNet(_AuxiliaryHead):
    """Auxiliary classifier of the ImageNet network (native input 7x7). As in the original (and the
    paper's experiments), there is no BatchNorm after the 2x2 convolution."""

    def __init__(self, C: int, num_classes: int):
        super().__init__(C, num_classes, native_size=7, stride=2, bn_after_2x2=False)
