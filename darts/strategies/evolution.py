"""Regularized (aging) evolution, Real et al. 2019, Algorithm 1.

Start with `population_size` random architectures. Then, each cycle: draw `sample_size` members at
random (with replacement, as the reference code does), mutate the best of them, add the child and
remove the *oldest* member. Removing the oldest instead of the worst is the regularization: an
architecture survives only by having good descendants, not by one lucky evaluation.

Defaults are those of the NAS-Bench-201 / NATS-Bench baseline: population 10, sample size 3.
"""
from __future__ import annotations

from collections import deque
from typing import Any

from darts.errors import UserError
from darts.strategies.base import ArchSpace, Strategy


def check_tournament(name: str, values: dict) -> None:
    """A tournament draws from the population: refuse a sample larger than the population (flags of `name`)."""
    if values["sample_size"] > values["population_size"]:
        raise UserError(f"--{name}_sample_size {values['sample_size']} exceeds --{name}_population_size "
                        f"{values['population_size']}: the tournament draws from the population; give a "
                        f"sample size of at most the population size")


class RegularizedEvolution(Strategy):
    name = "evolution"
    option_rules = {"population_size": {"minimum": 1}, "sample_size": {"minimum": 1}}

    @classmethod
    def check_options(cls, values: dict) -> None:
        check_tournament(cls.name, values)

    def __init__(self, space: ArchSpace, seed: int = 0, population_size: int = 10, sample_size: int = 3):
        super().__init__(space, seed)
        self.check_arguments({"population_size": population_size, "sample_size": sample_size})
        self.population_size = population_size
        self.sample_size = sample_size
        self.population: deque[tuple[Any, float]] = deque()

    def ask(self) -> Any:
        if len(self.population) < self.population_size:
            return self.space.sample_random(self.rng)
        members = list(self.population)
        sample = [members[self.rng.randrange(len(members))] for _ in range(self.sample_size)]
        parent = max(sample, key=lambda m: m[1])[0]
        return self.space.mutate(parent, self.rng)

    def tell(self, arch: Any, reward: float) -> None:
        self.population.append((arch, float(reward)))
        if len(self.population) > self.population_size:
            self.population.popleft()  # the oldest, not the worst

    def state_dict(self) -> dict:
        return {**super().state_dict(),
                "population": [[self.space.encode(a), r] for a, r in self.population]}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.population = deque((self.space.decode(a), float(r)) for a, r in state["population"])
