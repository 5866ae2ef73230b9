"""Multi-fidelity search: many architectures trained a few epochs, only the best trained longer.

The fidelity is training epochs. Each trial asks Optuna for an architecture (one categorical parameter per
decision of the space's ArchSpace, as darts.strategies.bayesian does), trains it from scratch epoch by epoch
(darts.evaluators.training, the cosine spanning `--fidelity_epochs`, the most epochs a trial trains), reports
each epoch's validation accuracy to the Optuna trial and stops as soon as the pruner says so:

- `asha`: asynchronous successive halving (Li et al. 2020), Optuna's SuccessiveHalvingPruner: rungs at
  r, r*eta, r*eta^2, ... epochs (r = `--min_fidelity_epochs`); a trial reaching a rung goes on only if its
  accuracy is in the top 1/eta of all accuracies recorded at that rung so far. Proposals are random.
- `hyperband`: Hyperband (Li et al. 2018) over asynchronous brackets, Optuna's HyperbandPruner: each trial
  falls in one bracket, by a hash of its number (its first rung at r, r*eta, ...; with a maximum of r*eta^k
  epochs, the last bracket stops no trial); random proposals.
- `bohb`: the same Hyperband brackets with TPE proposals. By default BOHB's model (Falkner et al. 2018,
  written here since Optuna lacks it): a third of the proposals random, the rest from a multivariate TPE
  fitted on the accuracies at the largest rung with at least `n_min` of them (default: decisions + 1),
  all brackets together, 64 candidates. It differs from BOHB in its brackets, which are Optuna's asynchronous
  ones (BOHB runs synchronous successive halving), and in TPE's kernels and good share (Optuna's 10 % up to
  25 results, BOHB's 15 %).
  `--bohb_model bracket` is Optuna's own combination instead (TPESampler + HyperbandPruner): TPE sees only
  the trials of the proposal's bracket, ranking stopped trials by the epochs they reached, then their last
  accuracy; that is TPE inside Hyperband brackets, not BOHB.

The search evaluates `--budget` trials, or stops starting trials once `--epoch_budget` epochs are trained in
all. The best architecture is the one trained for the most epochs, best accuracy among those. History: one
line per trial (its arch, epochs reached, accuracy curve, epochs it cost, whether it was stopped). A repeated
architecture reports its known accuracies without training (trained again only to go further). Exact resume
without Optuna's private state: every proposal reseeds the sampler from this search's own random.Random, and
the state keeps every trial (decisions, curve, Optuna's rung records), so a resumed search rebuilds the study.
"""
from __future__ import annotations

import logging
import random
import time
import warnings
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable

from darts.arch_space import ArchSpace
from darts.checkpoint import read_jsonl
from darts.engine import Epoch, RunEngine
from darts.errors import UserError
from darts.options import Option
from darts.progress import Progress
from darts.strategies.info import SearchOutcome, StrategyInfo

log = logging.getLogger("darts")

METHODS = ("asha", "hyperband", "bohb")
DEFAULT_MAX_EPOCHS = 9  # --fidelity_epochs under these strategies: rungs at 1, 3 and 9 epochs with eta 3
STATE_FORMAT = 1

OPTIONS = (
    Option("min_fidelity_epochs", 1, "multi-fidelity: epochs of the first rung (the last: --fidelity_epochs, 9 by "
                                   "default with these strategies)",
           minimum=1),
    Option("eta", 3, "multi-fidelity: reduction factor; the top 1/eta of a rung go on to eta times its epochs",
           minimum=2),
    Option("epoch_budget", None, "multi-fidelity: start no trial once this many epochs are trained in all "
                                 "(default: --budget trials only)", type=int, minimum=1),
)
MODELS = ("budget", "bracket")
BOHB_OPTIONS = (
    Option("bohb_model", "budget", "bohb: TPE on the largest rung with n_min results (BOHB's), or on the trial's "
                                   "own bracket (Optuna's TPESampler + HyperbandPruner)", choices=MODELS, key="model"),
    Option("bohb_n_min", None, "bohb: results TPE needs before it proposes (default: decisions + 1)", type=int,
           minimum=1, key="n_min"),
)
RANDOM_FRACTION = 1 / 3   # BOHB's share of random proposals
CANDIDATES = 64           # BOHB's samples from the good density per proposal


