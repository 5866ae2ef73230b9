"""The final network of a layer-by-layer genotype, wired by the paper's rules (Zoph & Le 2017, sec. 3.3):
a layer without inputs reads the image; inputs of different sizes are zero-padded (bottom and right) to
the largest and concatenated along channels; the outputs of all layers no other layer reads are
padded and concatenated likewise into the classifier (global average pooling, then one linear layer).
Every layer is conv (odd kernel, "same" padding, its stride) + BatchNorm + ReLU."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from darts.spaces.nasrl_cnn.genotype import ConvNetGenotype


def pad_and_concat(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Zero-pad (N, C_k, H_k, W_k) tensors to the largest H and W, then concatenate along channels."""
    if len(tensors) == 1:
        return tensors[0]
    h = max(t.shape[2] for t in tensors)
    w = max(t.shape[3] for t in tensors)
    return torch.cat([F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2])) for t in tensors], dim=1)


def layer_widths(genotype: ConvNetGenotype, width_divisor: int = 1) -> list[int]:
    """Filters of each layer, divided by `width_divisor` for cheap low-fidelity rewards (at least 1)."""
    return [max(1, layer.filters // width_divisor) for layer in genotype.layers]


class ConvNet(nn.Module):
    def __init__(self, genotype: ConvNetGenotype, in_channels: int = 3, num_classes: int = 10,
                 width_divisor: int = 1):
        super().__init__()
        self.genotype = genotype
        widths = layer_widths(genotype, width_divisor)
        self.convs = nn.ModuleList()
        for layer, width in zip(genotype.layers, widths):
            c_in = sum(widths[j] for j in layer.inputs) if layer.inputs else in_channels
            self.convs.append(nn.Sequential(
                nn.Conv2d(c_in, width, (layer.kernel_h, layer.kernel_w), layer.stride,
                          (layer.kernel_h // 2, layer.kernel_w // 2), bias=False),
                nn.BatchNorm2d(width), nn.ReLU(inplace=True)))
        self.sinks = genotype.sinks()
        self.classifier = nn.Linear(sum(widths[i] for i in self.sinks), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs: list[torch.Tensor] = []
        for layer, conv in zip(self.genotype.layers, self.convs):
            inp = pad_and_concat([outputs[j] for j in layer.inputs]) if layer.inputs else x
            outputs.append(conv(inp))
        features = pad_and_concat([outputs[i] for i in self.sinks])
        return self.classifier(features.mean(dim=(2, 3)))
