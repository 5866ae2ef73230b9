"""The DARTS convolutional space as the sample-based strategies see it (the NASNet / ENAS encoding).

Each intermediate node of the normal and of the reduction cell makes four decisions: two inputs
(among the cell's two inputs and the earlier nodes) and an operation for each. All nodes are
concatenated into the cell's output, as in DARTS. 'none' is not a candidate: a sampled cell is a real
cell, as in the paper's derived genotypes.

Random sampling draws the two inputs of a node without replacement (as derived DARTS cells have two
distinct inputs); the decision encoding also allows equal inputs, as ENAS does. Mutation follows
AmoebaNet: change one edge's operation, or move one edge to another input.
"""
from __future__ import annotations

import random
from typing import Sequence

from darts.genotype import Genotype, GenotypeError
from darts.ops import PRIMITIVES

CELLS = ("normal", "reduce")


class DartsCnnArchSpace:
    name = "darts"

    def __init__(self, primitives: Sequence[str] = PRIMITIVES, steps: int = 4):
        self.ops = [p for p in primitives if p != "none"]
        if not self.ops:
            raise ValueError("the candidate set has no operation besides 'none'")
        self.steps = steps
        self.concat = list(range(2, steps + 2))

    def decisions(self) -> list[int]:
        per_cell = []
        for i in range(self.steps):
            per_cell += [i + 2, i + 2, len(self.ops), len(self.ops)]  # input a, input b, op a, op b
        return per_cell * len(CELLS)

    def from_decisions(self, decisions: Sequence[int]) -> Genotype:
        d = [int(x) for x in decisions]
        if len(d) != 4 * self.steps * len(CELLS):
            raise GenotypeError(f"expected {4 * self.steps * len(CELLS)} decisions, got {len(d)}")
        cells = []
        for c in range(len(CELLS)):
            edges = []
            for i in range(self.steps):
                in_a, in_b, op_a, op_b = d[4 * (c * self.steps + i): 4 * (c * self.steps + i) + 4]
                edges += [(self.ops[op_a], in_a), (self.ops[op_b], in_b)]
            cells.append(edges)
        return Genotype(normal=cells[0], normal_concat=list(self.concat), reduce=cells[1],
                        reduce_concat=list(self.concat))

    def to_decisions(self, genotype: Genotype) -> list[int]:
        out = []
        for cell in CELLS:
            edges = getattr(genotype, cell)
            if len(edges) != 2 * self.steps:
                raise GenotypeError(f"{cell} cell has {len(edges)} edges; this space has {self.steps} nodes of two")
            for i in range(self.steps):
                (op_a, in_a), (op_b, in_b) = edges[2 * i], edges[2 * i + 1]
                for op in (op_a, op_b):
                    if op not in self.ops:
                        raise GenotypeError(f"{cell} cell uses {op!r}, not a candidate of this space ({self.ops})")
                out += [int(in_a), int(in_b), self.ops.index(op_a), self.ops.index(op_b)]
        return out

    def sample_random(self, rng: random.Random) -> Genotype:
        d = []
        for _ in CELLS:
            for i in range(self.steps):
                in_a, in_b = rng.sample(range(i + 2), 2)
                d += [in_a, in_b, rng.randrange(len(self.ops)), rng.randrange(len(self.ops))]
        return self.from_decisions(d)

    def mutate(self, genotype: Genotype, rng: random.Random) -> Genotype:
        d = self.to_decisions(genotype)
        c, i, edge = rng.randrange(len(CELLS)), rng.randrange(self.steps), rng.randrange(2)
        base = 4 * (c * self.steps + i)
        other_input = d[base + 1 - edge]
        inputs = [j for j in range(i + 2) if j != d[base + edge] and j != other_input]
        if inputs and rng.random() < 0.5:  # hidden-state mutation: another input
            d[base + edge] = rng.choice(inputs)
        else:  # op mutation: another operation
            d[base + 2 + edge] = rng.choice([k for k in range(len(self.ops)) if k != d[base + 2 + edge]])
        return self.from_decisions(d)

    def encode(self, genotype: Genotype) -> dict:
        return genotype.to_dict()

    def decode(self, data: dict) -> Genotype:
        return Genotype.from_dict(data)
