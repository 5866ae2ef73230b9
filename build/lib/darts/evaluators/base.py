"""What strategies ask for a reward: `evaluate(arch) -> float` (higher is better) and a `name`.

The name identifies the evaluator in a saved search state, so a search is never resumed against a
different one (another dataset, another table column).
"""
from __future__ import annotations

from typing import Any, Protocol


class Evaluator(Protocol):
    name: str

    def evaluate(self, arch: Any) -> float:
        """The reward of `arch`; accuracies are in percent."""
