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
from typing import Any, Callable, Protocol, Sequence

from darts.checkpoint import append_jsonl, load_checkpoint, read_jsonl, save_checkpoint, write_jsonl
from darts.errors import UserError
from darts.evaluators.base import Evaluator
from darts.progress import Progress

log = logging.getLogger("darts")

STATE_FORMAT = 1


class ArchSpace(Protocol):
    """What a strategy may ask of a search space."""

    name: str

    def sample_random(self, rng: random.Random) -> Any: ...

    def mutate(self, arch: Any, rng: random.Random) -> Any:
        """A copy of `arch` with one small change (never `arch` itself)."""

    def decisions(self) -> list[int]:
        """Number of choices of each categorical decision that together define an architecture."""

    def from_decisions(self, decisions: Sequence[int]) -> Any: ...

    def to_decisions(self, arch: Any) -> list[int]: ...

    def encode(self, arch: Any) -> Any:
        """A JSON-able form (for history lines and states)."""

    def decode(self, data: Any) -> Any: ...


class Strategy(ABC):
    """Base of sample-based strategies; subclasses hold all their randomness in `state_dict()`."""

    name: str = "strategy"

    def __init__(self, space: ArchSpace, seed: int = 0):
        self.space = space
        self.seed = seed
        self.rng = random.Random(seed)

    @abstractmethod
    def ask(self) -> Any: ...

    @abstractmethod
    def tell(self, arch: Any, reward: float) -> None: ...

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
                 progress: bool = True) -> StrategyResult:
    """Evaluate `budget` architectures proposed by `strategy`; resume from `history_path` if it exists."""
    if budget < 1:
        raise UserError(f"the search budget must be at least one evaluation, got {budget}")
    space = strategy.space
    records: list[dict] = []
    best_arch, best_reward, elapsed = None, float("-inf"), 0.0
    if history_path is not None:
        history_path = Path(history_path)
        state_path = Path(state_path) if state_path is not None else default_state_path(history_path)
        resumed = _resume(strategy, evaluator, history_path, state_path)
        if resumed is not None:
            records, best_enc, best_reward, elapsed = resumed
            best_arch = space.decode(best_enc) if best_enc is not None else None
            log.info(f"resuming {strategy.name} search from {history_path}: {len(records)} of {budget} evaluations done")
    bar = Progress(budget, f"{strategy.name} search", report_freq=max(1, budget // 20), unit="arch",
                   enabled=progress)
    bar.count = min(len(records), budget)
    start = time.perf_counter() - elapsed
    for step in range(len(records), budget):
        arch = strategy.ask()
        reward = float(evaluator.evaluate(arch))
        strategy.tell(arch, reward)
        if reward > best_reward:
            best_arch, best_reward = arch, reward
        elapsed = time.perf_counter() - start
        record = {"step": step, "arch": space.encode(arch), "reward": reward, "best_reward": best_reward,
                  "time": round(elapsed, 3)}
        records.append(record)
        if history_path is not None:
            append_jsonl(history_path, record)
            save_checkpoint(state_path, {
                "format": STATE_FORMAT, "strategy": strategy.name, "space": space.name,
                "evaluator": evaluator.name, "step": step + 1, "elapsed": elapsed,
                "best_arch": space.encode(best_arch), "best_reward": best_reward,
                "strategy_state": strategy.state_dict()})
        if on_step is not None:
            on_step(record)
        bar.update(1, reward=reward, best=best_reward)
    bar.close()
    return StrategyResult(best_arch, best_reward, records)


def _resume(strategy: Strategy, evaluator: Evaluator, history_path: Path, state_path: Path):
    """(records, best arch encoded, best reward, elapsed) from an earlier run, or None to start afresh."""
    if not state_path.is_file():
        if read_jsonl(history_path):
            raise UserError(f"{history_path} holds a search history but its state {state_path} is missing, "
                            f"so the search cannot resume; delete the history or choose another output folder")
        return None
    state = load_checkpoint(state_path)
    for key, ours in (("strategy", strategy.name), ("space", strategy.space.name), ("evaluator", evaluator.name)):
        if state.get(key) != ours:
            raise UserError(f"{state_path} belongs to a search with {key} {state.get(key)!r}, not {ours!r}; "
                            f"resume with the same settings or choose another output folder")
    done = int(state["step"])
    records = read_jsonl(history_path)
    if len(records) < done:
        raise UserError(f"{history_path} has {len(records)} lines but the saved state is at step {done}; "
                        f"the history was edited or truncated, so the search cannot resume")
    if len(records) > done:  # killed between the history line and the state: redo that step
        records = records[:done]
        write_jsonl(history_path, records)
    strategy.load_state_dict(state["strategy_state"])
    return records, state["best_arch"], float(state["best_reward"]), float(state["elapsed"])
