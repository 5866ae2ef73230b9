"""Random search: every architecture drawn uniformly from the space, independently of the rewards.

The baseline every strategy must beat (Li & Talwalkar 2019; Yang et al. 2020 show it is a strong one).
"""
from __future__ import annotations

from typing import Any

from darts.strategies.base import Strategy


class RandomSearch(Strategy):
    name = "random"

    def ask(self) -> Any:
        return self.space.sample_random(self.rng)

    def tell(self, arch: Any, reward: float) -> None:
        pass
