"""The layer-by-layer space as the sample-based strategies see it.

Decisions, layer by layer: filter height, filter width, number of filters (and the stride when the
space predicts strides), then one binary decision per earlier layer: is it an input of this layer.
Random sampling draws every categorical decision uniformly and every connection with probability 0.5;
mutation changes one decision (flips one connection or changes one field of one layer). REINFORCE
gets the anchor-point controller (`controller`), which samples the connections by attention.
"""
from __future__ import annotations

import random
from typing import Sequence

from darts.arch_space import mutate_one_decision
from darts.genotype import GenotypeError
from darts.spaces.nasrl_cnn.genotype import ConvLayer, ConvNetGenotype, genotype_from_dict

KERNELS = (1, 3, 5, 7)
FILTERS = (24, 36, 48, 64)
STRIDES = (1, 2, 3)


class NasRlCnnArchSpace:
    name = "nasrl_cnn"

    def __init__(self, layers: int = 6, strides: bool = False):
        self.layers, self.strides = layers, strides
        self.choices = [KERNELS, KERNELS, FILTERS] + ([STRIDES] if strides else [])

    def fields(self) -> list[int]:
        return [len(c) for c in self.choices]

    def decisions(self) -> list[int]:
        out = []
        for i in range(self.layers):
            out += self.fields() + [2] * i
        return out

    def anchor_layout(self) -> tuple[int, list[int]]:
        """(layers, choices of each layer's fields): the decisions are laid out layer by layer, each layer's
        fields then one link decision per earlier layer, so REINFORCE samples them with the anchor-point
        controller (darts.strategies.anchor_controller)."""
        return self.layers, self.fields()

    def from_decisions(self, decisions: Sequence[int]) -> ConvNetGenotype:
        d = [int(x) for x in decisions]
        if len(d) != len(self.decisions()):
            raise GenotypeError(f"expected {len(self.decisions())} decisions, got {len(d)}")
        layers, pos = [], 0
        for i in range(self.layers):
            values = [c[d[pos + k]] for k, c in enumerate(self.choices)]
            pos += len(self.choices)
            inputs = tuple(j for j in range(i) if d[pos + j])
            pos += i
            stride = values[3] if self.strides else 1
            layers.append(ConvLayer(values[0], values[1], values[2], stride, inputs))
        return ConvNetGenotype(tuple(layers))

    def to_decisions(self, genotype: ConvNetGenotype) -> list[int]:
        if len(genotype.layers) != self.layers:
            raise GenotypeError(f"the genotype has {len(genotype.layers)} layers; this space has {self.layers}")
        out = []
        for i, layer in enumerate(genotype.layers):
            values = (layer.kernel_h, layer.kernel_w, layer.filters) + ((layer.stride,) if self.strides else ())
            if not self.strides and layer.stride != 1:
                raise GenotypeError(f"layer {i} has stride {layer.stride}; this space does not predict strides")
            for value, options in zip(values, self.choices):
                if value not in options:
                    raise GenotypeError(f"layer {i}: {value} is not one of this space's choices {options}")
                out.append(options.index(value))
            out += [int(j in layer.inputs) for j in range(i)]
        return out

    def sample_random(self, rng: random.Random) -> ConvNetGenotype:
        return self.from_decisions([rng.randrange(n) for n in self.decisions()])

    def mutate(self, genotype: ConvNetGenotype, rng: random.Random) -> ConvNetGenotype:
        return mutate_one_decision(self, genotype, rng)

    def encode(self, genotype: ConvNetGenotype) -> dict:
        return genotype.to_dict()

    def decode(self, data: dict) -> ConvNetGenotype:
        return genotype_from_dict(data)
