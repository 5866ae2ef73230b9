"""The multi-objective strategies as registered strategies: their options, the costs by name, and the run.

`--strategy nsga2|motpe|pareto_evolution|mo_random` searches like a sample-based strategy (the space's
ArchSpace, rewards from --benchmark or brief training) and adds the costs named by `--objectives`
(minimized), an optional `--constraint NAME<=X` and the hypervolume's `--reference`. A cost is a factory
registered by name (`register_cost`): given the prepared search it returns `fn(arch) -> float`, so a latency
table's prediction plugs in like the parameter count. The run writes history.jsonl (one line per evaluation,
every objective), front.json (the non-dominated points, the hypervolume and its reference) and genotype.json
(the best reward within the constraints); the drawing layer adds figures/front.png.
"""
from __future__ import annotations

import logging
from functools import partial
from typing import Any, Callable

from darts.errors import UserError
from darts.options import Option
from darts.strategies.base import constructor_options
from darts.strategies.info import SearchOutcome, StrategyInfo
from darts.strategies.multi_objective import (MultiObjectiveStrategy, Objective, parse_constraint,
                                              run_multi_objective, total_violation)
from darts.strategies.multi_objective_evolution import MultiObjectiveRandom, ParetoEvolution
from darts.strategies.multi_objective_optuna import MOTPE, NSGA2

log = logging.getLogger("darts")

BUILTIN_MULTI_OBJECTIVE = (NSGA2, MOTPE, ParetoEvolution, MultiObjectiveRandom)
_NOT_OPTIONS = {"self", "space", "seed", "directions", "constraints"}

OBJECTIVE_OPTIONS = (
    Option("objectives", "params", "multi-objective: the costs minimized beside the reward, comma-separated "
                                   "(params, flops, or a registered cost)", type=str, metavar="NAMES"),
    Option("constraint", None, "multi-objective: NAME<=X or NAME>=X (comma-separated for several), e.g. "
                               "params<=1e6: the chosen cell is the best reward among those within it", type=str,
           metavar="RULE"),
    Option("reference", None, "multi-objective: the hypervolume's reference point, one value per objective "
                              "(reward first), comma-separated (default: 0 for the reward, 1.1 x the largest "
                              "value seen for each cost)", type=str, metavar="VALUES"),
    Option("latency_table", None, "multi-objective: the latency table (darts-latency build) that prices the "
                                  "latency cost, in ms", type=str, metavar="FILE"),
    Option("latency_batch", 1, "multi-objective: the batch size the latency cost is predicted at", minimum=1),
)


def _per_network(prepared, measure: Callable[[Any, Any], float]) -> Callable[[Any], float]:
    """A cost measured on each architecture's network (`measure(network in eval mode, its data shape)`), built
    once per architecture."""
    shape = prepared.data.shape if prepared.data is not None else _shape(prepared)
    cache: dict[str, float] = {}

    def cost(arch) -> float:
        key = repr(prepared.adapter.encode(arch))
        if key not in cache:
            cache[key] = float(measure(prepared.space.build_network(arch, prepared.settings, shape).eval(), shape))
        return cache[key]
    return cost


def _params_cost(prepared) -> Callable[[Any], float]:
    from darts.summary import count_parameters
    return _per_network(prepared, lambda net, shape: count_parameters(net))


def _flops_cost(prepared) -> Callable[[Any], float]:
    import torch
    from darts.summary import count_multiply_adds
    return _per_network(prepared, lambda net, shape: count_multiply_adds(
        net, torch.zeros(1, shape.in_channels, shape.height, shape.width)))


def _latency_cost(prepared) -> Callable[[Any], float]:
    """Each architecture's network latency in ms predicted by --latency_table at --latency_batch (darts.latency:
    the sum of its operations' timed entries)."""
    from darts.latency import LatencyTable
    s = prepared.settings
    table = LatencyTable.load(s["latency_table"])  # a missing or foreign file: one line, before the run folder
    log.info("latency cost: batch %d on %s (%s)", s["latency_batch"], table.machine_line(), s["latency_table"])
    return _per_network(prepared, lambda net, shape: table.predict(
        net, (shape.in_channels, shape.height, shape.width), s["latency_batch"]))


def _shape(prepared):
    """The data's shape without reading it (a table search loads no data): known for the standard datasets."""
    from darts.data.images import image_input_shape
    from darts.spaces.base import DataShape
    s = prepared.settings
    if prepared.space.modality != "image":
        raise UserError(f"--objectives params / flops build {prepared.space.name} networks from image shapes; "
                        f"the {prepared.space.name} space is {prepared.space.modality}: give a registered cost")
    c, h, w, k = image_input_shape(s["dataset"], s.get("data"))
    return DataShape(c, h, w, k)


COSTS: dict[str, Callable[[Any], Callable[[Any], float]]] = {
    "params": _params_cost, "flops": _flops_cost, "latency": _latency_cost}


def register_cost(name: str, factory: Callable[[Any], Callable[[Any], float]]) -> None:
    """Add a cost for --objectives: `factory(prepared)` returns `fn(arch) -> float` (minimized)."""
    if name in COSTS and COSTS[name] is not factory:
        raise ValueError(f"a cost named {name!r} is already registered")
    COSTS[name] = factory


