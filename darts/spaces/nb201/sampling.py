"""NAS-Bench-201 as the sample-based strategies see it: six decisions of five options each.

Mutation changes the operation of one edge, chosen uniformly, to a different operation (the
benchmark's regularized-evolution baseline does the same, but picks a node first, then an edge).
"""
from __future__ import annotations

import random
from typing import Sequence

from darts.spaces.common.nb201_arch import EDGES, Nb201Arch, parse_arch
from darts.spaces.common.nb201_ops import NB201_OPS


class Nb201ArchSpace:
    name = "nb201"

    def decisions(self) -> list[int]:
        return [len(NB201_OPS)] * len(EDGES)

    def from_decisions(self, decisions: Sequence[int]) -> Nb201Arch:
        return Nb201Arch.from_codes(decisions)

    def to_decisions(self, arch: Nb201Arch) -> list[int]:
        return list(arch.codes)

    def sample_random(self, rng: random.Random) -> Nb201Arch:
        return Nb201Arch.from_codes([rng.randrange(len(NB201_OPS)) for _ in EDGES])

    def mutate(self, arch: Nb201Arch, rng: random.Random) -> Nb201Arch:
        codes = list(arch.codes)
        e = rng.randrange(len(EDGES))
        codes[e] = rng.choice([c for c in range(len(NB201_OPS)) if c != codes[e]])
        return Nb201Arch.from_codes(codes)

    def encode(self, arch: Nb201Arch) -> str:
        return arch.to_string()

    def decode(self, data: str) -> Nb201Arch:
        return parse_arch(data)
