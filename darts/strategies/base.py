"""The one interface of the sample-based search strategies, and the loop that runs any of them.

A strategy proposes architectures and learns from their rewards:

    arch = strategy.ask()          # the next architecture to evaluate
    strategy.tell(arch, reward)    # its reward (higher is better)

It knows a search space only through an `ArchSpace` (sampling, mutation, a fixed sequence of
categorical decisions, a JSON form), so the same strategies search NAS-Bench-201, the DARTS
convolutional space or a toy space built by a test. An evaluator turns an architecture into a reward
(a benchmark table, or low-fidelity training; see darts.evaluators).

`run_strategy` alternates ask / evaluate / tell for a budget of evaluations. With a history path it
appends one JSON line per evaluation ({"step", "arch", "reward", "best_reward", "time"}) and saves the
strategy's state after every step, so an interrupted search resumes exactly where it stopped.
"""
from __future__ import annotations

import logging
import random
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from darts.arch_space import ArchSpace
from darts.checkpoint import read_jsonl
from darts.engine import Epoch, RunEngine
from darts.errors import UserError
from darts.evaluators.base import Evaluator
from darts.options import Option
from darts.progress import Progress

log = logging.getLogger("darts")

STATE_FORMAT = 1


def constructor_options(cls, exclude: frozenset | set) -> tuple[Option, ...]:
    """Options from a strategy class's constructor: each keyword argument with a default (not in `exclude`),
    flag `--<name>_<argument>`, the constructor's default, the class's `option_rules` for bounds."""
    import inspect
    out = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name in exclude or p.default is inspect.Parameter.empty:
            continue
        kind = float if isinstance(p.default, float) or p.default is None else None
        out.append(Option(f"{cls.name}_{p.name}", p.default, f"{cls.name}: {p.name.replace('_', ' ')}",
                          type=kind, key=p.name, **cls.option_rules.get(p.name, {})))
    return tuple(out)


class Strategy(ABC):
    """Base of sample-based strategies; subclasses hold all their randomness in `state_dict()`."""

    name: str = "strategy"
    # Bounds and choices of the constructor's keyword arguments (Option fields by argument), declared with
    # them: the command line and the library check the options against these before anything is created.
    option_rules: dict[str, dict] = {}

    @classmethod
    def check_options(cls, values: dict) -> None:
        """Refuse options (`values`: argument -> value) that single bounds cannot (one-line UserError)."""

    @classmethod
    def check_arguments(cls, values: dict) -> None:
        """The constructor's check, for a strategy built directly: each argument against its rules, then the
        rules between them."""
        for name, value in values.items():
            Option(name, value, **cls.option_rules.get(name, {})).check(value, prefix=f"{cls.name} ")
        cls.check_options(values)

    def __init__(self, space: ArchSpace, seed: int = 0):
        self.space = space
        self.seed = seed
        self.rng = random.Random(seed)

    @abstractmethod
    def ask(self) -> Any: ...

    @abstractmethod
    def tell(self, arch: Any, reward: float) -> None: ...

    def ask_window(self) -> int | None:
        """How many proposals may await their rewards at once when trials run in parallel (darts.trials); None:
        any number. A strategy that learns from batches of m rewards (a `batch_size`, as REINFORCE and PPO)
        proposes a batch's architectures only after learning from the batch before, as it does sequentially."""
        batch = getattr(self, "batch_size", None)
        return int(batch) if isinstance(batch, int) and batch >= 1 else None

    def state_dict(self) -> dict:
        return {"rng": self.rng.getstate()}

    def load_state_dict(self, state: dict) -> None:
        self.rng.setstate(_as_tuple(state["rng"]))


def _as_tuple(x):
    """random.Random states are nested tuples; tolerate lists (e.g. after a JSON round trip)."""
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x


@dataclass
class StrategyResult:
    best_arch: Any
    best_reward: float
    records: list[dict] = field(default_factory=list)  # every history line, resumed ones included


def default_state_path(history_path: str | Path) -> Path:
    history_path = Path(history_path)
    return history_path.with_name(history_path.stem + ".state.pt")


