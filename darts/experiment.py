"""A search from resolved settings: the space and strategy come from their registries, the data from its
modality, and the strategy's registered `run` is the loop (DARTS with its add-ons, ENAS, a sample-based one).

`prepare_search` does everything that can fail on bad input - reading the data or the benchmark table,
building the supernet - and writes nothing, so a run folder is created only for a search that can run;
`PreparedSearch.run(run_dir)` then searches and writes genotype.json ({"space": ..., ...}).
`settings` is the flat dict of darts.settings.resolve_settings; nothing here parses flags.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from darts.checkpoint import read_resume_state, to_json
from darts.modalities import load_modality
from darts.options import config_from
from darts.runs import RunDir
from darts.spaces.registry import genotype_record, require
from darts.strategies.info import SearchOutcome, StrategyInfo
from darts.strategies.registry import get_strategy

__all__ = ["SearchOutcome", "check_combination", "prepare_search", "PreparedSearch"]

log = logging.getLogger("darts")


def check_combination(space, strategy_name: str, settings: dict) -> None:
    """Refuse a space / strategy / flag combination that cannot run."""
    strategy = get_strategy(strategy_name)
    for capability in strategy.requires:
        need = "it needs a supernet" if capability == "build_supernet" else None
        require(space, capability, f"--strategy {strategy.name}" + (f" ({need})" if need else ""))
    if strategy.kind == "sample" and not settings.get("benchmark"):
        require(space, "build_network", f"--strategy {strategy.name} without --benchmark (rewards by training)")
    if settings.get("benchmark"):
        require(space, "table", "--benchmark (a table of another space's accuracies): add --space")
    strategy.check(settings)
    space.check_options(settings)


def prepare_search(space, settings: dict, device: torch.device, data: Any = None) -> "PreparedSearch":
    """Check the combination, read the data (or use `data`, an already loaded dataset) and the table, build
    the supernet: every input error happens here, before anything is written."""
    strategy = get_strategy(settings["strategy"])
    check_combination(space, strategy.name, settings)
    prepared = PreparedSearch(space, strategy, settings, device)
    if settings.get("benchmark"):
        prepared.evaluator, prepared.report = space.table(settings["benchmark"], settings["dataset"],
                                                          settings.get("reward"), settings)
    if strategy.uses_supernet or prepared.evaluator is None or settings.get("proxy_screen"):  # a proxy scores images
        prepared.data = load_modality(space.modality, settings, dataset=data)
    if strategy.uses_supernet:
        prepared.model = space.build_supernet(settings, prepared.data.shape)
        strategy.check_supernet(prepared.model, space, settings)
    else:
        prepared.adapter = space.arch_space(settings)
    if strategy.prepare is not None:
        strategy.prepare(prepared)  # the strategy object and its evaluator: their checks run now
    if settings.get("resume") and settings.get("save"):
        prepared.read_resume_state()
    return prepared


# The settings that tell one search's checkpoint from another's, besides the space's own options (sizes).
RUN_LABELS = ("space", "strategy", "dataset", "seed", "unrolled", "hessian", "relaxation", "warmup_epochs")


@dataclass
class PreparedSearch:
    space: Any
    strategy: StrategyInfo
    settings: dict
    device: torch.device
    data: Any = None
    model: Any = None
    adapter: Any = None
    evaluator: Any = None
    report: Callable | None = None
    searcher: Any = None        # a sample strategy's object, built by its StrategyInfo.prepare
    resume_state: Any = None    # the checkpoint a resumed search continues from (None: none yet)

    def labels(self) -> dict:
        """The settings that identify this search (its checkpoint carries them; a resume checks them)."""
        names = RUN_LABELS + tuple(o.name for o in self.space.options)
        return json.loads(to_json({n: self.settings[n] for n in names if n in self.settings}))

    def read_resume_state(self) -> None:
        """Read the folder's checkpoint and refuse, before the folder is touched, one of another search
        (labels, supernet shapes) or a checkpoint.pt that is no file."""
        from darts.engine import CHECKPOINT, check_resume_state
        from darts.strategies.base import default_state_path
        folder = Path(self.settings["save"])
        if not self.strategy.uses_supernet:  # sample strategies: their state file (the loop checks its names)
            read_resume_state(default_state_path(folder / "history.jsonl"))
            return
        self.resume_state = read_resume_state(folder / CHECKPOINT)
        if self.resume_state is not None:
            check_resume_state(self.resume_state, {"run": self.labels()}, {"model": self.model},
                               f"{folder / CHECKPOINT} belongs to another search; resume it with the settings it "
                               f"was started with, or choose another folder")

    def run(self, run: RunDir, callbacks: list | None = None) -> SearchOutcome:
        """Search; `callbacks` (epoch or step, row) are called after each epoch's (or evaluation's) files."""
        outcome = self.strategy.run(self, run, list(callbacks or []))
        run.write_json("genotype.json", genotype_record(outcome.genotype))
        log.info("final genotype = %s", outcome.genotype)
        if run.enabled:
            log.info("wrote %s", run.file("genotype.json"))
        return outcome

    def config(self, cls, **fixed):
        """A loop's config from the strategy's options (their `key`s), the core settings, and the space's
        defaults for the fields that are no flags (e.g. the text search's constant learning rate)."""
        s = self.settings
        values = dict(self.space.strategy_defaults.get(self.strategy.name, {}))
        values.update({o.field: s[o.name] for o in self.strategy.options if o.name in s})
        values.update({k: s[k] for k in ("epochs", "max_batches", "report_freq") if k in s})
        return config_from(cls, values, progress=not s.get("no_progress"), **fixed)

    def table_hook(self):
        """Logs the derived cell's table figures at each epoch end (never used as a reward)."""
        def hook(epoch, genotype, metrics):
            figures = self.report(genotype)
            metrics.update(figures)
            log.info("table figures of %s: %s", genotype, " ".join(f"{k} {v:.2f}" for k, v in figures.items()))
        return hook
