"""Sample-based strategies by name, so a CLI picks one with `--strategy NAME`."""
from __future__ import annotations

from darts.errors import UserError
from darts.strategies.base import ArchSpace, Strategy
from darts.strategies.evolution import RegularizedEvolution
from darts.strategies.random_search import RandomSearch
from darts.strategies.reinforce import Reinforce

SAMPLE_STRATEGIES: dict[str, type[Strategy]] = {
    RandomSearch.name: RandomSearch,
    RegularizedEvolution.name: RegularizedEvolution,
    Reinforce.name: Reinforce,
}


def build_strategy(name: str, space: ArchSpace, seed: int = 0, **options) -> Strategy:
    """A strategy by name; `options` are its keyword arguments (e.g. population_size for evolution)."""
    try:
        cls = SAMPLE_STRATEGIES[name]
    except KeyError:
        raise UserError(f"unknown strategy {name!r}; choose one of {', '.join(SAMPLE_STRATEGIES)}") from None
    return cls(space, seed=seed, **options)
