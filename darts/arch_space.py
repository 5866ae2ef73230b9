"""What a sample-based strategy may ask of a search space: the `ArchSpace` interface every space's sampling.py
implements, below both (the spaces implement it, darts.strategies searches through it), and the mutation
most spaces share.
"""
from __future__ import annotations

import random
from typing import Any, Protocol, Sequence


class ArchSpace(Protocol):
    """What a strategy may ask of a search space."""

    name: str

    def sample_random(self, rng: random.Random) -> Any: ...

    def mutate(self, arch: Any, rng: random.Random) -> Any:
        """A copy of `arch` with one small change (never `arch` itself)."""

    def decisions(self) -> list[int]:
        """Number of choices of each categorical decision that together define an architecture."""

    def from_decisions(self, decisions: Sequence[int]) -> Any: ...

    def to_decisions(self, arch: Any) -> list[int]: ...

    def encode(self, arch: Any) -> Any:
        """A JSON-able form (for history lines and states)."""

    def decode(self, data: Any) -> Any: ...


def mutate_one_decision(space: ArchSpace, arch: Any, rng: random.Random) -> Any:
    """A copy of `arch` with one of its decisions (among those with a choice) redrawn to another value: the
    mutation of spaces whose every decision vector is a valid architecture."""
    d, sizes = space.to_decisions(arch), space.decisions()
    k = rng.choice([k for k, n in enumerate(sizes) if n > 1])
    d[k] = rng.choice([v for v in range(sizes[k]) if v != d[k]])
    return space.from_decisions(d)