def run_strategy(strategy: Strategy, evaluator: Evaluator, budget: int, history_path: str | Path | None = None,
                 on_step: Callable[[dict], None] | None = None, state_path: str | Path | None = None,
                 progress: bool = True, callbacks: list[Callable[[int, dict], None]] | None = None) -> StrategyResult:
    """Evaluate `budget` architectures proposed by `strategy`; resume from `history_path` if it exists.
    `on_step(record)` and each `callback(step, record)` run after every evaluation is written."""
    if budget < 1:
        raise UserError(f"the search budget must be at least one evaluation, got {budget}")
    search = _Search(strategy, evaluator, budget)
    engine = RunEngine(None, key="step", callbacks=list(callbacks or []))
    records: list[dict] = []
    if history_path is not None:
        history_path = Path(history_path)
        state_path = Path(state_path) if state_path is not None else default_state_path(history_path)
        engine = RunEngine(state_path, {"history": history_path}, "step", engine.callbacks)
        records = _resume(search, engine, history_path)
    if on_step is not None:
        engine.callbacks.append(lambda step, record: on_step(record))
    bar = Progress(budget, f"{strategy.name} search", report_freq=max(1, budget // 20), unit="arch",
                   enabled=progress)
    bar.count = min(len(records), budget)
    search.start = time.perf_counter() - search.elapsed
    while search.epoch < budget:
        record = engine.step(search, search.evaluate_next).rows["history"][0]
        records.append(record)
        bar.update(1, reward=record["reward"], best=record["best_reward"])
    bar.close()
    return StrategyResult(search.best_arch, search.best_reward, records)


class _Search:
    """run_strategy's loop for the run engine (darts.engine): one unit is one evaluation."""

    def __init__(self, strategy: Strategy, evaluator: Evaluator, budget: int):
        self.strategy, self.evaluator, self.space = strategy, evaluator, strategy.space
        self.epoch, self.epochs = 0, budget  # evaluations done, evaluations to do
        self.best_arch, self.best_reward = None, float("-inf")
        self.elapsed, self.start = 0.0, time.perf_counter()

    def state_dict(self) -> dict:
        return {"format": STATE_FORMAT, "strategy": self.strategy.name, "space": self.space.name,
                "evaluator": self.evaluator.name, "step": self.epoch, "elapsed": self.elapsed,
                "best_arch": self.space.encode(self.best_arch), "best_reward": self.best_reward,
                "strategy_state": self.strategy.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        ours = {"strategy": self.strategy.name, "space": self.space.name, "evaluator": self.evaluator.name}
        for key, name in ours.items():
            if state.get(key) != name:
                raise UserError(f"the saved state belongs to a search with {key} {state.get(key)!r}, not "
                                f"{name!r}; resume with the same settings or choose another output folder")
        self.epoch, self.elapsed = int(state["step"]), float(state["elapsed"])
        self.best_reward = float(state["best_reward"])
        self.best_arch = self.space.decode(state["best_arch"]) if state["best_arch"] is not None else None
        self.strategy.load_state_dict(state["strategy_state"])

    def evaluate_next(self) -> Epoch:
        """ask, evaluate, tell; the history line of this evaluation."""
        arch = self.strategy.ask()
        reward = float(self.evaluator.evaluate(arch))
        self.strategy.tell(arch, reward)
        if reward > self.best_reward:
            self.best_arch, self.best_reward = arch, reward
        self.elapsed = time.perf_counter() - self.start
        step, self.epoch = self.epoch, self.epoch + 1
        record = {"step": step, "arch": self.space.encode(arch), "reward": reward, "best_reward": self.best_reward,
                  "time": round(self.elapsed, 3), **getattr(self.strategy, "history_fields", dict)()}
        return Epoch({k: v for k, v in record.items() if k != "step"}, {"history": [record]})


def _resume(search: _Search, engine: RunEngine, history_path: Path) -> list[dict]:
    """The history lines of an earlier run, with `search` restored to its saved state ([] to start afresh)."""
    if engine.resume(search):
        log.info(f"resuming {search.strategy.name} search from {history_path}: {search.epoch} of "
                 f"{search.epochs} evaluations done")
    records = read_jsonl(history_path)
    if len(records) < search.epoch:
        raise UserError(f"{history_path} has {len(records)} lines but the saved state is at step {search.epoch}; "
                        f"the history was edited or truncated, so the search cannot resume")
    return records
