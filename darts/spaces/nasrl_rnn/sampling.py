"""The tree-cell space as the sample-based strategies see it, in the paper's order of predictions:
(combination, activation) of every tree node, leaves first; the cell inject's (combination,
activation); the cell indices (the node giving c_t, the node receiving c_{t-1}). Mutation changes one
decision to another value."""
from __future__ import annotations

import random
from typing import Sequence

from darts.arch_space import mutate_one_decision
from darts.genotype import GenotypeError
from darts.spaces.nasrl_rnn.genotype import (ACTIVATIONS, COMBINATIONS, EXTRA_ACTIVATIONS, EXTRA_COMBINATIONS,
                                             TreeGenotype, genotype_from_dict, node_count)


class NasRlRnnArchSpace:
    name = "nasrl_rnn"

    def __init__(self, leaves: int = 2, extended: bool = False):
        self.leaves, self.nodes = leaves, node_count(leaves)
        self.combinations = COMBINATIONS + (EXTRA_COMBINATIONS if extended else ())
        self.activations = ACTIVATIONS + (EXTRA_ACTIVATIONS if extended else ())

    def decisions(self) -> list[int]:
        pair = [len(self.combinations), len(self.activations)]
        return pair * (self.nodes + 1) + [self.nodes, self.nodes]

    def from_decisions(self, decisions: Sequence[int]) -> TreeGenotype:
        d = [int(x) for x in decisions]
        if len(d) != len(self.decisions()):
            raise GenotypeError(f"expected {len(self.decisions())} decisions, got {len(d)}")
        pairs = [(self.combinations[d[2 * k]], self.activations[d[2 * k + 1]]) for k in range(self.nodes + 1)]
        return TreeGenotype(tuple(pairs[:-1]), pairs[-1], d[-2], d[-1])

    def to_decisions(self, genotype: TreeGenotype) -> list[int]:
        if len(genotype.nodes) != self.nodes:
            raise GenotypeError(f"the cell has {len(genotype.nodes)} nodes; this space's trees have {self.nodes}")
        out = []
        for comb, act in genotype.nodes + (genotype.inject,):
            if comb not in self.combinations or act not in self.activations:
                raise GenotypeError(f"({comb}, {act}) is outside this space's {self.combinations} x {self.activations}")
            out += [self.combinations.index(comb), self.activations.index(act)]
        return out + [genotype.cell_out, genotype.cell_in]

    def sample_random(self, rng: random.Random) -> TreeGenotype:
        return self.from_decisions([rng.randrange(n) for n in self.decisions()])

    def mutate(self, genotype: TreeGenotype, rng: random.Random) -> TreeGenotype:
        return mutate_one_decision(self, genotype, rng)

    def encode(self, genotype: TreeGenotype) -> dict:
        return genotype.to_dict()

    def decode(self, data: dict) -> TreeGenotype:
        return genotype_from_dict(data)
