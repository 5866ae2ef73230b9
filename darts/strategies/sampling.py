"""The run of every sample-based strategy (random search, evolution, REINFORCE, BO, PPO, and registered
plug-ins): ask / tell against rewards from the space's table, or from training each proposal briefly. The strategy
object and the evaluator are built in the search's preparation, before the run folder exists."""
from __future__ import annotations

import logging
from dataclasses import replace

from darts.strategies.info import SearchOutcome

log = logging.getLogger("darts")


def prepare_sample(cls, prepared) -> None:
    """Build the evaluator (the table's, or low-fidelity training's) and `cls` (a Strategy subclass) with its
    options from the settings onto `prepared`: a bad option is refused before the run folder exists."""
    s, space, strategy = prepared.settings, prepared.space, prepared.strategy
    prepared.evaluator = prepared.evaluator or prepared.data.low_fidelity_evaluator(
        lambda arch, c, k: space.build_network(arch, s, replace(prepared.data.shape, in_channels=c, num_classes=k)),
        prepared.device)
    options = {o.field: s[o.name] for o in strategy.options}
    prepared.searcher = cls(prepared.adapter, seed=s["seed"], **options)


def run_sample(prepared, run, callbacks: list) -> SearchOutcome:
    """The prepared strategy searches (see prepare_sample), rewards from the prepared evaluator."""
    from darts.strategies.base import run_strategy
    s, space, strategy, evaluator = prepared.settings, prepared.space, prepared.strategy, prepared.evaluator
    log.info("%s search of the %s space: %d evaluations, reward = %s", strategy.name, space.name,
             s["budget"], evaluator.name)
    result = run_strategy(prepared.searcher, evaluator, s["budget"],
                          history_path=run.file("history.jsonl") if run.enabled else None,
                          progress=not s.get("no_progress"), callbacks=callbacks)
    log.info("best architecture (reward %.3f): %s", result.best_reward, result.best_arch)
    if prepared.report is not None:
        figures = prepared.report(result.best_arch)
        log.info("the chosen cell's table figures: %s", " ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    return SearchOutcome(result.best_arch, result.records)
