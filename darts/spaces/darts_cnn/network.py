"""Final networks built from a convolutional Genotype: the CIFAR and ImageNet (mobile) evaluation nets.

Built as the paper's evaluation code builds them (stem, cells with reductions at 1/3 and 2/3 of the
depth, preprocessing of the two previous cell outputs, auxiliary head after the 2/3 reduction, drop
path on non-identity edges), so the parameter counts match the original's to the parameter
(DARTS_V2: 3,349,342 on CIFAR-10 as its train.py logs them, 4,718,752 on ImageNet, the paper's 3.3M
and 4.7M; auxiliary head excluded as the original counts). Two generalisations leave those counts and the 32x32 / 224x224 behaviour unchanged:
`in_channels` and `num_classes` are arguments, and the auxiliary heads pool to 2x2 from any map size
(darts.spaces.common.cell_network, shared with NASNet).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from darts.genotype import Genotype
from darts.ops import FactorizedReduce, Identity, ReLUConvBN, build_op
from darts.spaces.common.cell_network import AuxiliaryHeadCIFAR, AuxiliaryHeadImageNet, drop_path


class Cell(nn.Module):
    """One normal or reduction cell of a final network: each node sums two (op, input) edges of the genotype.

    Inputs 0 and 1 are the outputs of the cell two back and one back; when the cell before this one
    was a reduction, input 0 is twice as large spatially and is brought down by FactorizedReduce.
    """

    def __init__(self, genotype: Genotype, C_prev_prev: int, C_prev: int, C: int, reduction: bool,
                 reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(C_prev_prev, C, affine=True)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0, affine=True)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0, affine=True)
        edges = genotype.reduce if reduction else genotype.normal
        concat = genotype.reduce_concat if reduction else genotype.normal_concat
        if len(edges) % 2:
            raise ValueError(f"a cell needs two edges per node, got {len(edges)} edges")
        self.steps = len(edges) // 2
        self.concat = [int(i) for i in concat]
        self.multiplier = len(self.concat)
        self.indices = [int(i) for _, i in edges]
        # Only edges leaving the two cell inputs change resolution in a reduction cell.
        self.ops = nn.ModuleList(
            build_op(name, C, 2 if reduction and index < 2 else 1, affine=True) for name, index in edges)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        apply_drop = self.training and drop_prob > 0.0
        for i in range(self.steps):
            node = 0
            for k in (2 * i, 2 * i + 1):
                op = self.ops[k]
                h = op(states[self.indices[k]])
                if apply_drop and not isinstance(op, Identity):
                    h = drop_path(h, drop_prob)
                node = node + h
            states.append(node)
        return torch.cat([states[i] for i in self.concat], dim=1)


class _FinalNetwork(nn.Module):
    """Cells stacked from a genotype; subclasses build their stem, then call `_build_cells`."""

    @staticmethod
    def convert_state_dict(state: dict) -> dict:
        """Weights saved by the original code, under this module's names (see from_original_state_dict)."""
        return from_original_state_dict(state)

    def _build_cells(self, genotype: Genotype, C: int, num_classes: int, layers: int, auxiliary: bool,
                     C_stem: int, reduction_prev: bool, aux_head: type[_AuxiliaryHead]) -> None:
        self.genotype = genotype
        self.layers = layers
        self.auxiliary = auxiliary
        self.aux_index = 2 * layers // 3
        self.drop_path_prob = 0.0  # set by the training loop each epoch (linear ramp)
        C_prev_prev, C_prev, C_curr = C_stem, C_stem, C
        self.cells = nn.ModuleList()
        C_to_auxiliary = None
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                C_curr *= 2
            cell = Cell(genotype, C_prev_prev, C_prev, C_curr, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, cell.multiplier * C_curr
            if i == self.aux_index:
                C_to_auxiliary = C_prev
        if auxiliary:
            if C_to_auxiliary is None:
                raise ValueError(f"an auxiliary head needs at least 1 layer, got layers={layers}")
            self.auxiliary_head = aux_head(C_to_auxiliary, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)

    def stem_forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Returns (logits, auxiliary logits); the latter only in training mode with a head, else None."""
        logits_aux = None
        s0, s1 = self.stem_forward(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_index and self.auxiliary and self.training:
                logits_aux = self.auxiliary_head(s1)
        out = self.global_pooling(s1)
        return self.classifier(out.flatten(1)), logits_aux


CIFAR_CHANNELS, CIFAR_LAYERS = 36, 20  # the paper's retrained CIFAR-10 network (train.py's defaults)


class NetworkCIFAR(_FinalNetwork):
    """The CIFAR evaluation network: a 3x3 conv stem with 3*C channels, then `layers` cells.

    Works on any input size (28x28 Fashion-MNIST, 8x8 digits) and channel count (`in_channels`).
    """

    def __init__(self, genotype: Genotype, C: int = 36, num_classes: int = 10, layers: int = 20,
                 auxiliary: bool = False, in_channels: int = 3, stem_multiplier: int = 3):
        super().__init__()
        C_stem = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C_stem, 3, padding=1, bias=False), nn.BatchNorm2d(C_stem))
        self._build_cells(genotype, C, num_classes, layers, auxiliary, C_stem, reduction_prev=False,
                          aux_head=AuxiliaryHeadCIFAR)

    def stem_forward(self, x):
        s = self.stem(x)
        return s, s


class NetworkImageNet(_FinalNetwork):
    """The ImageNet (mobile setting) network: two stride-2 stem stages, then stem1 (another stride 2)
    feeds the first cell while stem0's output is its input 0 (so the first cell sees a 'reduction
    before it' and factor-reduces input 0). 224x224 inputs reach the classifier at 7x7."""

    def __init__(self, genotype: Genotype, C: int = 48, num_classes: int = 1000, layers: int = 14,
                 auxiliary: bool = False, in_channels: int = 3):
        super().__init__()
        self.stem0 = nn.Sequential(
            nn.Conv2d(in_channels, C // 2, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C // 2),
            nn.ReLU(inplace=False),
            nn.Conv2d(C // 2, C, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C),
        )
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C, C, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(C),
        )
        self._build_cells(genotype, C, num_classes, layers, auxiliary, C, reduction_prev=True,
                          aux_head=AuxiliaryHeadImageNet)

    def stem_forward(self, x):
        s0 = self.stem0(x)
        return s0, self.stem1(s0)


def from_original_state_dict(state: dict) -> dict:
    """Rename the original implementation's parameter names to this module's, so weights saved by
    quark0/darts (e.g. its released CIFAR-10 / ImageNet models) load here.

    Its ops wrap their layers in an `.op` Sequential and cells keep them in `_ops`; a model trained
    with nn.DataParallel adds a `module.` prefix. Everything else has the same name.
    """
    renamed = {}
    for key, value in state.items():
        if key.startswith("module."):
            key = key[len("module."):]
        key = key.replace("._ops.", ".ops.").replace(".op.", ".")
        renamed[key] = value
    return renamed