def cost_names(settings: dict) -> list[str]:
    names = [n.strip() for n in str(settings.get("objectives") or "").split(",") if n.strip()]
    if not names:
        raise UserError("--objectives names no cost; give one or more of " + ", ".join(COSTS))
    unknown = [n for n in names if n not in COSTS]
    if unknown or len(set(names)) != len(names):
        raise UserError(f"--objectives {settings['objectives']}: " + (f"unknown cost {unknown[0]!r}; choose from "
                        f"{', '.join(COSTS)}" if unknown else "a cost is named twice"))
    if "latency" in names and not settings.get("latency_table"):
        raise UserError("--objectives latency needs --latency_table FILE, a table written by darts-latency build "
                        "(docs/latency.md)")
    if settings.get("latency_table") and "latency" not in names:
        raise UserError("--latency_table prices the latency cost: add latency to --objectives")
    return names


def objective_names(settings: dict) -> list[str]:
    first = "score" if settings.get("evaluator") == "proxy" and not settings.get("benchmark") else "accuracy"
    return [first] + cost_names(settings)


def constraints_of(settings: dict):
    text = settings.get("constraint")
    names = objective_names(settings)
    return tuple(parse_constraint(t, names) for t in str(text).split(",") if t.strip()) if text else ()


def reference_of(settings: dict) -> list[float] | None:
    text = settings.get("reference")
    if not text:
        return None
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        raise UserError(f"--reference {text!r}: give numbers separated by commas, e.g. 0,2e6") from None
    if len(values) != len(objective_names(settings)):
        raise UserError(f"--reference has {len(values)} values for the objectives "
                        f"{', '.join(objective_names(settings))}; give one per objective")
    return values


def strategy_options(cls: type[MultiObjectiveStrategy]) -> tuple[Option, ...]:
    """The strategy's own options (its constructor's keyword arguments, flags prefixed by its name)."""
    return constructor_options(cls, _NOT_OPTIONS)


def _check(cls, settings: dict) -> None:
    """Every multi-objective setting, before anything is written."""
    values = {o.field: settings.get(o.name, o.default) for o in strategy_options(cls)}
    cls.check_options(values)
    constraints_of(settings)
    reference_of(settings)


def prepare_multi_objective(cls, prepared) -> None:
    """The evaluator (as a sample strategy's), the costs and `cls` with its options, onto `prepared`."""
    from darts.strategies.sampling import prepare_sample
    s = prepared.settings
    prepare_sample(lambda *args, **kwargs: None, prepared)  # builds prepared.evaluator; the strategy is ours
    directions = ["maximize"] + ["minimize"] * len(cost_names(s))
    options = {o.field: s[o.name] for o in strategy_options(cls) if o.name in s}
    prepared.searcher = cls(prepared.adapter, seed=s["seed"], directions=directions,
                            constraints=constraints_of(s), **options)
    evaluator = prepared.evaluator
    fns = [evaluator.evaluate] + [COSTS[n](prepared) for n in cost_names(s)]
    prepared.objectives = [Objective(n, d, f) for n, d, f in zip(objective_names(s), directions, fns)]


def default_reference(records: list[dict], objectives) -> list[float]:
    """0 for the reward, 1.1 x the largest value seen for each cost."""
    return [0.0] + [1.1 * max(float(r["objectives"][o.name]) for r in records) for o in objectives[1:]]


def run_multi(prepared, run, callbacks: list) -> SearchOutcome:
    """The prepared multi-objective search; the chosen cell is the best reward within the constraints."""
    s, objectives = prepared.settings, prepared.objectives
    log.info("%s search of the %s space: %d evaluations, objectives %s", prepared.strategy.name,
             prepared.space.name, s["budget"], ", ".join(f"{o.name} ({o.direction})" for o in objectives))
    result = run_multi_objective(prepared.searcher, objectives, s["budget"],
                                 history_path=run.file("history.jsonl") if run.enabled else None,
                                 reference=reference_of(s) or partial(default_reference, objectives=objectives),
                                 progress=not s.get("no_progress"), callbacks=callbacks)
    log.info("front: %d points, hypervolume %.6g (reference %s)", len(result.front), result.hypervolume,
             result.reference)
    best = result.best
    if best is None:
        constraints = prepared.searcher.constraints
        best = min(result.records, key=lambda r: total_violation(constraints, [r["objectives"][o.name]
                                                                               for o in objectives]))
        log.warning("no architecture met --constraint %s; the chosen one violates it least", s.get("constraint"))
    arch = prepared.adapter.decode(best["arch"])
    log.info("chosen architecture %s", best["objectives"])
    if prepared.report is not None:
        figures = prepared.report(arch)
        log.info("the chosen cell's table figures: %s", " ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    return SearchOutcome(arch, result.records)


def multi_objective_info(cls: type[MultiObjectiveStrategy]) -> StrategyInfo:
    """The registered strategy of `cls`: a sample-based strategy (ArchSpace, evaluator) with costs."""
    doc = (cls.__doc__ or cls.name).strip().splitlines()[0]
    return StrategyInfo(cls.name, "sample", f"multi-objective: {doc}", strategy_options(cls) + OBJECTIVE_OPTIONS,
                        own_check=partial(_check, cls), run=run_multi, prepare=partial(prepare_multi_objective, cls))
