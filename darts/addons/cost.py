"""Add-on: resource-aware search over a space that prices its cells' ops (a supernet with the "op_costs"
capability hands out its `cost_model()`; the DARTS space's is darts/spaces/darts_cnn/resource_cost.py). The cells'
expected op cost joins the architecture loss (--cost_weight); a cost cap (--cost_cap CELL, a derivation rule)
derives the strongest cells whose cost fits CELL's, under the derivation's node rule (the node_rule add-on
attaches first); --cost_cap_by step_time then scales the cap's budgets to the retrained network's measured step
time after the search. The table is timed at the shapes of the space's retrained network unless --cost_channels /
--cost_layers name another; --op_costs gives it instead, as op costs in ms or as a latency table of darts-latency
build, whose predictions at --cost_batch the space converts (the term then weighs inference latency on the
table's machine)."""
from __future__ import annotations

import json
import logging

from darts.addons.base import SearchAddon, add_alpha_regularizer, capabilities, register_addon
from darts.distributed import same_on_every_rank
from darts.errors import UserError
from darts.options import Option
from darts.spaces.derivation import ARGMAX

log = logging.getLogger("darts")


@register_addon
class CostTerm(SearchAddon):
    name = "cost"
    description = "resource-aware search: an op cost term and a cost cap on the derived cells"
    options = (
        Option("cost_weight", 0.0, "FBNet-style: weight of the cells' expected op cost in the alphas' loss",
               minimum=0.0),
        Option("cost_channels", None, "channels of the network whose op costs are timed (default: the space's, 36)",
               type=int, minimum=1),
        Option("cost_layers", None, "cells of the network whose op costs are timed (default: the space's, 20)",
               type=int, minimum=1),
        Option("op_costs", None, "op costs in ms from a run's op_costs.json or a darts-latency table, instead of "
                                 "timing", type=str),
        Option("cost_batch", None, "batch of the latency table's predictions (--op_costs a latency table; default 1)",
               type=int, minimum=1),
        Option("cost_cap", None, "derive the strongest cells costing at most this cell's (cells/ name or JSON)",
               type=str),
        Option("cost_cap_by", "op_costs", "op_costs (summed) or step_time (fitted to measured step time)",
               choices=("op_costs", "step_time")))
    needs = frozenset({"op_costs"})

    def is_active(self, settings: dict) -> bool:
        return bool(settings.get("cost_weight") or settings.get("cost_cap"))

    def check(self, settings: dict) -> None:
        if settings.get("op_costs") and not self.is_active(settings):
            raise UserError("--op_costs is the table of --cost_weight and --cost_cap: add one of them")
        if settings.get("cost_batch") is not None and not settings.get("op_costs"):
            raise UserError(f"--cost_batch {settings['cost_batch']} is the batch of a latency table's predictions: "
                            f"give the table with --op_costs FILE (darts-latency build writes it)")
        fitted = self.value(settings, "cost_cap_by") != "op_costs"
        if fitted and not settings.get("cost_cap"):
            raise UserError(f"--cost_cap_by {settings['cost_cap_by']} fits the budgets of --cost_cap: add "
                            f"--cost_cap CELL")
        if fitted and settings.get("early_stop"):
            raise UserError("--cost_cap_by step_time derives the cells from the last alphas; --early_stop returns "
                            "an earlier genotype: use one")
        if settings.get("cost_cap") and settings.get("max_skip") is not None:
            raise UserError("--cost_cap and --max_skip both decide the derived normal cell: use one")
        if settings.get("cost_cap") and settings.get("selection") == "pt":
            raise UserError("--cost_cap derives the cells from the alphas; --selection pt does not: use one")

    def requires(self, supernet, space, settings: dict) -> None:
        """The supernet prices its cells' ops (and caps them); the cap's cell and the cost table read well."""
        needed = self.needs | ({"cost_cap"} if settings.get("cost_cap") else set())
        if needed - capabilities(supernet):
            flag = "--cost_weight" if settings.get("cost_weight") else "--cost_cap"
            raise UserError(f"{flag} weighs the DARTS cells' op costs; the {space.name} space has no such cells")
        cell = cap_cell(settings)
        if settings.get("op_costs"):
            from darts.latency import LatencyTable
            given = supernet.cost_model().read(settings["op_costs"], priced_ops(supernet.primitives, cell),
                                               batch=settings.get("cost_batch"))
            if isinstance(given, LatencyTable) and self.value(settings, "cost_cap_by") == "step_time":
                raise UserError("--cost_cap_by step_time fits the cap to the training step timed here; a latency "
                                "table prices inference on its own machine: use --cost_cap_by op_costs with it")

    def attach(self, searcher, settings: dict, context) -> None:
        s, model = settings, searcher.model
        costs = model.cost_model()
        cell = cap_cell(s)
        table = costs.table(searcher.run_dir, priced_ops(model.primitives, cell), s.get("op_costs"), context.shape,
                            next(model.parameters()).device, s.get("cost_channels"), s.get("cost_layers"),
                            context.channels_last, batch=s.get("cost_batch"))
        if cell is not None:
            derivation = searcher.derivation or ARGMAX
            cap = costs.cap(table, cell, f"--cost_cap {s['cost_cap']}", derivation.node_rule,
                            raise_to_cheapest=s.get("cost_cap_by") == "step_time")
            searcher.derivation = derivation.but(cost_cap=cap)
            if s.get("cost_cap_by") == "step_time":
                searcher.finish_hooks.append(lambda: fit_cap_to_step_time(searcher, s, context, cell))
        if s.get("cost_weight"):
            cost = costs.expected_cost(s["cost_weight"], table, model.relaxation.probabilities)
            add_alpha_regularizer(searcher, cost)
            searcher.epoch_end_hooks.append(_cost_logger(cost, model))


