"""The final network of a NASNet genotype, built as the NASNet paper's CIFAR model.

A 3x3 conv stem of 3F channels, then three stacks of N normal cells with a reduction cell between
stacks (filters F, 2F, 4F), then ReLU, global average pooling and a linear classifier. NASNet-A
"6 @ 768" is N = 6, F = 32: the last normal cell outputs 6 states of 4F = 128 channels.

As in the reference implementation, a cell brings h_i to F channels (ReLU, 1x1 conv, BN), and h_{i-1}
only where it must: a factorized reduction where it is twice as large, a 1x1 conv where its channel
count differs, else as is. An operation that meets a state of other than F channels (the result of a
"concat" block) is preceded by a ReLU-1x1 conv-BN to F channels; in a reduction cell, operations on
the two cell inputs have stride 2, and a cell input named in the output is factor-reduced. Drop path
acts on every edge but identities. The optional auxiliary head (DARTS's CIFAR head) sits after the
second reduction cell.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from darts.ops import FactorizedReduce, Identity, ReLUConvBN, build_op
from darts.spaces.common.cell_network import AuxiliaryHeadCIFAR, drop_path
from darts.spaces.nasnet.genotype import NasnetCell, NasnetGenotype


class NasnetCellModule(nn.Module):
    """One normal or reduction cell: B blocks over the hidden states, the `concat` states as output."""

    def __init__(self, cell: NasnetCell, C_prev_prev: int, C_prev: int, C: int, reduction: bool,
                 reduction_prev: bool):
        super().__init__()
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0)
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(C_prev_prev, C)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0) if C_prev_prev != C else Identity()
        self.blocks = cell.blocks
        self.concat = list(cell.concat)
        channels = [C, C]
        self.edges = nn.ModuleList()
        for block in cell.blocks:
            for op, i in zip(block.ops, block.inputs):
                project = ReLUConvBN(channels[i], C, 1, 1, 0) if channels[i] != C else Identity()
                self.edges.append(nn.Sequential(project, build_op(op, C, 2 if reduction and i < 2 else 1, True)))
            channels.append(C if block.combine == "add" else 2 * C)
        self.reduce_out = nn.ModuleDict({str(i): FactorizedReduce(C, C) for i in self.concat if reduction and i < 2})
        self.out_channels = sum(channels[i] for i in self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        drop = self.training and drop_prob > 0.0
        for b, block in enumerate(self.blocks):
            outs = []
            for k, i in zip((2 * b, 2 * b + 1), block.inputs):
                h = self.edges[k](states[i])
                if drop and not isinstance(self.edges[k][1], Identity):
                    h = drop_path(h, drop_prob)
                outs.append(h)
            states.append(outs[0] + outs[1] if block.combine == "add" else torch.cat(outs, dim=1))
        return torch.cat([self.reduce_out[str(i)](states[i]) if str(i) in self.reduce_out else states[i]
                          for i in self.concat], dim=1)


class NasnetNetwork(nn.Module):
    """Stem, 3 stacks of N normal cells with 2 reduction cells between them, classifier.

    forward returns (logits, auxiliary logits); the latter is None unless training with the head on."""

    def __init__(self, genotype: NasnetGenotype, C: int = 32, num_classes: int = 10, cells_per_stack: int = 6,
                 auxiliary: bool = False, in_channels: int = 3, stem_multiplier: int = 3):
        super().__init__()
        self.genotype = genotype
        C_stem = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C_stem, 3, padding=1, bias=False), nn.BatchNorm2d(C_stem))
        self.drop_path_prob = 0.0  # set by the training loop each epoch
        self.cells = nn.ModuleList()
        C_prev_prev, C_prev, reduction_prev = C_stem, C_stem, False
        self.aux_index = None
        for stack in range(3):
            kinds = ([True] if stack else []) + [False] * cells_per_stack
            for reduction in kinds:
                C = 2 * C if reduction else C
                cell = NasnetCellModule(genotype.reduce if reduction else genotype.normal, C_prev_prev, C_prev, C,
                                        reduction, reduction_prev)
                self.cells.append(cell)
                C_prev_prev, C_prev, reduction_prev = C_prev, cell.out_channels, reduction
                if reduction and stack == 2:
                    self.aux_index, C_aux = len(self.cells) - 1, C_prev
        self.auxiliary = auxiliary
        if auxiliary:
            self.auxiliary_head = AuxiliaryHeadCIFAR(C_aux, num_classes)
        self.classifier = nn.Linear(C_prev, num_classes)
        self.penultimate_channels = C_prev

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        s0 = s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_index and self.auxiliary and self.training:
                aux = self.auxiliary_head(s1)
        out = torch.relu(s1).mean(dim=(2, 3))
        return self.classifier(out), aux
