"""Multi-objective search: the interface of its strategies, the loop that runs any of them, and its front.

A multi-objective strategy proposes architectures and learns from a tuple of objective values:

    arch = strategy.ask()
    strategy.tell(arch, (accuracy, params))     # one value per objective, in the order of `directions`

`directions` says per objective whether it is maximized (accuracy) or minimized (a cost); `constraints`
turn the search into "the best accuracy with cost <= X": each is a `Constraint` on one objective, and a
strategy prefers feasible architectures (NSGA-II and MOTPE through Optuna's constraints, the Pareto evolution
by feasibility-first selection).

`run_multi_objective(strategy, objectives, budget, history_path)` alternates ask / evaluate / tell. Each
objective is an `Objective(name, direction, fn)` whose `fn(arch) -> float` is any callable (an evaluator's
reward, a parameter count, a latency table's prediction), so a new cost plugs in as a function. A plain
single-objective `Strategy` (random search, the baseline) runs in the same loop, told the first objective.
With a history path it appends one JSON line per evaluation and saves the strategy's state after every step
(darts.engine), so an interrupted search resumes exactly; `front.json` beside the history holds the
non-dominated points and their hypervolume.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from darts.checkpoint import atomic_write_json, read_jsonl
from darts.engine import Epoch, RunEngine
from darts.errors import UserError
from darts.pareto import DIRECTIONS, hypervolume, pareto_front
from darts.progress import Progress
from darts.strategies.base import ArchSpace, Strategy, default_state_path

log = logging.getLogger("darts")

STATE_FORMAT = 1


@dataclass(frozen=True)
class Constraint:
    """objective[index] <= bound (upper=True) or >= bound (upper=False); `violation` is how far past it."""
    index: int
    bound: float
    upper: bool = True

    def violation(self, values: Sequence[float]) -> float:
        v = float(values[self.index])
        return max(0.0, v - self.bound if self.upper else self.bound - v)


def total_violation(constraints: Sequence[Constraint], values: Sequence[float]) -> float:
    return sum(c.violation(values) for c in constraints)


_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.-]*)\s*(<=|>=)\s*([-+0-9.eE]+)\s*$")


def parse_constraint(text: str, names: Sequence[str]) -> Constraint:
    """'params<=1e6' or 'accuracy>=90' against the objective `names`; a one-line UserError otherwise."""
    m = _CONSTRAINT.match(text)
    if m is None:
        raise UserError(f"--constraint {text!r}: write NAME<=X or NAME>=X, e.g. params<=1e6")
    name, op, bound = m.groups()
    if name not in names:
        raise UserError(f"--constraint {text!r}: no objective named {name!r}; the objectives are {', '.join(names)}")
    try:
        value = float(bound)
    except ValueError:
        raise UserError(f"--constraint {text!r}: {bound!r} is not a number") from None
    return Constraint(list(names).index(name), value, op == "<=")


class MultiObjectiveStrategy(Strategy):
    """Base of the multi-objective strategies: `tell(arch, objectives)` with one value per direction; all
    randomness in `state_dict()` (the base class's random.Random and what subclasses add)."""

    name = "multi-objective"

    def __init__(self, space: ArchSpace, seed: int = 0, directions: Sequence[str] = ("maximize", "minimize"),
                 constraints: Sequence[Constraint] = ()):
        super().__init__(space, seed)
        self.directions = tuple(directions)
        bad = [d for d in self.directions if d not in DIRECTIONS]
        if not self.directions or bad:
            raise UserError(f"directions must each be one of {', '.join(DIRECTIONS)}, got {list(directions)}")
        self.constraints = tuple(constraints)
        for c in self.constraints:
            if not 0 <= c.index < len(self.directions):
                raise UserError(f"a constraint names objective {c.index}; there are {len(self.directions)}")

    def violation(self, values: Sequence[float]) -> float:
        return total_violation(self.constraints, values)

    def tell(self, arch: Any, objectives: Sequence[float]) -> None:  # type: ignore[override]
        raise NotImplementedError


@dataclass(frozen=True)
class Objective:
    """One objective of a search: its name (history and front.json keys), direction and value function."""
    name: str
    direction: str
    fn: Callable[[Any], float]


@dataclass
class MultiObjectiveResult:
    records: list[dict]                 # every history line, resumed ones included
    front: list[dict]                   # the non-dominated feasible points: {"step", "arch", "objectives"}
    hypervolume: float | None
    reference: list[float] | None
    best: dict | None                   # the feasible point with the best first objective (None: none feasible)
    summary: dict = field(default_factory=dict)  # what front.json holds


def run_multi_objective(strategy: Strategy, objectives: Sequence[Objective], budget: int,
                        history_path: str | Path | None = None,
                        reference: Sequence[float] | Callable[[list[dict]], Sequence[float]] | None = None,
                        constraints: Sequence[Constraint] = (), progress: bool = True,
                        callbacks: list[Callable[[int, dict], None]] | None = None) -> MultiObjectiveResult:
    """Evaluate `budget` architectures proposed by `strategy` on every objective; resume from `history_path`
    if it exists, and write front.json beside it. `reference` bounds the hypervolume: a point, or a function of
    the history lines that returns one (default: no hypervolume); `constraints` (default: the strategy's)
    decide which points may be on the front."""
    if budget < 1:
        raise UserError(f"the search budget must be at least one evaluation, got {budget}")
    objectives = list(objectives)
    constraints = tuple(constraints) or tuple(getattr(strategy, "constraints", ()))
    _check_objectives(strategy, objectives, reference)
    search = _MultiSearch(strategy, objectives, budget)
    engine, records = RunEngine(None, key="step", callbacks=list(callbacks or [])), []
    if history_path is not None:
        history_path = Path(history_path)
        engine = RunEngine(default_state_path(history_path), {"history": history_path}, "step", engine.callbacks)
        if engine.resume(search):
            log.info("resuming %s search: %d of %d evaluations done", strategy.name, search.epoch, budget)
        records = read_jsonl(history_path)
        if len(records) < search.epoch:
            raise UserError(f"{history_path} has {len(records)} lines but the saved state is at step {search.epoch}; "
                            f"the history was edited or truncated, so the search cannot resume")
    bar = Progress(budget, f"{strategy.name} search", report_freq=max(1, budget // 20), unit="arch",
                   enabled=progress)
    bar.count = len(records)
    search.start = time.perf_counter() - search.elapsed
    while search.epoch < budget:
        records.append(engine.step(search, search.evaluate_next).rows["history"][0])
        bar.update(1)
    bar.close()
    if callable(reference):
        reference = list(reference(records))
    result = front_of(records, objectives, reference, constraints)
    if history_path is not None:
        atomic_write_json(history_path.with_name("front.json"), result.summary)
    return result


def _check_objectives(strategy: Strategy, objectives: list[Objective], reference) -> None:
    if not objectives:
        raise UserError("a multi-objective search needs at least one objective")
    names = [o.name for o in objectives]
    if len(set(names)) != len(names):
        raise UserError(f"objective names must differ, got {names}")
    for o in objectives:
        if o.direction not in DIRECTIONS:
            raise UserError(f"objective {o.name}: direction {o.direction!r} is not one of {', '.join(DIRECTIONS)}")
    directions = tuple(o.direction for o in objectives)
    if isinstance(strategy, MultiObjectiveStrategy) and strategy.directions != directions:
        raise UserError(f"the strategy optimizes {strategy.directions}, the objectives are {directions}")
    if not isinstance(strategy, MultiObjectiveStrategy) and directions[0] != "maximize":
        raise UserError(f"{strategy.name} maximizes one reward: put a maximized objective first")
    if reference is not None and not callable(reference) and len(reference) != len(objectives):
        raise UserError(f"the reference point has {len(reference)} values for {len(objectives)} objectives")


class _MultiSearch:
    """run_multi_objective's loop for the run engine: one unit is one evaluation of every objective."""

    def __init__(self, strategy: Strategy, objectives: list[Objective], budget: int):
        self.strategy, self.objectives, self.space = strategy, objectives, strategy.space
        self.epoch, self.epochs = 0, budget
        self.elapsed, self.start = 0.0, time.perf_counter()

    def state_dict(self) -> dict:
        return {"format": STATE_FORMAT, "strategy": self.strategy.name, "space": self.space.name,
                "objectives": [o.name for o in self.objectives], "step": self.epoch, "elapsed": self.elapsed,
                "strategy_state": self.strategy.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        ours = {"strategy": self.strategy.name, "space": self.space.name,
                "objectives": [o.name for o in self.objectives]}
        for key, value in ours.items():
            if state.get(key) != value:
                raise UserError(f"the saved state belongs to a search with {key} {state.get(key)!r}, not "
                                f"{value!r}; resume with the same settings or choose another output folder")
        self.epoch, self.elapsed = int(state["step"]), float(state["elapsed"])
        self.strategy.load_state_dict(state["strategy_state"])

    def evaluate_next(self) -> Epoch:
        arch = self.strategy.ask()
        values = tuple(float(o.fn(arch)) for o in self.objectives)
        if isinstance(self.strategy, MultiObjectiveStrategy):
            self.strategy.tell(arch, values)
        else:
            self.strategy.tell(arch, values[0])
        self.elapsed = time.perf_counter() - self.start
        step, self.epoch = self.epoch, self.epoch + 1
        record = {"step": step, "arch": self.space.encode(arch), "reward": values[0],
                  "objectives": {o.name: v for o, v in zip(self.objectives, values)}, "time": round(self.elapsed, 3)}
        return Epoch(dict(record["objectives"]), {"history": [record]})


def front_of(records: Sequence[dict], objectives: Sequence[Objective], reference: Sequence[float] | None = None,
             constraints: Sequence[Constraint] = ()) -> MultiObjectiveResult:
    """The non-dominated feasible points of history lines (one per distinct architecture), their hypervolume
    with `reference`, and the feasible point with the best first objective."""
    names = [o.name for o in objectives]
    directions = [o.direction for o in objectives]
    seen: dict[str, dict] = {}
    for r in records:
        values = [float(r["objectives"][n]) for n in names]
        if total_violation(constraints, values) == 0:
            seen.setdefault(repr(r["arch"]), {"step": r["step"], "arch": r["arch"], "values": values})
    points = list(seen.values())
    front = [points[i] for i in pareto_front([p["values"] for p in points], directions)] if points else []
    front.sort(key=lambda p: p["values"][1:] + p["values"][:1])
    sign = 1 if directions[0] == "maximize" else -1
    best = max(points, key=lambda p: (sign * p["values"][0], -p["step"])) if points else None
    hv = hypervolume([p["values"] for p in front], reference, directions) if reference is not None else None
    as_row = lambda p: {"step": p["step"], "arch": p["arch"], "objectives": dict(zip(names, p["values"]))}  # noqa: E731
    rows = [as_row(p) for p in front]
    summary = {"objectives": [{"name": o.name, "direction": o.direction} for o in objectives],
               "constraints": [{"objective": names[c.index], "bound": c.bound, "upper": c.upper} for c in constraints],
               "evaluations": len(records), "front": rows, "hypervolume": hv,
               "reference": list(reference) if reference is not None else None,
               "best": as_row(best) if best is not None else None}
    return MultiObjectiveResult(list(records), rows, hv, summary["reference"], summary["best"], summary)
