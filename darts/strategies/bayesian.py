"""Bayesian optimisation over an ArchSpace's categorical decisions, with Optuna's ask / tell interface.

Each decision is one categorical parameter. The default sampler is TPE (Bergstra et al. 2011): it splits
the architectures told so far into a good fraction and the rest, fits a density to each (per decision,
or jointly with `multivariate`), and proposes the candidate that maximises good / rest, which is
proportional to expected improvement. The first `n_startup_trials` proposals are random. `sampler="gp"`
uses Optuna's Gaussian-process sampler instead (slower: a GP fit per proposal).

An architecture already told is never proposed twice: a repeat proposal is told its known reward at
once (no evaluation is spent on it) and the sampler asked again, up to `max_repeats` times, after which a
random architecture is drawn.

Proposals made while earlier ones are still out (trials evaluated in parallel, darts.trials) are sampled with
TPE's constant liar: the outstanding ones count as the worst so far, so the sampler spreads its proposals
instead of repeating one; a proposal equal to one still out is drawn again. One proposal at a time, nothing
changes.

Exact resume without Optuna's private state: every proposal reseeds the sampler from this strategy's own
random.Random (saved by the base class), and the state keeps every trial the study has seen, in order,
so `load_state_dict` rebuilds an identical study.
"""
from __future__ import annotations

import warnings
from typing import Any

from darts.strategies.base import ArchSpace, Strategy

SAMPLERS = ("tpe", "gp")


class BayesianOptimization(Strategy):
    name = "bo"
    option_rules = {"sampler": {"choices": SAMPLERS}, "n_startup_trials": {"minimum": 1},
                    "n_ei_candidates": {"minimum": 1}, "max_repeats": {"minimum": 0}}

    def __init__(self, space: ArchSpace, seed: int = 0, sampler: str = "tpe", n_startup_trials: int = 10,
                 n_ei_candidates: int = 24, multivariate: bool = True, max_repeats: int = 20):
        super().__init__(space, seed)
        self.check_arguments({"sampler": sampler, "n_startup_trials": n_startup_trials,
                              "n_ei_candidates": n_ei_candidates, "max_repeats": max_repeats})
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self.sampler, self.n_startup_trials = sampler, n_startup_trials
        self.n_ei_candidates, self.multivariate, self.max_repeats = n_ei_candidates, multivariate, max_repeats
        self.distributions = {f"d{i}": optuna.distributions.CategoricalDistribution(list(range(n)))
                              for i, n in enumerate(space.decisions())}
        self.trials: list[list] = []  # [decisions, reward] per trial the study holds, in order
        self.known: dict[tuple[int, ...], float] = {}
        self._pending = None  # (decisions, optuna trial) of the last proposal not yet told
        self._outstanding: dict = {}  # parallel trials (darts.trials): earlier proposals still out, by decisions
        self._new_study()

    def _new_study(self) -> None:
        self.study = self._optuna.create_study(direction="maximize")
        failed = self._optuna.trial.TrialState.FAIL
        for decisions, reward in self.trials:
            self.study.add_trial(self._optuna.trial.create_trial(
                params=self._params(decisions), distributions=self.distributions, value=reward,
                **({"state": failed} if reward is None else {})))
            if reward is not None:
                self.known[tuple(decisions)] = reward

    def _params(self, decisions) -> dict:
        return {f"d{i}": int(d) for i, d in enumerate(decisions)}

    def _make_sampler(self, seed: int):
        samplers = self._optuna.samplers
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
            if self.sampler == "gp":
                return samplers.GPSampler(seed=seed, n_startup_trials=self.n_startup_trials)
            return samplers.TPESampler(seed=seed, n_startup_trials=self.n_startup_trials,
                                       n_ei_candidates=self.n_ei_candidates, multivariate=self.multivariate,
                                       constant_liar=bool(self._outstanding))  # parallel trials: out = worst

    def _propose(self) -> tuple[tuple[int, ...], Any]:
        self.study.sampler = self._make_sampler(self.rng.getrandbits(32))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
            trial = self.study.ask(self.distributions)
        return tuple(trial.params[k] for k in self.distributions), trial

    def ask(self) -> Any:
        if self._pending is not None:  # parallel trials (darts.trials): the last proposal is still out
            self._outstanding[self._pending[0]] = self._pending[1]
            self._pending = None
        for _ in range(self.max_repeats + 1):
            decisions, trial = self._propose()
            if decisions in self._outstanding:  # parallel trials: out already, its reward not known yet
                self.study.tell(trial, state=self._optuna.trial.TrialState.FAIL)
                self.trials.append([list(decisions), None])
                continue
            if decisions not in self.known:
                self._pending = (decisions, trial)
                return self.space.from_decisions(decisions)
            self._finish(trial, decisions, self.known[decisions])  # a repeat: its reward is known already
        self._pending = None
        return self.space.sample_random(self.rng)

    def tell(self, arch: Any, reward: float) -> None:
        decisions = tuple(int(d) for d in self.space.to_decisions(arch))
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == decisions:
            self._finish(pending[1], decisions, float(reward))
            return
        if decisions in self._outstanding:  # parallel trials: an earlier proposal's reward
            self._pending = pending
            self._finish(self._outstanding.pop(decisions), decisions, float(reward))
            return
        if pending is not None:  # told about another architecture than proposed: drop the proposal
            self.study.tell(pending[1], state=self._optuna.trial.TrialState.FAIL)
            self.trials.append([list(pending[0]), None])
        self.study.add_trial(self._optuna.trial.create_trial(
            params=self._params(decisions), distributions=self.distributions, value=float(reward)))
        self.trials.append([list(decisions), float(reward)])
        self.known[decisions] = float(reward)

    def _finish(self, trial, decisions: tuple[int, ...], reward: float) -> None:
        self.study.tell(trial, reward)
        self.trials.append([list(decisions), reward])
        self.known[decisions] = reward

    def state_dict(self) -> dict:
        return {**super().state_dict(), "trials": [[list(d), r] for d, r in self.trials]}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.trials = [[list(d), r] for d, r in state["trials"]]
        self.known, self._pending, self._outstanding = {}, None, {}
        self._new_study()
