"""NSGA-II and MOTPE over an ArchSpace's categorical decisions, through Optuna's multi-objective samplers.

Each decision is one categorical parameter of an Optuna study with one direction per objective.
- `nsga2`: Optuna's NSGAIISampler (Deb et al. 2002): generations of `population_size` trials; parents by
  non-domination rank then crowding distance; uniform crossover and per-decision mutation.
- `motpe`: Optuna's TPESampler with several objectives (MOTPE, Ozaki et al. 2020): the told trials split
  into a good part (by non-domination rank and hypervolume contribution) and the rest, a density fitted to
  each, and the candidate maximizing good / rest proposed. The first `n_startup_trials` are random.
Constraints (cost <= X) go to both samplers as each trial's Optuna constraints (`set_constraint`, one value per
constraint, <= 0 feasible): feasible trials dominate infeasible ones, infeasible ones rank by their violation.

As in darts.strategies.bayesian: a proposal already told is answered with its known values at once (no
evaluation spent) and the sampler asked again, up to `max_repeats` times, then a random architecture is
drawn; every proposal reseeds the sampler from this strategy's random.Random, and the state keeps every
trial the study has seen (decisions, values, Optuna's attributes such as NSGA-II's generation), so
`load_state_dict` rebuilds an identical study and a resumed search equals the uninterrupted one.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

from darts.strategies.base import ArchSpace
from darts.strategies.multi_objective import Constraint, MultiObjectiveStrategy

class OptunaMultiObjective(MultiObjectiveStrategy):
    """The study bookkeeping NSGA-II and MOTPE share; subclasses build the sampler (`_make_sampler`)."""

    option_rules = {"max_repeats": {"minimum": 0}}

    def __init__(self, space: ArchSpace, seed: int = 0, directions: Sequence[str] = ("maximize", "minimize"),
                 constraints: Sequence[Constraint] = (), max_repeats: int = 20):
        super().__init__(space, seed, directions, constraints)
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self.max_repeats = max_repeats
        self.distributions = {f"d{i}": optuna.distributions.CategoricalDistribution(list(range(n)))
                              for i, n in enumerate(space.decisions())}
        self.trials: list[list] = []  # [decisions, values or None (failed), system_attrs] per study trial
        self.known: dict[tuple[int, ...], tuple[float, ...]] = {}
        self._pending = None
        self._new_study()

    def _make_sampler(self, seed: int):
        raise NotImplementedError

    def _new_study(self) -> None:
        self.study = self._optuna.create_study(directions=list(self.directions))
        for decisions, values, system_attrs in self.trials:
            state = {"state": self._optuna.trial.TrialState.FAIL} if values is None else {"values": values}
            self.study.add_trial(self._optuna.trial.create_trial(
                params=self._params(decisions), distributions=self.distributions, system_attrs=system_attrs,
                **state))
            if values is not None:
                self.known[tuple(decisions)] = tuple(values)

    def _params(self, decisions) -> dict:
        return {f"d{i}": int(d) for i, d in enumerate(decisions)}

    def _set_constraints(self, trial, values: Sequence[float]) -> None:
        """Each constraint's violation on the trial (Trial or FrozenTrial), where Optuna's samplers read it."""
        for k, c in enumerate(self.constraints):
            trial.set_constraint(f"c{k}", c.violation(values))

    def _propose(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
            self.study.sampler = self._make_sampler(self.rng.getrandbits(32))
            trial = self.study.ask(self.distributions)
        return tuple(trial.params[k] for k in self.distributions), trial

    def ask(self) -> Any:
        for _ in range(self.max_repeats + 1):
            decisions, trial = self._propose()
            if decisions not in self.known:
                self._pending = (decisions, trial)
                return self.space.from_decisions(decisions)
            self._finish(trial, decisions, self.known[decisions])  # a repeat: its values are known already
        self._pending = None
        return self.space.sample_random(self.rng)

    def tell(self, arch: Any, objectives: Sequence[float]) -> None:  # type: ignore[override]
        decisions = tuple(int(d) for d in self.space.to_decisions(arch))
        values = tuple(float(v) for v in objectives)
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == decisions:
            self._finish(pending[1], decisions, values)
            return
        if pending is not None:  # told about another architecture than proposed: drop the proposal
            self.study.tell(pending[1], state=self._optuna.trial.TrialState.FAIL)
            self.trials.append([list(pending[0]), None, dict(self.study.get_trials(deepcopy=False)[pending[1].number].system_attrs)])
        frozen = self._optuna.trial.create_trial(params=self._params(decisions), distributions=self.distributions,
                                                 values=list(values))
        self._set_constraints(frozen, values)
        self.study.add_trial(frozen)
        self.trials.append([list(decisions), list(values), dict(frozen.system_attrs)])
        self.known[decisions] = values

    def _finish(self, trial, decisions: tuple[int, ...], values: tuple[float, ...]) -> None:
        self._set_constraints(trial, values)
        self.study.tell(trial, list(values))
        frozen = self.study.get_trials(deepcopy=False)[trial.number]
        self.trials.append([list(decisions), list(values), dict(frozen.system_attrs)])
        self.known[decisions] = values

    def state_dict(self) -> dict:
        return {**super().state_dict(), "trials": [[list(d), v, dict(a)] for d, v, a in self.trials]}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.trials = [[list(d), None if v is None else list(v), dict(a)] for d, v, a in state["trials"]]
        self.known, self._pending = {}, None
        self._new_study()


class NSGA2(OptunaMultiObjective):
    """NSGA-II (Optuna's NSGAIISampler) over the space's decisions."""

    name = "nsga2"
    option_rules = {**OptunaMultiObjective.option_rules, "population_size": {"minimum": 2},
                    "mutation_prob": {"minimum": 0.0, "maximum": 1.0}, "crossover_prob": {"minimum": 0.0, "maximum": 1.0}}

    def __init__(self, space: ArchSpace, seed: int = 0, directions: Sequence[str] = ("maximize", "minimize"),
                 constraints: Sequence[Constraint] = (), population_size: int = 20, mutation_prob: float | None = None,
                 crossover_prob: float = 0.9, max_repeats: int = 20):
        self.check_arguments({"population_size": population_size, "mutation_prob": mutation_prob,
                              "crossover_prob": crossover_prob, "max_repeats": max_repeats})
        self.population_size, self.mutation_prob, self.crossover_prob = population_size, mutation_prob, crossover_prob
        super().__init__(space, seed, directions, constraints, max_repeats)

    def _make_sampler(self, seed: int):
        return _ordered_nsga2_sampler(self._optuna)(population_size=self.population_size, mutation_prob=self.mutation_prob,
                                                   crossover_prob=self.crossover_prob, seed=seed)


class MOTPE(OptunaMultiObjective):
    """MOTPE: Optuna's TPESampler with several objectives, over the space's decisions."""

    name = "motpe"
    option_rules = {**OptunaMultiObjective.option_rules, "n_startup_trials": {"minimum": 1},
                    "n_ei_candidates": {"minimum": 1}}

    def __init__(self, space: ArchSpace, seed: int = 0, directions: Sequence[str] = ("maximize", "minimize"),
                 constraints: Sequence[Constraint] = (), n_startup_trials: int = 10, n_ei_candidates: int = 24,
                 multivariate: bool = True, max_repeats: int = 20):
        self.check_arguments({"n_startup_trials": n_startup_trials, "n_ei_candidates": n_ei_candidates,
                              "max_repeats": max_repeats})
        self.n_startup_trials, self.n_ei_candidates, self.multivariate = n_startup_trials, n_ei_candidates, multivariate
        super().__init__(space, seed, directions, constraints, max_repeats)

    def _make_sampler(self, seed: int):
        return self._optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.n_startup_trials,
                                                n_ei_candidates=self.n_ei_candidates, multivariate=self.multivariate)


def _ordered_nsga2_sampler(optuna):
    """NSGAIISampler whose parents of a generation come in trial order. Optuna caches a generation's parents
    in the study and reads the cache back in trial order, while the first read returns them in selection order;
    the order decides which parents the tournament draws. A resumed study rebuilds the cache at another trial
    than the uninterrupted run did, so one order for both reads keeps the two runs equal. The set of parents,
    and so the algorithm, is unchanged."""
    global _OrderedNSGAII
    if _OrderedNSGAII is None:
        class _OrderedNSGAII(optuna.samplers.NSGAIISampler):
            def select_parent(self, study, generation):
                return sorted(super().select_parent(study, generation), key=lambda t: t.number)
    return _OrderedNSGAII


_OrderedNSGAII = None
