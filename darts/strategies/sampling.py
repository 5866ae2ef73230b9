"""The run of every sample-based strategy (random search, evolution, REINFORCE, BO, PPO, and registered
plug-ins): ask / tell against rewards from the space's table, or from training each proposal briefly. The strategy
object and the evaluator are built in the search's preparation, before the run folder exists."""
from __future__ import annotations

import logging
from dataclasses import replace

from darts.errors import UserError
from darts.strategies.info import SearchOutcome

log = logging.getLogger("darts")


def prepare_sample(cls, prepared) -> None:
    """Build the evaluator (the table's, or low-fidelity training's) and `cls` (a Strategy subclass) with its
    options from the settings onto `prepared`: a bad option is refused before the run folder exists."""
    s, space, strategy = prepared.settings, prepared.space, prepared.strategy
    if prepared.evaluator is None:
        prepared.evaluator = _evaluator(prepared)(
            lambda arch, c, k: space.build_network(arch, s, replace(prepared.data.shape, in_channels=c, num_classes=k)),
            prepared.device)
    options = {o.field: s[o.name] for o in strategy.options}
    prepared.searcher = cls(prepared.adapter, seed=s["seed"], **options)
    if s.get("proxy_screen"):  # proxy-guided search: a zero-cost proxy picks what is evaluated
        from darts.strategies.proxy_guided import guide_by_proxy
        prepared.searcher = guide_by_proxy(prepared.searcher, prepared)
    if uses_trial_store(s):
        from darts.trials.store import check_storage_url
        check_storage_url(s.get("storage"))
    if s.get("executor") == "dask":
        from darts.trials.dask_workers import check_dask
        check_dask(s.get("scheduler"))


def uses_trial_store(settings: dict) -> bool:
    """Trials in a store (darts.trials) when more than one worker, a storage, a study or Dask is asked for."""
    return (settings.get("workers", 1) > 1 or bool(settings.get("storage")) or bool(settings.get("study"))
            or settings.get("executor") == "dask")


def _evaluator(prepared):
    """The data's low-fidelity training evaluator, or its zero-cost proxy evaluator (--evaluator proxy)."""
    s = prepared.settings
    if s.get("evaluator", "training") == "training":
        if s.get("proxy") not in (None, "naswot"):
            raise UserError(f"--proxy {s['proxy']} scores networks for --evaluator proxy; add it or leave out --proxy")
        return prepared.data.low_fidelity_evaluator
    if s["evaluator"] == "supernet" and not hasattr(prepared.data, "supernet_evaluator"):
        raise UserError(f"--evaluator supernet scores image networks; the {prepared.space.name} space's are "
                        f"{prepared.space.modality} models: use --evaluator training")
    if not hasattr(prepared.data, "proxy_evaluator"):
        raise UserError(f"--evaluator proxy scores image networks; the {prepared.space.name} space's are "
                        f"{prepared.space.modality} models: use --evaluator training")
    from darts.proxies import get_proxy
    get_proxy(s["proxy"])  # an unknown name: one line naming the registered ones
    return prepared.data.proxy_evaluator


def run_sample(prepared, run, callbacks: list) -> SearchOutcome:
    """The prepared strategy searches (see prepare_sample), rewards from the prepared evaluator."""
    from darts.strategies.base import run_strategy
    s, space, strategy, evaluator = prepared.settings, prepared.space, prepared.strategy, prepared.evaluator
    log.info("%s search of the %s space: %d evaluations, reward = %s", strategy.name, space.name,
             s["budget"], evaluator.name)
    from darts.trials.store import JOURNAL
    if uses_trial_store(s) or (run.enabled and run.file(JOURNAL).exists()):  # a resumed search keeps its store
        from darts.trials.search import search_in_store
        result = search_in_store(prepared, run, callbacks)
    else:
        result = run_strategy(prepared.searcher, evaluator, s["budget"],
                              history_path=run.file("history.jsonl") if run.enabled else None,
                              progress=not s.get("no_progress"), callbacks=callbacks)
    log.info("best architecture (reward %.3f): %s", result.best_reward, result.best_arch)
    if prepared.report is not None:
        figures = prepared.report(result.best_arch)
        log.info("the chosen cell's table figures: %s", " ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    return SearchOutcome(result.best_arch, result.records)
