"""What strategies ask for a reward: `evaluate(arch) -> float` (higher is better) and a `name`.

The name identifies the evaluator in a saved search state, so a search is never resumed against a
different one (another dataset, another table column).
"""
from __future__ import annotations

import zlib
from typing import Any, Protocol


class Evaluator(Protocol):
    name: str

    def evaluate(self, arch: Any) -> float:
        """The reward of `arch`; accuracies are in percent."""


def arch_seed(seed: int, key: str) -> int:
    """The seed an architecture is trained from: the evaluator's seed and the architecture itself, so its reward
    does not depend on when it was sampled (a resumed search sees the same rewards)."""
    return (seed * 1_000_003 + zlib.crc32(key.encode())) % (2 ** 63)