class MultiFidelitySearch:
    """An Optuna study whose trials are architectures, its pruner the method's; `run_trial` does one trial."""

    def __init__(self, space: ArchSpace, method: str = "asha", seed: int = 0, min_epochs: int = 1,
                 max_epochs: int = DEFAULT_MAX_EPOCHS, eta: int = 3, model: str = "budget", n_min: int | None = None):
        if method not in METHODS or model not in MODELS:
            raise UserError(f"unknown multi-fidelity method {method!r} or model {model!r}; choose among "
                            f"{', '.join(METHODS)} and {', '.join(MODELS)}")
        check_fidelities(min_epochs, max_epochs, eta)
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self.space, self.method, self.seed = space, method, seed
        self.name = method
        self.min_epochs, self.max_epochs, self.eta, self.model = min_epochs, max_epochs, eta, model
        self.n_min = n_min or len(space.decisions()) + 1
        self.rng = random.Random(seed)
        self.distributions = {f"d{i}": optuna.distributions.CategoricalDistribution(list(range(n)))
                              for i, n in enumerate(space.decisions())}
        self.trials: list[dict] = []  # per trial, in order: decisions, curve, pruned, Optuna's rung records
        self._new_study()

    def _pruner(self):
        pruners = self._optuna.pruners
        if self.method == "asha":
            return pruners.SuccessiveHalvingPruner(min_resource=self.min_epochs, reduction_factor=self.eta)
        return pruners.HyperbandPruner(min_resource=self.min_epochs, max_resource=self.max_epochs,
                                       reduction_factor=self.eta)

    def _tpe(self, seed: int, **options):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
            return self._optuna.samplers.TPESampler(seed=seed, multivariate=True, **options)

    def _ask(self):
        """The next Optuna trial: its sampler reseeded from this search's RNG; under BOHB's model, its
        parameters proposed by TPE on the results at one budget (enqueued) unless drawn at random."""
        seed = self.rng.getrandbits(32)
        if self.method == "bohb" and self.model == "budget":
            params = self._budget_model_proposal(seed)
            if params is not None:
                self.study.enqueue_trial(params)
            self.study.sampler = self._optuna.samplers.RandomSampler(seed=seed)
        elif self.method == "bohb":
            self.study.sampler = self._tpe(seed, n_startup_trials=self.n_min)
        else:
            self.study.sampler = self._optuna.samplers.RandomSampler(seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
            return self.study.ask(self.distributions)

    def rungs(self) -> list[int]:
        """The epochs of the rungs: min_epochs * eta^k below max_epochs."""
        out = [self.min_epochs]
        while out[-1] * self.eta < self.max_epochs:
            out.append(out[-1] * self.eta)
        return out

    def budget_observations(self) -> tuple[int, list[tuple[list[int], float]]] | None:
        """(epochs, [(decisions, accuracy at those epochs)]) at the largest rung (or the end) that at least
        `n_min` trials reached, all brackets together; None while no rung has that many."""
        for b in sorted(set(self.rungs()) | {self.max_epochs}, reverse=True):
            seen = [(t["decisions"], t["curve"][b - 1]) for t in self.trials if len(t["curve"]) >= b]
            if len(seen) >= self.n_min:
                return b, seen
        return None

    def _budget_model_proposal(self, seed: int) -> dict | None:
        """BOHB's proposal: None (random) a third of the time or without enough results at any budget; else
        TPE's on a study of the results at the largest budget that has enough."""
        draw = self.rng.random()
        observed = self.budget_observations()
        if draw < RANDOM_FRACTION or observed is None:
            return None
        optuna = self._optuna
        model = optuna.create_study(direction="maximize", sampler=self._tpe(
            seed, n_startup_trials=0, n_ei_candidates=CANDIDATES))
        for decisions, accuracy in observed[1]:
            model.add_trial(optuna.trial.create_trial(params=self._params(decisions), distributions=self.distributions,
                                                      value=accuracy))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return model.ask(self.distributions).params

    def _new_study(self) -> None:
        """The study holding every trial so far. Hyperband's brackets hash the study's name with the trial's
        number: the name is fixed by the method and seed, so a rebuilt study puts each trial where it was."""
        optuna = self._optuna
        self.study = optuna.create_study(direction="maximize", study_name=f"{self.method}-{self.seed}",
                                         pruner=self._pruner())
        # Hyperband sets up its brackets at its first call; before it, a proposal would see every bracket
        self.study.pruner.prune(self.study, optuna.trial.create_trial(value=0.0))
        states = optuna.trial.TrialState
        for t in self.trials:
            curve = t["curve"]
            self.study.add_trial(optuna.trial.create_trial(
                params=self._params(t["decisions"]), distributions=self.distributions, value=curve[-1],
                intermediate_values={e + 1: v for e, v in enumerate(curve)}, system_attrs=dict(t["rungs"]),
                state=states.PRUNED if t["pruned"] else states.COMPLETE))

    def _params(self, decisions) -> dict:
        return {f"d{i}": int(d) for i, d in enumerate(decisions)}

    def run_trial(self, evaluate: Callable[[Any, Callable[[int, float], bool]], float]) -> tuple[Any, dict]:
        """Ask an architecture, train it through `evaluate(arch, report)` until the pruner stops it or it
        reaches `max_epochs`, tell the study; (arch, its trial record). A repeated architecture's known
        accuracies are reported again without training; it is trained (from scratch) only to go further."""
        trial = self._ask()
        decisions = [int(trial.params[k]) for k in self.distributions]
        arch = self.space.from_decisions(decisions)
        curve: list[float] = []

        def report(epoch: int, accuracy: float) -> bool:
            curve.append(float(accuracy))
            trial.report(float(accuracy), epoch)
            return epoch < self.max_epochs and trial.should_prune()
        known = max((t["curve"] for t in self.trials if t["decisions"] == decisions), key=len, default=[])
        trained = _replay(known, report, self.max_epochs)
        if trained is None:
            trained = _train_beyond(evaluate, arch, len(known), report)
        if len(curve) not in range(1, self.max_epochs + 1):
            raise RuntimeError(f"the evaluator reported {len(curve)} epochs; the search trains 1 to {self.max_epochs}")
        pruned = len(curve) < self.max_epochs
        if pruned:
            self.study.tell(trial, state=self._optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(trial, curve[-1])
        rungs = {k: v for k, v in self.study.trials[-1].system_attrs.items() if k.startswith("completed_rung_")}
        record = {"decisions": decisions, "curve": curve, "pruned": pruned, "rungs": rungs, "trained": trained}
        self.trials.append(record)
        return arch, record

    def state_dict(self) -> dict:
        return {"rng": self.rng.getstate(), "trials": [dict(t) for t in self.trials]}

    def load_state_dict(self, state: dict) -> None:
        self.rng.setstate(_as_tuple(state["rng"]))
        self.trials = [dict(t) for t in state["trials"]]
        self._new_study()


def _replay(known: list[float], report: Callable[[int, float], bool], max_epochs: int) -> int | None:
    """Report the accuracies already measured: 0 (epochs trained) if that ends the trial, else None."""
    for epoch, accuracy in enumerate(known, 1):
        if report(epoch, accuracy):
            return 0
    return 0 if len(known) == max_epochs else None


def _train_beyond(evaluate, arch: Any, known: int, report: Callable[[int, float], bool]) -> int:
    """Train `arch` from scratch, reporting the epochs past the `known` ones; the epochs trained."""
    trained = []

    def report_new(epoch: int, accuracy: float) -> bool:
        trained.append(epoch)
        return report(epoch, accuracy) if epoch > known else False
    evaluate(arch, report_new)
    return len(trained)


def _as_tuple(x):
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x


def check_fidelities(min_epochs: int, max_epochs: int, eta: int) -> None:
    """Refuse fidelities without a second rung (one-line UserError)."""
    if min_epochs * eta > max_epochs:
        raise UserError(f"--fidelity_epochs {max_epochs} (the most epochs a trial trains) leaves no rung above the "
                        f"first (--min_fidelity_epochs {min_epochs} x --eta {eta} = {min_epochs * eta}); raise "
                        f"--fidelity_epochs or lower the others")


@dataclass
class MultiFidelityResult:
    best_arch: Any
    best_reward: float
    best_epochs: int             # the epochs the best architecture trained (the most any trial reached)
    records: list[dict]          # one per trial, resumed ones included


def search_multi_fidelity(search: MultiFidelitySearch, evaluator, budget: int, epoch_budget: int | None = None,
                          history_path: str | Path | None = None, progress: bool = True,
                          callbacks: list | None = None) -> MultiFidelityResult:
    """Run `budget` trials (fewer once `epoch_budget` epochs are trained); resume from `history_path` if it
    exists (its state file beside it, as darts.strategies.base names it)."""
    from darts.strategies.base import default_state_path
    if budget < 1:
        raise UserError(f"the search budget must be at least one trial, got {budget}")
    if getattr(evaluator, "epochs", None) != search.max_epochs:
        raise UserError(f"the evaluator trains {getattr(evaluator, 'epochs', None)} epochs; the search's most is "
                        f"{search.max_epochs}")
    loop = _Trials(search, evaluator, budget, epoch_budget)
    engine = RunEngine(None, key="step", callbacks=list(callbacks or []))
    records: list[dict] = []
    if history_path is not None:
        history_path = Path(history_path)
        engine = RunEngine(default_state_path(history_path), {"history": history_path}, "step", engine.callbacks)
        if engine.resume(loop):
            log.info("resuming %s search: %d trials, %d epochs done", search.name, loop.epoch, loop.spent)
        records = read_jsonl(history_path)
    bar = Progress(budget, f"{search.name} search", report_freq=max(1, budget // 20), unit="trial", enabled=progress)
    bar.count = min(len(records), budget)
    loop.start = time.perf_counter() - loop.elapsed

    def step():
        record = engine.step(loop, loop.run_trial).rows["history"][0]
        records.append(record)
        bar.update(1, reward=record["reward"], epochs=record["epochs"])
    engine.run(loop, step)
    bar.close()
    return MultiFidelityResult(loop.best_arch, loop.best[1], loop.best[0], records)


class _Trials:
    """The loop for the run engine (darts.engine): one unit is one trial."""

    def __init__(self, search: MultiFidelitySearch, evaluator, budget: int, epoch_budget: int | None):
        self.search, self.evaluator, self.space = search, evaluator, search.space
        self.epoch, self.epochs, self.epoch_budget = 0, budget, epoch_budget
        self.spent, self.elapsed, self.start = 0, 0.0, time.perf_counter()
        self.best_arch, self.best = None, (0, float("-inf"))  # (epochs trained, accuracy) of the best

    @property
    def stop_requested(self) -> bool:
        return self.epoch_budget is not None and self.spent >= self.epoch_budget

    def _labels(self) -> dict:
        s = self.search
        return {"strategy": s.name, "space": self.space.name, "evaluator": self.evaluator.name,
                "fidelities": [s.min_epochs, s.max_epochs, s.eta], "model": [s.model, s.n_min]}

    def state_dict(self) -> dict:
        return {"format": STATE_FORMAT, **self._labels(), "step": self.epoch, "spent": self.spent,
                "elapsed": self.elapsed, "best": list(self.best),
                "best_arch": self.space.encode(self.best_arch) if self.best_arch is not None else None,
                "search": self.search.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        for key, value in self._labels().items():
            if state.get(key) != value:
                raise UserError(f"the saved state belongs to a search with {key} {state.get(key)!r}, not {value!r}; "
                                f"resume with the same settings or choose another output folder")
        self.epoch, self.spent, self.elapsed = int(state["step"]), int(state["spent"]), float(state["elapsed"])
        self.best = (int(state["best"][0]), float(state["best"][1]))
        self.best_arch = self.space.decode(state["best_arch"]) if state["best_arch"] is not None else None
        self.search.load_state_dict(state["search"])

    def run_trial(self) -> Epoch:
        arch, trial = self.search.run_trial(self.evaluator.evaluate)
        curve = trial["curve"]
        if (len(curve), curve[-1]) > self.best:
            self.best_arch, self.best = arch, (len(curve), curve[-1])
        self.spent += trial["trained"]
        self.elapsed = time.perf_counter() - self.start
        step, self.epoch = self.epoch, self.epoch + 1
        record = {"step": step, "arch": self.space.encode(arch), "epochs": len(curve), "curve": curve,
                  "trained": trial["trained"], "pruned": trial["pruned"], "reward": curve[-1],
                  "best_reward": self.best[1], "best_epochs": self.best[0], "total_epochs": self.spent,
                  "time": round(self.elapsed, 3)}
        return Epoch({k: v for k, v in record.items() if k not in ("step", "arch", "curve")}, {"history": [record]})


# -- registration: three "sample" strategies with their own preparation and loop ----------------------------

def _check(method: str, settings: dict) -> None:
    if settings.get("benchmark"):
        raise UserError(f"--strategy {method} trains networks epoch by epoch; the NAS-Bench-201 tables hold no "
                        f"per-epoch curves (only 12- and 200-epoch figures, docs/strategies.md): leave out "
                        f"--benchmark, or search the table with --strategy bo")
    if settings.get("evaluator", "training") != "training":
        raise UserError(f"--strategy {method} trains networks epoch by epoch; a zero-cost proxy has no epochs: "
                        f"leave out --evaluator")
    check_fidelities(settings["min_fidelity_epochs"], settings.get("fidelity_epochs", DEFAULT_MAX_EPOCHS),
                     settings["eta"])


def _prepare(method: str, prepared) -> None:
    """The training evaluator (epochs: --fidelity_epochs) and the search, before the run folder exists."""
    from darts.evaluators.training import TrainingEvaluator
    s, space = prepared.settings, prepared.space
    if space.modality != "image":
        raise UserError(f"--strategy {method} reports image networks' validation accuracy each epoch; the "
                        f"{space.name} space's are {space.modality} models: use --strategy bo or random")
    prepared.evaluator = prepared.data.low_fidelity_evaluator(
        lambda arch, c, k: space.build_network(arch, s, replace(prepared.data.shape, in_channels=c, num_classes=k)),
        prepared.device)
    assert isinstance(prepared.evaluator, TrainingEvaluator)
    prepared.searcher = MultiFidelitySearch(prepared.adapter, method, s["seed"], s["min_fidelity_epochs"],
                                            s["fidelity_epochs"], s["eta"], s.get("bohb_model", "budget"),
                                            s.get("bohb_n_min"))


def _run(prepared, run, callbacks: list) -> SearchOutcome:
    s, search = prepared.settings, prepared.searcher
    log.info("%s search of the %s space: %d trials%s, %d to %d epochs (eta %d), reward = %s", search.name,
             prepared.space.name, s["budget"], f" or {s['epoch_budget']} epochs" if s.get("epoch_budget") else "",
             search.min_epochs, search.max_epochs, search.eta, prepared.evaluator.name)
    result = search_multi_fidelity(search, prepared.evaluator, s["budget"], s.get("epoch_budget"),
                                   run.file("history.jsonl") if run.enabled else None,
                                   progress=not s.get("no_progress"), callbacks=callbacks)
    log.info("best architecture (%d epochs, accuracy %.3f): %s", result.best_epochs, result.best_reward,
             result.best_arch)
    return SearchOutcome(result.best_arch, result.records)


DESCRIPTIONS = {
    "asha": "asynchronous successive halving over training epochs (Optuna's SuccessiveHalvingPruner), random "
            "proposals",
    "hyperband": "Hyperband over training epochs (Optuna's HyperbandPruner, asynchronous brackets), random proposals",
    "bohb": "Hyperband (asynchronous brackets) with BOHB's TPE model on the largest budget with enough results; "
            "--bohb_model bracket: Optuna's TPESampler + HyperbandPruner",
}


def multi_fidelity_strategies() -> tuple[StrategyInfo, ...]:
    """The three registered strategies (kind "sample": an ArchSpace and rewards by training)."""
    return tuple(StrategyInfo(m, "sample", DESCRIPTIONS[m], OPTIONS + (BOHB_OPTIONS if m == "bohb" else ()),
                              own_check=partial(_check, m), run=_run, prepare=partial(_prepare, m),
                              setting_defaults=(("fidelity_epochs", DEFAULT_MAX_EPOCHS),))
                 for m in METHODS)
