"""A search from resolved settings: the space and strategy come from their registries, the data from its
modality, and the strategy's kind picks the loop (DARTS, ENAS, or a sample-based strategy).

`prepare_search` does everything that can fail on bad input - reading the data or the benchmark table,
building the supernet - and writes nothing, so a run folder is created only for a search that can run;
`PreparedSearch.run(run_dir)` then searches and writes genotype.json ({"space": ..., ...}).
`settings` is the flat dict of darts.settings.resolve_settings; nothing here parses flags.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import torch

from darts.errors import UserError
from darts.modalities import load_modality
from darts.options import config_from
from darts.runs import RunDir
from darts.spaces.registry import genotype_record, require
from darts.strategies.registry import get_strategy
from darts.summary import count_parameters

log = logging.getLogger("darts")


@dataclass
class SearchOutcome:
    genotype: Any
    history: list[dict] = field(default_factory=list)  # a row per epoch (DARTS, ENAS) or per evaluation
    model: Any = None                                   # the trained supernet (DARTS, ENAS)


def check_combination(space, strategy_name: str, settings: dict) -> None:
    """Refuse a space / strategy / flag combination that cannot run."""
    strategy = get_strategy(strategy_name)
    if strategy.kind == "sample":
        require(space, "arch_space", f"--strategy {strategy.name}")
        if not settings.get("benchmark"):
            require(space, "build_network", f"--strategy {strategy.name} without --benchmark (rewards by training)")
    else:
        require(space, "build_supernet", f"--strategy {strategy.name} (it needs a supernet)")
        if strategy.kind == "weight-sharing":
            require(space, "arch_space", f"--strategy {strategy.name}")
    if settings.get("benchmark"):
        require(space, "table", "--benchmark (a table of another space's accuracies): add --space")
    if strategy.check is not None:
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
                                                          settings.get("reward"))
    if strategy.kind != "sample" or prepared.evaluator is None:
        prepared.data = load_modality(space.modality, settings, dataset=data)
    if strategy.kind != "sample":
        prepared.model = space.build_supernet(settings, prepared.data.shape)
        if strategy.kind == "gradient":
            _check_robust_plugins(prepared.model, space, settings)
    else:
        prepared.adapter = space.arch_space(settings)
    return prepared


@dataclass
class PreparedSearch:
    space: Any
    strategy: Any
    settings: dict
    device: torch.device
    data: Any = None
    model: Any = None
    adapter: Any = None
    evaluator: Any = None
    report: Callable | None = None

    def run(self, run: RunDir, callbacks: list | None = None) -> SearchOutcome:
        """Search; `callbacks` (epoch or step, row) are called after each epoch's (or evaluation's) files."""
        loop = {"gradient": self._darts, "weight-sharing": self._enas, "sample": self._sample}[self.strategy.kind]
        outcome = loop(run, list(callbacks or []))
        run.write_json("genotype.json", genotype_record(outcome.genotype))
        log.info("final genotype = %s", outcome.genotype)
        if run.enabled:
            log.info("wrote %s", run.file("genotype.json"))
        return outcome

    def _config(self, cls, **fixed):
        """A loop's config from the strategy's options (their `key`s), the core settings, and the space's
        defaults for the fields that are no flags (e.g. the text search's constant learning rate)."""
        s = self.settings
        values = dict(self.space.strategy_defaults.get(self.strategy.name, {}))
        values.update({o.field: s[o.name] for o in self.strategy.options if o.name in s})
        values.update({k: s[k] for k in ("epochs", "max_batches", "report_freq") if k in s})
        return config_from(cls, values, progress=not s.get("no_progress"), **fixed)

    def _table_hook(self):
        """Logs the derived cell's table figures at each epoch end (never used as a reward)."""
        def hook(epoch, genotype, metrics):
            figures = self.report(genotype)
            metrics.update(figures)
            log.info("table figures of %s: %s", genotype, " ".join(f"{k} {v:.2f}" for k, v in figures.items()))
        return hook

    def _darts(self, run: RunDir, callbacks: list) -> SearchOutcome:
        from darts.distributed import shard
        from darts.search import CHECKPOINT, DartsSearch, DartsSearchConfig
        bf16, channels_last = _precision(self.settings, self.device)
        model = self.model.to(self.device,
                              memory_format=torch.channels_last if channels_last else torch.preserve_format)
        train, val, valid_batches = self.data.search_streams(self.device, shard(), channels_last)
        if bf16 is not None:
            log.info("precision: %s, %s", "bf16 autocast" if bf16 else "float32",
                     "channels_last" if channels_last else "NCHW")
        log.info("param size = %fMB", count_parameters(model) / 1e6)
        searcher = DartsSearch(model, self.data.task(), train, val, self._config(DartsSearchConfig, bf16=bool(bf16)),
                               run, valid_batches=valid_batches)
        if self.report:
            searcher.epoch_end_hooks.append(self._table_hook())
        _add_robust_plugins(searcher, self.settings)
        if self.settings.get("cost_weight") or self.settings.get("cost_cap"):
            _add_cost_term(searcher, self.settings, self.data.shape, channels_last)
        searcher.callbacks.extend(callbacks)
        if self.settings.get("resume"):
            searcher.resume(run.file(CHECKPOINT))
        return SearchOutcome(searcher.run(), searcher.history, model)

    def _enas(self, run: RunDir, callbacks: list) -> SearchOutcome:
        from darts.strategies.enas import CHECKPOINT, EnasConfig, EnasSearch
        model = self.model.to(self.device)
        train, val, valid_batches = self.data.search_streams(self.device)
        log.info("param size = %fMB", count_parameters(model) / 1e6)
        searcher = EnasSearch(model, self.space.arch_space(self.settings), self.data.task(), train, val,
                              self._config(EnasConfig, seed=self.settings["seed"]), run,
                              valid_batches=valid_batches, arch_metrics=self.report)
        searcher.callbacks.extend(callbacks)
        if self.settings.get("resume"):
            searcher.resume(run.file(CHECKPOINT))
        return SearchOutcome(searcher.run(), searcher.history, model)

    def _sample(self, run: RunDir, callbacks: list) -> SearchOutcome:
        """Random search, evolution, REINFORCE, ...: rewards from the space's table, or from training."""
        from darts.strategies.base import run_strategy
        from darts.strategies.registry import build_strategy
        s, space = self.settings, self.space
        evaluator = self.evaluator or self.data.low_fidelity_evaluator(
            lambda arch, c, k: space.build_network(arch, s, replace(self.data.shape, in_channels=c, num_classes=k)),
            self.device)
        options = {o.field: s[o.name] for o in self.strategy.options}
        searcher = build_strategy(self.strategy.name, self.adapter, seed=s["seed"], **options)
        log.info("%s search of the %s space: %d evaluations, reward = %s", self.strategy.name, space.name,
                 s["budget"], evaluator.name)
        result = run_strategy(searcher, evaluator, s["budget"],
                              history_path=run.file("history.jsonl") if run.enabled else None,
                              progress=not s.get("no_progress"), callbacks=callbacks)
        log.info("best architecture (reward %.3f): %s", result.best_reward, result.best_arch)
        if self.report is not None:
            figures = self.report(result.best_arch)
            log.info("the chosen cell's table figures: %s", " ".join(f"{k} {v:.2f}" for k, v in figures.items()))
        return SearchOutcome(result.best_arch, result.records)


def _check_robust_plugins(model, space, s: dict) -> None:
    """Refuse a robust plug-in that this space's supernet cannot carry (before anything is written)."""
    if s.get("max_skip") is not None and not hasattr(model, "max_skip"):
        raise UserError(f"--max_skip caps skip connections in a DARTS normal cell; the {space.name} space has none")
    if s.get("allow_same_input") and not hasattr(model, "same_input"):
        raise UserError(f"--allow_same_input lets a DARTS cell's node read one input twice; the {space.name} space "
                        f"has no such cells")
    if s.get("chain_cells") and not hasattr(model, "chain"):
        raise UserError(f"--chain_cells derives DARTS cells whose nodes read the node before them; the {space.name} "
                        f"space has no such cells")
    if s.get("selection") == "pt" and not hasattr(model, "selection_groups"):
        raise UserError(f"--selection pt is not available for the {space.name} space's supernet")
    if s.get("cost_weight") or s.get("cost_cap"):
        flag = "--cost_weight" if s.get("cost_weight") else "--cost_cap"
        if not all(hasattr(model, a) for a in ("alphas_normal", "alphas_reduce", "primitives", "relaxation",
                                               "cost_cap")):
            raise UserError(f"{flag} weighs the DARTS cells' op costs; the {space.name} space has no such cells")
        cell = None
        if s.get("cost_cap"):
            from darts.genotype import Genotype, GenotypeError
            from darts.spaces.genotype_io import load_genotype
            try:
                cell = load_genotype(s["cost_cap"])
                if not isinstance(cell, Genotype):
                    raise UserError(f"--cost_cap {s['cost_cap']}: not a convolutional DARTS cell; give one such as "
                                    f"ResidualSepConv")
                cell.validate()  # any known op: the cap's cell may use ops the search leaves out
            except GenotypeError as e:
                raise UserError(f"--cost_cap: {e}") from None
        if s.get("op_costs"):
            from darts.resource_cost import read_op_costs
            read_op_costs(s["op_costs"], _priced_ops(model.primitives, cell))
    if s.get("aux_skip") and not any(getattr(m, "aux", None) is not None for m in model.modules()):
        raise UserError(f"--aux_skip is not available for the {space.name} space's supernet")


def _add_robust_plugins(searcher, s: dict) -> None:
    """Issue 20's plug-ins (darts/robust) where their settings ask for them; none by default."""
    if s.get("hessian_eigen") or s.get("early_stop"):
        from darts.robust.eigen import EigenMonitor
        searcher.epoch_end_hooks.append(EigenMonitor(searcher, s.get("hessian_eigen_batches", 2),
                                                     s.get("hessian_eigen_iterations", 20), s.get("seed", 0)))
    if s.get("early_stop"):
        from darts.robust.early_stop import EarlyStop
        k = s.get("early_stop_window", 5)
        stopper = EarlyStop(searcher, k, k, s.get("early_stop_ratio", 0.75))
        searcher.epoch_end_hooks.append(stopper)
        searcher.extra_parts["early_stop"] = stopper
    if s.get("beta_decay"):
        from darts.robust.beta import BetaDecay
        searcher.architect.alpha_regularizer = BetaDecay(s["beta_decay"], searcher.config.epochs,
                                                         lambda: searcher.epoch)
    if s.get("aux_skip"):
        from darts.robust.aux_skip import AuxiliarySkipDecay
        searcher.epoch_start_hooks.append(AuxiliarySkipDecay(searcher.model, s["aux_skip"], searcher.config.epochs))
    if s.get("max_skip") is not None:
        searcher.model.max_skip = s["max_skip"]
    if s.get("allow_same_input"):
        searcher.model.same_input = True
    if s.get("chain_cells"):
        searcher.model.chain = True
    if s.get("selection") == "pt":
        from darts.robust.perturbation import PerturbationSelection
        selection = PerturbationSelection(searcher, s.get("pt_interval", 5), s.get("pt_batches"), s.get("seed", 0))
        searcher.epoch_start_hooks.append(selection)
        searcher.epoch_end_hooks.append(selection.epoch_end)
        searcher.extra_parts["selection"] = selection


def _priced_ops(primitives, cap_cell) -> list[str]:
    """The ops the cost table prices: the search's primitives, then any other op of the --cost_cap cell (None:
    no cap; a search may leave out ops, e.g. pools, that the cap's hand-designed cell uses; its cost still counts)."""
    if cap_cell is None:
        return list(primitives)
    return list(primitives) + sorted({op for op, _ in cap_cell.normal + cap_cell.reduce} - set(primitives))


def _add_cost_term(searcher, s: dict, shape, channels_last: bool) -> None:
    """Resource-aware search (darts/resource_cost.py): the cells' expected op cost joins the architecture loss,
    beside any other regulariser of the alphas; with a cost cap, the derived cells fit the cap's cells' cost."""
    from darts.resource_cost import ExpectedCost, cost_cap, measure_op_costs, op_cost_table
    model = searcher.model
    device = next(model.parameters()).device
    from darts.spaces.genotype_io import load_genotype
    cap_cell = load_genotype(s["cost_cap"]) if s.get("cost_cap") else None
    priced = _priced_ops(model.primitives, cap_cell)
    table = op_cost_table(searcher.run_dir, priced, s.get("op_costs"), lambda: measure_op_costs(
        priced, s.get("cost_channels", 16), shape.height, shape.width, device,
        channels_last=channels_last, layers=s.get("cost_layers", 20), in_channels=shape.in_channels))
    if cap_cell is not None:
        model.cost_cap = cost_cap(table, model.primitives, cap_cell, model.steps, f"--cost_cap {s['cost_cap']}",
                                  same_input=bool(s.get("allow_same_input")), chain=bool(s.get("chain_cells")),
                                  raise_to_cheapest=s.get("cost_cap_by") == "step_time")
        if s.get("cost_cap_by") == "step_time":
            searcher.finish_hooks.append(lambda: _fit_cap_to_step_time(searcher, s, shape, channels_last, cap_cell))
    if not s.get("cost_weight"):
        return
    cost = ExpectedCost(s["cost_weight"], table, model.primitives, model.relaxation.probabilities, model.steps)
    other = searcher.architect.alpha_regularizer
    searcher.architect.alpha_regularizer = cost if other is None else lambda alphas: other(alphas) + cost(alphas)

    def log_expected_cost(epoch, genotype, metrics):
        metrics["expected_cost"] = float(cost.expected([a.detach() for a in model.alphas()]))
        log.info("expected op cost %.4f (of the most expensive cells)", metrics["expected_cost"])
    searcher.epoch_end_hooks.append(log_expected_cost)


def _fit_cap_to_step_time(searcher, s: dict, shape, channels_last: bool, cap_cell) -> None:
    """--cost_cap_by step_time: scale the cap's budgets by the largest factor whose derived cells train no slower
    than the cap cell's, measured in the retrained network (resource_cost.fit_cap_to_step_time); measured once,
    kept in the run folder (cap_fit.json) so that a resumed search derives the same cells, rank 0's on every
    rank."""
    from darts.resource_cost import (CAP_FIT_FILE, fit_cap_to_step_time, network_step_ms, same_on_every_rank,
                                     scaled_cap)
    model, run = searcher.model, searcher.run_dir
    saved = run.file(CAP_FIT_FILE) if run.path is not None else None
    if saved is not None and saved.exists():
        try:
            scale = float(json.loads(saved.read_text())["scale"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise UserError(f"{saved}: not this run's cap fit ({type(e).__name__}); delete it to measure again") \
                from None
        log.info("cost cap fitted to step time (%s): budgets x %.3f", saved, scale)
    else:
        summed, device = model.cost_cap, next(model.parameters()).device

        def derive(cap):
            model.cost_cap = cap
            try:
                return model.genotype()
            finally:
                model.cost_cap = summed

        def step_ms(genotypes):
            return network_step_ms(genotypes, s.get("cost_layers", 20), s.get("cost_channels", 16),
                                   shape.in_channels, shape.height, shape.width, device,
                                   channels_last=channels_last)
        best, trials = fit_cap_to_step_time(summed, derive, step_ms, cap_cell)
        for t in trials:
            log.info("cost cap x %.3f: the derived cells step in %.1f ms, %s's in %.1f ms (%s)", t["scale"],
                     t["step_ms"], s["cost_cap"], t["cap_step_ms"], "fits" if t["fits"] else "too slow")
        if best is None:
            log.warning("no tried factor of the cost cap gave cells that step as fast as %s's: the summed-cost "
                        "cap is kept", s["cost_cap"])
        scale = same_on_every_rank({"cap": {"scale": 1.0 if best is None else best}})["cap"]["scale"]
        run.write_json(CAP_FIT_FILE, {"scale": scale, "trials": trials})
        log.info("cost cap fitted to step time: budgets x %.3f", scale)
    model.cost_cap = scaled_cap(model.cost_cap, scale)


def _precision(settings: dict, device: torch.device) -> tuple[bool | None, bool]:
    """(bf16 autocast, channels_last) of an image search (None: not one): bf16 on CUDA; channels_last on CUDA
    and CPU, where oneDNN's depthwise convolutions run their backward pass several times faster in it (the
    search supernet's forward + backward 1.7x, benchmarks/vs_original.py)."""
    if "no_amp" not in settings:
        return None, False
    return device.type == "cuda" and not settings["no_amp"], not settings["no_channels_last"]
