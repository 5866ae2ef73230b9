"""The DARTS recurrent space as the sample-based strategies see it (the ENAS recurrent encoding).

Each intermediate node i (1-based) makes two decisions: its input among the nodes 0..i-1 and its
activation. 'none' is not a candidate, so every sampled cell is a real cell like the derived
genotypes; all nodes are averaged into the cell's output (concat 1..steps), as in DARTS. Mutation
changes one node's activation, or moves one node to another input.
"""
from __future__ import annotations

import random
from typing import Sequence

from darts.genotype import GenotypeError, RecurrentGenotype
from darts.rnn_ops import RNN_PRIMITIVES


class DartsRnnArchSpace:
    name = "darts_rnn"

    def __init__(self, primitives: Sequence[str] = RNN_PRIMITIVES, steps: int = 8):
        self.ops = [p for p in primitives if p != "none"]
        if not self.ops:
            raise ValueError("the candidate set has no activation besides 'none'")
        self.steps = steps
        self.concat = list(range(1, steps + 1))

    def decisions(self) -> list[int]:
        out = []
        for i in range(self.steps):
            out += [i + 1, len(self.ops)]  # input among nodes 0..i, activation
        return out

    def from_decisions(self, decisions: Sequence[int]) -> RecurrentGenotype:
        d = [int(x) for x in decisions]
        if len(d) != 2 * self.steps:
            raise GenotypeError(f"expected {2 * self.steps} decisions, got {len(d)}")
        return RecurrentGenotype(recurrent=[(self.ops[d[2 * i + 1]], d[2 * i]) for i in range(self.steps)],
                                 concat=list(self.concat))

    def to_decisions(self, genotype: RecurrentGenotype) -> list[int]:
        if len(genotype.recurrent) != self.steps:
            raise GenotypeError(f"the cell has {len(genotype.recurrent)} nodes; this space has {self.steps}")
        out = []
        for i, (op, j) in enumerate(genotype.recurrent):
            if op not in self.ops:
                raise GenotypeError(f"node {i + 1} uses {op!r}, not a candidate of this space ({self.ops})")
            if not 0 <= j <= i:
                raise GenotypeError(f"node {i + 1} takes input {j}; it can only take 0..{i}")
            out += [int(j), self.ops.index(op)]
        return out

    def sample_random(self, rng: random.Random) -> RecurrentGenotype:
        return self.from_decisions([rng.randrange(n) for n in self.decisions()])

    def mutate(self, genotype: RecurrentGenotype, rng: random.Random) -> RecurrentGenotype:
        d = self.to_decisions(genotype)
        i = rng.randrange(self.steps)
        inputs = [j for j in range(i + 1) if j != d[2 * i]]
        if inputs and rng.random() < 0.5:  # another input
            d[2 * i] = rng.choice(inputs)
        else:  # another activation
            d[2 * i + 1] = rng.choice([k for k in range(len(self.ops)) if k != d[2 * i + 1]])
        return self.from_decisions(d)

    def encode(self, genotype: RecurrentGenotype) -> dict:
        return genotype.to_dict()

    def decode(self, data: dict) -> RecurrentGenotype:
        return RecurrentGenotype.from_dict(data)