def _cost_logger(cost, model):
    def log_expected_cost(epoch, genotype, metrics):
        metrics["expected_cost"] = float(cost.expected([a.detach() for a in model.alphas()]))
        log.info("expected op cost %.4f (of the most expensive cells)", metrics["expected_cost"])
    return log_expected_cost


def cap_cell(settings: dict):
    """The --cost_cap cell (None: no cap), refused with one line unless a convolutional DARTS cell."""
    if not settings.get("cost_cap"):
        return None
    from darts.genotype import Genotype, GenotypeError
    from darts.spaces.genotype_io import load_genotype
    try:
        cell = load_genotype(settings["cost_cap"])
        if not isinstance(cell, Genotype):
            raise UserError(f"--cost_cap {settings['cost_cap']}: not a convolutional DARTS cell; give one such as "
                            f"ResidualSepConv")
        cell.validate()  # any known op: the cap's cell may use ops the search leaves out
    except GenotypeError as e:
        raise UserError(f"--cost_cap: {e}") from None
    return cell


def priced_ops(primitives, cell) -> list[str]:
    """The ops the cost table prices: the search's primitives, then any other op of the --cost_cap cell (None:
    no cap; a search may leave out ops, e.g. pools, that the cap's hand-designed cell uses; its cost still counts)."""
    if cell is None:
        return list(primitives)
    return list(primitives) + sorted({op for op, _ in cell.normal + cell.reduce} - set(primitives))


def fit_cap_to_step_time(searcher, s: dict, context, cell) -> None:
    """--cost_cap_by step_time: scale the cap's budgets by the largest factor whose derived cells train no slower
    than the cap cell's, measured in the retrained network (the cost model's fit_to_step_time); measured once,
    kept in the run folder (cap_fit.json) so that a resumed search derives the same cells, rank 0's on every
    rank."""
    run, derivation, costs = searcher.run_dir, searcher.derivation, searcher.model.cost_model()
    saved = run.file(costs.fit_file) if run.path is not None else None
    if saved is not None and saved.exists():
        try:
            scale = float(json.loads(saved.read_text())["scale"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise UserError(f"{saved}: not this run's cap fit ({type(e).__name__}); delete it to measure again") \
                from None
        log.info("cost cap fitted to step time (%s): budgets x %.3f", saved, scale)
    else:
        scale, trials = _measure_fit(searcher, s, context, cell)
        run.write_json(costs.fit_file, {"scale": scale, "trials": trials})
        log.info("cost cap fitted to step time: budgets x %.3f", scale)
    searcher.derivation = derivation.but(cost_cap=costs.scaled(derivation.cost_cap, scale))


def _measure_fit(searcher, s: dict, context, cell) -> tuple[float, list[dict]]:
    """(the fitted factor of the cap's budgets, 1 when none fits, rank 0's on every rank; the trials measured)."""
    model, derivation = searcher.model, searcher.derivation
    costs, device = model.cost_model(), next(model.parameters()).device

    def step_ms(genotypes):
        return costs.step_ms(genotypes, context.shape, device, s.get("cost_channels"), s.get("cost_layers"),
                             context.channels_last)
    best, trials = costs.fit_to_step_time(derivation.cost_cap, lambda cap: model.genotype(derivation.but(cost_cap=cap)),
                                          step_ms, cell)
    for t in trials:
        log.info("cost cap x %.3f: the derived cells step in %.1f ms, %s's in %.1f ms (%s)", t["scale"],
                 t["step_ms"], s["cost_cap"], t["cap_step_ms"], "fits" if t["fits"] else "too slow")
    if best is None:
        log.warning("no tried factor of the cost cap gave cells that step as fast as %s's: the summed-cost "
                    "cap is kept", s["cost_cap"])
    scale = same_on_every_rank({"cap": {"scale": 1.0 if best is None else best}})["cap"]["scale"]
    return scale, trials
