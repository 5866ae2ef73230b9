"""Every search strategy by name, one table, so `--strategy NAME` and the library pick one from one place.

A strategy is a registered `StrategyInfo`: its kind, options, checks and `run`, the loop that searches. Three
kinds, by what they need from a space (the capabilities a space must have, `requires`):
- "gradient" (DARTS, darts/strategies/gradient.py): a supernet whose alphas are learned by the architect; its
  options are its own and every registered search add-on's (darts/addons), gathered at each lookup;
- "weight-sharing" (ENAS, darts/strategies/weight_sharing.py): a supernet that runs one sampled path, and the
  space's ArchSpace;
- "sample" (random, evolution, REINFORCE, ...): the space's ArchSpace and an evaluator for rewards. A sample
  strategy is a `Strategy` subclass given to `register_strategy`; its constructor's keyword arguments become
  its options (flags `--<strategy>_<argument>`), with the constructor's defaults.
"""
from __future__ import annotations

import inspect
from functools import partial

from darts.errors import UserError
from darts.options import Option
from darts.strategies.base import ArchSpace, Strategy, constructor_options
from darts.strategies.bayesian import BayesianOptimization
from darts.strategies.evolution import RegularizedEvolution
from darts.strategies.ppo import PPO
from darts.strategies.info import StrategyInfo  # noqa: F401  (register_strategy takes one)
from darts.strategies.random_search import RandomSearch
from darts.strategies.reinforce import Reinforce

# The sample-based strategies' classes by name (build_strategy makes one); registered like every strategy.
BUILTIN_SAMPLE_STRATEGIES = (RandomSearch, RegularizedEvolution, Reinforce, BayesianOptimization, PPO)
SAMPLE_STRATEGIES: dict[str, type[Strategy]] = {cls.name: cls for cls in BUILTIN_SAMPLE_STRATEGIES}

_NOT_OPTIONS = {"self", "space", "seed", "device"}


def sample_strategy_options(cls: type[Strategy]) -> tuple[Option, ...]:
    """The options of a sample strategy: its constructor's keyword arguments, flags prefixed by its name."""
    return constructor_options(cls, _NOT_OPTIONS)


def _check_sample(cls: type[Strategy], settings: dict) -> None:
    """The strategy's rules between its options, on the run's settings (flags --<strategy>_<argument>)."""
    values = {o.field: settings.get(o.name, o.default) for o in sample_strategy_options(cls)}
    cls.check_options(values)


def _describe(cls: type[Strategy]) -> str:
    return (cls.__doc__ or inspect.getmodule(cls).__doc__ or cls.name).strip().splitlines()[0]


def _sample_info(cls: type[Strategy]) -> StrategyInfo:
    from darts.strategies.sampling import prepare_sample, run_sample
    return StrategyInfo(cls.name, "sample", _describe(cls), sample_strategy_options(cls),
                        own_check=partial(_check_sample, cls), run=run_sample, prepare=partial(prepare_sample, cls))


_STRATEGIES: dict[str, StrategyInfo] = {}
_LOADED = False


def _load_builtin() -> None:
    """DARTS and ENAS first, then the built-in sample strategies (registration order is listing order)."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        from darts.strategies.gradient import DARTS
        from darts.strategies.weight_sharing import ENAS
        for builtin in (DARTS, ENAS) + BUILTIN_SAMPLE_STRATEGIES:
            register_strategy(builtin)
        from darts.strategies.multi_fidelity import multi_fidelity_strategies  # asha, hyperband, bohb
        for info in multi_fidelity_strategies():
            register_strategy(info)
        # the multi-objective strategies (darts/strategies/multi_objective*.py), registered as StrategyInfos
        from darts.strategies.multi_objective_command import BUILTIN_MULTI_OBJECTIVE, multi_objective_info
        for cls in BUILTIN_MULTI_OBJECTIVE:
            register_strategy(multi_objective_info(cls))


def register_strategy(strategy):
    """Add a strategy: a `StrategyInfo`, or a sample-based `Strategy` subclass (a unique `name`); usable as a
    decorator on the class. Returns what it was given."""
    _load_builtin()
    is_class = isinstance(strategy, type)
    if is_class and not issubclass(strategy, Strategy):
        raise TypeError(f"register_strategy takes a StrategyInfo or a Strategy subclass, got {strategy!r}")
    name = strategy.name
    old = _STRATEGIES.get(name)
    if old is not None and (SAMPLE_STRATEGIES.get(name) is not strategy if is_class else old is not strategy):
        raise ValueError(f"a strategy named {name!r} is already registered")
    if is_class:
        SAMPLE_STRATEGIES[name] = strategy
        _STRATEGIES[name] = _sample_info(strategy)
    else:
        _STRATEGIES[name] = strategy
    return strategy


def strategies() -> dict[str, StrategyInfo]:
    """Name -> StrategyInfo of every strategy (DARTS and ENAS first, then the sample-based ones)."""
    _load_builtin()
    return dict(_STRATEGIES)


def get_strategy(name: str) -> StrategyInfo:
    table = strategies()
    if name not in table:
        raise UserError(f"unknown strategy {name!r}; choose one of {', '.join(table)}")
    return table[name]


def build_strategy(name: str, space: ArchSpace, seed: int = 0, **options) -> Strategy:
    """A sample strategy by name; `options` are its keyword arguments (e.g. population_size for evolution)."""
    _load_builtin()
    try:
        cls = SAMPLE_STRATEGIES[name]
    except KeyError:
        raise UserError(f"unknown strategy {name!r}; choose one of {', '.join(SAMPLE_STRATEGIES)}") from None
    return cls(space, seed=seed, **options)
