"""The NASNet space as the sample-based strategies see it: the paper's controller decisions.

Each block of the normal and then of the reduction cell is five decisions (section 3 of the paper):
hidden state a, hidden state b (each among the two cell inputs and the earlier blocks), an operation
for a, an operation for b, and how to combine them. Every decision sequence is a valid cell, so random
sampling draws each decision uniformly, and mutation (AmoebaNet's hidden-state and op mutations, plus
the combination) redraws one decision to another value. The cell's output is its unused block outputs.
"""
from __future__ import annotations

import random
from typing import Sequence

from darts.arch_space import mutate_one_decision
from darts.genotype import GenotypeError
from darts.spaces.nasnet.genotype import (CELLS, COMBINES, Block, NasnetCell, NasnetGenotype, nasnet_from_dict,
                                          unused_states)
from darts.spaces.nasnet.ops import NASNET_OPS


class NasnetArchSpace:
    name = "nasnet"

    def __init__(self, ops: Sequence[str] = NASNET_OPS, blocks: int = 5, combines: Sequence[str] = COMBINES):
        self.ops, self.blocks, self.combines = list(ops), blocks, list(combines)
        if not self.ops or blocks < 1 or not self.combines or set(self.combines) - set(COMBINES):
            raise ValueError(f"a nasnet space needs operations, at least one block and combinations among "
                             f"{COMBINES}; got {ops}, {blocks}, {combines}")

    def decisions(self) -> list[int]:
        per_cell = []
        for b in range(self.blocks):
            per_cell += [b + 2, b + 2, len(self.ops), len(self.ops), len(self.combines)]
        return per_cell * len(CELLS)

    def from_decisions(self, decisions: Sequence[int]) -> NasnetGenotype:
        d = [int(x) for x in decisions]
        if len(d) != 5 * self.blocks * len(CELLS):
            raise GenotypeError(f"expected {5 * self.blocks * len(CELLS)} decisions, got {len(d)}")
        cells = []
        for c in range(len(CELLS)):
            blocks = []
            for b in range(self.blocks):
                in_a, in_b, op_a, op_b, comb = d[5 * (c * self.blocks + b): 5 * (c * self.blocks + b) + 5]
                blocks.append(Block((self.ops[op_a], self.ops[op_b]), (in_a, in_b), self.combines[comb]))
            cells.append(NasnetCell(tuple(blocks), unused_states(blocks)))
        return NasnetGenotype(*cells)

    def to_decisions(self, genotype: NasnetGenotype) -> list[int]:
        out = []
        for name in CELLS:
            cell = getattr(genotype, name)
            if len(cell.blocks) != self.blocks:
                raise GenotypeError(f"the {name} cell has {len(cell.blocks)} blocks; this space has {self.blocks}")
            for b, block in enumerate(cell.blocks):
                for op in block.ops:
                    if op not in self.ops:
                        raise GenotypeError(f"{name} block {b} uses {op!r}, not a candidate of this space")
                if block.combine not in self.combines:
                    raise GenotypeError(f"{name} block {b} combines by {block.combine!r}, not one of {self.combines}")
                out += [*block.inputs, self.ops.index(block.ops[0]), self.ops.index(block.ops[1]),
                        self.combines.index(block.combine)]
        return out

    def sample_random(self, rng: random.Random) -> NasnetGenotype:
        return self.from_decisions([rng.randrange(n) for n in self.decisions()])

    def mutate(self, genotype: NasnetGenotype, rng: random.Random) -> NasnetGenotype:
        return mutate_one_decision(self, genotype, rng)

    def encode(self, genotype: NasnetGenotype) -> dict:
        return genotype.to_dict()

    def decode(self, data: dict) -> NasnetGenotype:
        return nasnet_from_dict(data)
