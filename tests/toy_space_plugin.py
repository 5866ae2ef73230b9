"""A toy search space and a toy strategy, added from outside the package (no edit inside darts/).

The space: a network of `depth` blocks, each block one choice among three operations (a 3x3 conv, a 1x1
conv, identity). Its supernet mixes the three by its relaxation (DARTS), runs one path (ENAS), its
ArchSpace serves the sample strategies, its final network retrains, its diagram draws. The strategy:
"first_choice", which proposes every architecture's neighbours in a fixed order (deterministic).
Imported with --ops_module by the command lines, or directly by the tests.
"""
from __future__ import annotations

import random

import graphviz
import torch
import torch.nn as nn

from darts.errors import UserError
from darts.options import Option
from darts.spaces.registry import DataShape, Space, register_space
from darts.spaces.relaxation import make_relaxation
from darts.strategies.base import Strategy
from darts.strategies.registry import register_strategy

OPS = ("conv3", "conv1", "identity")


def toy_op(name: str, C: int) -> nn.Module:
    if name == "identity":
        return nn.Identity()
    k = 3 if name == "conv3" else 1
    return nn.Sequential(nn.Conv2d(C, C, k, padding=k // 2, bias=False), nn.BatchNorm2d(C), nn.ReLU())


class ToyArch(tuple):
    """One op name per block."""


class ToyArchSpace:
    name = "toy"

    def __init__(self, depth: int):
        self.depth = depth

    def decisions(self):
        return [len(OPS)] * self.depth

    def from_decisions(self, d):
        return ToyArch(OPS[int(i)] for i in d)

    def to_decisions(self, arch):
        return [OPS.index(op) for op in arch]

    def sample_random(self, rng: random.Random):
        return ToyArch(rng.choice(OPS) for _ in range(self.depth))

    def mutate(self, arch, rng: random.Random):
        ops = list(arch)
        i = rng.randrange(self.depth)
        ops[i] = rng.choice([o for o in OPS if o != ops[i]])
        return ToyArch(ops)

    def encode(self, arch):
        return list(arch)

    def decode(self, data):
        return ToyArch(data)


class ToyNet(nn.Module):
    def __init__(self, ops, C: int, shape: DataShape):
        super().__init__()
        self.stem = nn.Conv2d(shape.in_channels, C, 3, padding=1)
        self.blocks = nn.ModuleList(toy_op(op, C) for op in ops)
        self.head = nn.Linear(C, shape.num_classes)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x.mean((2, 3)))


class ToySupernet(nn.Module):
    ALPHA_NAMES = ("alphas_blocks",)

    def __init__(self, depth: int, C: int, shape: DataShape, relaxation=None):
        super().__init__()
        self.stem = nn.Conv2d(shape.in_channels, C, 3, padding=1)
        self.blocks = nn.ModuleList(nn.ModuleList(toy_op(op, C) for op in OPS) for _ in range(depth))
        self.head = nn.Linear(C, shape.num_classes)
        self.relaxation = make_relaxation(relaxation)
        self.alphas_blocks = nn.Parameter(1e-3 * torch.randn(depth, len(OPS)))

    def alphas(self):
        return [self.alphas_blocks]

    def named_weights(self):
        return ((n, p) for n, p in self.named_parameters() if n not in self.ALPHA_NAMES)

    def weights(self):
        return [p for _, p in self.named_weights()]

    def genotype(self):
        return ToyArch(OPS[int(i)] for i in self.relaxation.probabilities(self.alphas_blocks).argmax(-1))

    def alpha_summary(self):
        return {"primitives": list(OPS),
                "blocks": self.relaxation.probabilities(self.alphas_blocks.detach()).tolist()}

    def forward(self, x):
        w = self.relaxation.mix(self.alphas_blocks)
        x = self.stem(x)
        for weights, ops in zip(w, self.blocks):
            x = sum(wi * op(x) for wi, op in zip(weights, ops))
        return self.head(x.mean((2, 3)))

    def forward_path(self, x, arch):
        x = self.stem(x)
        for op, ops in zip(arch, self.blocks):
            x = ops[OPS.index(op)](x)
        return self.head(x.mean((2, 3)))


class ToySpace(Space):
    name = "toy"
    modality = "image"
    description = "a toy chain of blocks, one of three ops each (tests)"
    options = (Option("depth", 2, "blocks", minimum=1), Option("width", 4, "channels", minimum=1))

    def genotype_from_dict(self, data, opts=None):
        if set(data) != {"ops"} or any(op not in OPS for op in data["ops"]):
            raise UserError(f"a toy genotype is {{'ops': [...]}} of {OPS}")
        return ToyArch(data["ops"])

    def genotype_to_dict(self, genotype):
        return {"ops": list(genotype)}

    def owns(self, genotype):
        return isinstance(genotype, ToyArch)

    def arch_space(self, opts):
        return ToyArchSpace(opts["depth"])

    def build_supernet(self, opts, shape):
        return ToySupernet(opts["depth"], opts["width"], shape, opts.get("relaxation"))

    def build_network(self, genotype, opts, shape):
        return ToyNet(genotype, opts.get("width", 4), shape)

    def final_recipe(self, dataset):
        return {"epochs": 2, "drop_path_prob": 0.0, "auxiliary_weight": 0.0, "width": 4}

    def diagrams(self, genotype):
        g = graphviz.Digraph()
        names = ["in"] + [f"{i}:{op}" for i, op in enumerate(genotype)] + ["out"]
        for a, b in zip(names, names[1:]):
            g.edge(a, b)
        return {"chain": g}


@register_strategy
class FirstChoice(Strategy):
    """Toy strategy: walks the space in a fixed order (the first untried architecture next)."""

    name = "first_choice"

    def __init__(self, space, seed: int = 0, start: int = 0):
        super().__init__(space, seed)
        self.count = start

    def ask(self):
        d, n = [], self.count
        for k in self.space.decisions():
            d.append(n % k)
            n //= k
        return self.space.from_decisions(d)

    def tell(self, arch, reward):
        self.count += 1

    def state_dict(self):
        return {**super().state_dict(), "count": self.count}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.count = state["count"]


register_space(ToySpace())
