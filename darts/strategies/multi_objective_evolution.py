"""Pareto regularized evolution, and random search with a front: the multi-objective strategies without Optuna.

`pareto_evolution` is regularized (aging) evolution (Real et al. 2019) with the tournament of NSGA-II: start
with `population_size` random architectures; each cycle draw `sample_size` members at random (with
replacement), mutate the best of them and replace the *oldest* member by the child. "Best" is, in order:
least constraint violation (feasibility first: a feasible member beats every infeasible one), lowest
non-domination rank within the population, largest crowding distance within its rank (the less crowded part
of the front), and, last, the earlier drawn. Aging removal is kept: a member survives only through good
descendants.

`mo_random` proposes uniformly random architectures; the loop keeps the front of what it saw (the baseline).
"""
from __future__ import annotations

from collections import deque
from typing import Any, Sequence

from darts.pareto import crowding_distances, non_dominated_ranks
from darts.strategies.base import ArchSpace
from darts.strategies.evolution import check_tournament
from darts.strategies.multi_objective import Constraint, MultiObjectiveStrategy


class ParetoEvolution(MultiObjectiveStrategy):
    """Regularized evolution whose tournament ranks by feasibility, non-domination and crowding."""

    name = "pareto_evolution"
    option_rules = {"population_size": {"minimum": 2}, "sample_size": {"minimum": 1}}

    @classmethod
    def check_options(cls, values: dict) -> None:
        check_tournament(cls.name, values)

    def __init__(self, space: ArchSpace, seed: int = 0, directions: Sequence[str] = ("maximize", "minimize"),
                 constraints: Sequence[Constraint] = (), population_size: int = 20, sample_size: int = 5):
        super().__init__(space, seed, directions, constraints)
        self.check_arguments({"population_size": population_size, "sample_size": sample_size})
        self.population_size, self.sample_size = population_size, sample_size
        self.population: deque[tuple[Any, tuple[float, ...]]] = deque()

    def fitness_keys(self) -> list[tuple[float, int, float]]:
        """Per member, the key the tournament minimizes: (violation, rank, -crowding)."""
        values = [v for _, v in self.population]
        violations = [self.violation(v) for v in values]
        feasible = [i for i, x in enumerate(violations) if x == 0]
        ranks = [0] * len(values)
        for i, r in zip(feasible, non_dominated_ranks([values[i] for i in feasible], self.directions)):
            ranks[i] = r
        crowding = [0.0] * len(values)
        for rank in set(ranks[i] for i in feasible):
            members = [i for i in feasible if ranks[i] == rank]
            minimized = [[-x if d == "maximize" else x for x, d in zip(values[i], self.directions)] for i in members]
            for i, c in zip(members, crowding_distances(minimized)):
                crowding[i] = c
        return [(violations[i], ranks[i], -crowding[i]) for i in range(len(values))]

    def ask(self) -> Any:
        if len(self.population) < self.population_size:
            return self.space.sample_random(self.rng)
        keys = self.fitness_keys()
        drawn = [self.rng.randrange(len(self.population)) for _ in range(self.sample_size)]
        parent = min(drawn, key=lambda i: keys[i])  # min keeps the first drawn among equals
        return self.space.mutate(self.population[parent][0], self.rng)

    def tell(self, arch: Any, objectives: Sequence[float]) -> None:  # type: ignore[override]
        self.population.append((arch, tuple(float(v) for v in objectives)))
        if len(self.population) > self.population_size:
            self.population.popleft()  # the oldest, not the worst

    def state_dict(self) -> dict:
        return {**super().state_dict(), "population": [[self.space.encode(a), list(v)] for a, v in self.population]}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.population = deque((self.space.decode(a), tuple(float(x) for x in v)) for a, v in state["population"])


class MultiObjectiveRandom(MultiObjectiveStrategy):
    """Random search, the baseline: uniformly random architectures; the front is of what it saw."""

    name = "mo_random"

    def ask(self) -> Any:
        return self.space.sample_random(self.rng)

    def tell(self, arch: Any, objectives: Sequence[float]) -> None:  # type: ignore[override]
        pass
