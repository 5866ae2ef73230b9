"""ENAS as a registered strategy: its options (the ENAS paper's controller; the shared weights take DARTS's weight
flags) and its run, the ENAS loop (darts/strategies/enas.py) over the space's supernet and ArchSpace."""
from __future__ import annotations

import dataclasses
import logging

from darts.options import Option
from darts.strategies.info import SearchOutcome, StrategyInfo

log = logging.getLogger("darts")

WEIGHT_FLAGS = ("learning_rate", "learning_rate_min", "momentum", "weight_decay", "grad_clip")
# The controller's bounds (its whole-number settings: at least 1).
ENAS_RULES = {"controller_lr": {"above": 0.0}, "entropy_weight": {"minimum": 0.0},
              "baseline_decay": {"minimum": 0.0, "below": 1.0}, "temperature": {"above": 0.0},
              "tanh_constant": {"above": 0.0}, "reward_c": {"above": 0.0}}


def enas_options() -> tuple[Option, ...]:
    """ENAS's flags: DARTS's flags of the shared weights, then the controller's."""
    from darts.strategies.enas import ENAS_FLAGS, EnasConfig
    from darts.strategies.gradient import darts_options
    helps = {"controller_lr": "Adam learning rate of the controller",
             "controller_steps": "controller samples (REINFORCE steps) per epoch",
             "controller_hidden": "hidden size of the controller LSTM",
             "entropy_weight": "entropy bonus weight", "baseline_decay": "decay of the moving-average baseline",
             "temperature": "logit temperature", "tanh_constant": "logits = c * tanh(logits / temperature)",
             "reward_c": "text reward = reward_c / perplexity",
             "derive_samples": "architectures scored to derive the final cell"}
    out = []
    for f in dataclasses.fields(EnasConfig):
        if f.name in helps:
            kind = float if f.name in ("temperature", "tanh_constant") else None
            out.append(Option(ENAS_FLAGS.get(f.name, f.name), f.default, helps[f.name], type=kind, key=f.name,
                              **ENAS_RULES.get(f.name, {"minimum": 1})))
    weights = {o.name: o for o in darts_options()}
    return tuple(weights[n] for n in WEIGHT_FLAGS) + tuple(out)


def run_enas(prepared, run, callbacks: list) -> SearchOutcome:
    """The ENAS loop: a controller samples paths of the supernet, whose shared weights train on them."""
    from darts.strategies.enas import CHECKPOINT, EnasConfig, EnasSearch
    from darts.summary import count_parameters
    settings = prepared.settings
    model = prepared.model.to(prepared.device)
    train, val, valid_batches = prepared.data.search_streams(prepared.device)
    log.info("param size = %fMB", count_parameters(model) / 1e6)
    searcher = EnasSearch(model, prepared.space.arch_space(settings), prepared.data.task(), train, val,
                          prepared.config(EnasConfig, seed=settings["seed"]), run,
                          valid_batches=valid_batches, arch_metrics=prepared.report)
    searcher.callbacks.extend(callbacks)
    searcher.run_labels = prepared.labels()  # saved in the checkpoint; a resume of another search is refused
    if settings.get("resume"):
        searcher.resume(run.file(CHECKPOINT), prepared.resume_state)
    return SearchOutcome(searcher.run(), searcher.history, model)


ENAS = StrategyInfo("enas", "weight-sharing", "ENAS: a REINFORCE controller over shared weights", enas_options(),
                    run=run_enas)
