"""The NATS-Bench size space as the sample-based strategies see it: five decisions of eight widths each.

Mutation changes one layer's width, chosen uniformly, to a different width (as the benchmark's
regularized-evolution baseline on this space does).
"""
from __future__ import annotations

import random
from typing import Sequence

from darts.spaces.nats_sss.arch import CHANNEL_CHOICES, NUM_LAYERS, SizeArch


class NatsSizeArchSpace:
    name = "nats_sss"

    def decisions(self) -> list[int]:
        return [len(CHANNEL_CHOICES)] * NUM_LAYERS

    def from_decisions(self, decisions: Sequence[int]) -> SizeArch:
        return SizeArch.from_codes(decisions)

    def to_decisions(self, arch: SizeArch) -> list[int]:
        return list(arch.codes)

    def sample_random(self, rng: random.Random) -> SizeArch:
        return SizeArch.from_codes([rng.randrange(len(CHANNEL_CHOICES)) for _ in range(NUM_LAYERS)])

    def mutate(self, arch: SizeArch, rng: random.Random) -> SizeArch:
        codes = list(arch.codes)
        layer = rng.randrange(NUM_LAYERS)
        codes[layer] = rng.choice([c for c in range(len(CHANNEL_CHOICES)) if c != codes[layer]])
        return SizeArch.from_codes(codes)

    def encode(self, arch: SizeArch) -> str:
        return arch.to_string()

    def decode(self, data: str) -> SizeArch:
        return SizeArch.from_string(data)
