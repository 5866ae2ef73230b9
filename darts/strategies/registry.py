"""Every search strategy by name, so `--strategy NAME` and the library pick one from one table.

Three kinds, by what they need from a space:
- "gradient" (DARTS): a supernet whose alphas are learned by the architect;
- "weight-sharing" (ENAS): a supernet that runs one sampled path, and the space's ArchSpace;
- "sample" (random, evolution, REINFORCE, ...): the space's ArchSpace and an evaluator for rewards.
A sample strategy is a `Strategy` subclass added to SAMPLE_STRATEGIES; its constructor's keyword
arguments become its options (flags `--<strategy>_<argument>`), with the constructor's defaults.
"""
from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Callable

from darts.errors import UserError
from darts.options import Option
from darts.strategies.base import ArchSpace, Strategy
from darts.strategies.bayesian import BayesianOptimization
from darts.strategies.evolution import RegularizedEvolution
from darts.strategies.ppo import PPO
from darts.strategies.random_search import RandomSearch
from darts.strategies.reinforce import Reinforce

SAMPLE_STRATEGIES: dict[str, type[Strategy]] = {
    RandomSearch.name: RandomSearch,
    RegularizedEvolution.name: RegularizedEvolution,
    Reinforce.name: Reinforce,
    BayesianOptimization.name: BayesianOptimization,
    PPO.name: PPO,
}


@dataclass(frozen=True)
class StrategyInfo:
    name: str
    kind: str                        # "gradient", "weight-sharing" or "sample"
    description: str
    options: tuple[Option, ...] = ()
    check: Callable[[dict], None] | None = None  # refuses contradictory settings (one-line UserError)


_NOT_OPTIONS = {"self", "space", "seed", "device"}


def sample_strategy_options(cls: type[Strategy]) -> tuple[Option, ...]:
    """The options of a sample strategy: its constructor's keyword arguments, flags prefixed by its name."""
    out = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name in _NOT_OPTIONS or p.default is inspect.Parameter.empty:
            continue
        kind = float if isinstance(p.default, float) or p.default is None else None
        out.append(Option(f"{cls.name}_{p.name}", p.default, f"{cls.name}: {p.name.replace('_', ' ')}",
                          type=kind, key=p.name))
    return tuple(out)


def darts_options() -> tuple[Option, ...]:
    """DARTS's flags (the original code's names and aliases); defaults from DartsSearchConfig."""
    from darts.search import DartsSearchConfig
    from darts.strategies.architect import HESSIAN_METHODS
    from darts.options import dataclass_options
    from darts.spaces.relaxation import RELAXATIONS
    import darts.robust.relaxations  # noqa: F401  (registers gumbel and dirichlet)
    return dataclass_options(DartsSearchConfig, {
        "learning_rate": "initial weight learning rate", "learning_rate_min": "final weight learning rate (cosine)",
        "momentum": "weight SGD momentum", "weight_decay": "weight decay of the weights",
        "grad_clip": "gradient norm clipping of the weights", "arch_learning_rate": "Adam learning rate of the alphas",
        "arch_weight_decay": "weight decay of the alphas",
        "unrolled": "second-order architect (one unrolled weight step)",
        "hessian": "second-order Hessian-vector product: the paper's finite difference or exact double backward",
        "warmup_epochs": "PC-DARTS: the first epochs train the weights only, so that the alphas are not chosen on "
                         "untrained convolutions (the paper: 15 of 50); 0 = none"},
        skip=("epochs", "max_batches", "report_freq", "progress", "bf16", "arch_betas", "lr_schedule",
              "clip_virtual_step"),
        learning_rate={"aliases": ("--lr",), "minimum": 0.0}, learning_rate_min={"minimum": 0.0},
        momentum={"minimum": 0.0, "below": 1.0}, weight_decay={"aliases": ("--wdecay",), "minimum": 0.0},
        grad_clip={"aliases": ("--clip",), "minimum": 0.0}, arch_learning_rate={"aliases": ("--arch_lr",),
                                                                                "minimum": 0.0},
        arch_weight_decay={"aliases": ("--arch_wdecay",), "minimum": 0.0}, unrolled={"flag": True},
        hessian={"choices": tuple(HESSIAN_METHODS)}, warmup_epochs={"minimum": 0}) + (
        Option("relaxation", "softmax", "the supernet's continuous relaxation of each choice (gumbel: GDAS, "
               "dirichlet: DrNAS)", choices=tuple(RELAXATIONS)),) + robust_options()


def robust_options() -> tuple[Option, ...]:
    """Issue 20's plug-ins (darts/robust), all off by default."""
    return (
        Option("hessian_eigen", False, "log the dominant eigenvalue of the validation loss's Hessian w.r.t. the "
               "alphas and the normal cell's parameter-free ops each epoch (RobustDARTS)", flag=True),
        Option("hessian_eigen_batches", 2, "evaluation batches of the Hessian eigenvalue", minimum=1),
        Option("hessian_eigen_iterations", 20, "power iterations of the Hessian eigenvalue", minimum=1),
        Option("early_stop", False, "DARTS-ES: stop when the Hessian eigenvalue grows too fast and keep the "
               "genotype of --early_stop_window epochs before (implies --hessian_eigen)", flag=True),
        Option("early_stop_window", 5, "DARTS-ES: epochs k between the compared (k-epoch mean) eigenvalues",
               minimum=1),
        Option("early_stop_ratio", 0.75, "DARTS-ES: stop when mean eigenvalue(i - k) / mean eigenvalue(i) < ratio",
               minimum=0.0),
        Option("beta_decay", 0.0, "beta-DARTS: final weight of the Beta-Decay regulariser of the alphas "
               "(grows linearly from 0)", minimum=0.0),
        Option("cost_weight", 0.0, "resource-aware search (FBNet / ProxylessNAS): weight of the cells' expected "
               "op cost (forward + backward time, measured on this device) in the architecture loss, as a "
               "fraction of the most expensive cells; 0 = none", minimum=0.0),
        Option("cost_channels", 16, "with --cost_weight or --cost_cap: the retrained network's --init_channels, "
               "at which op costs are measured", minimum=1),
        Option("cost_layers", 20, "with --cost_weight or --cost_cap: the retrained network's --layers (cells); "
               "each op is timed at every cell's shape and summed", minimum=1),
        Option("op_costs", None, "with --cost_weight or --cost_cap: a JSON table of op costs in ms (rows normal, "
               "reduce, reduce_inner) instead of measuring, e.g. a run folder's op_costs.json", type=str),
        Option("cost_cap", None, "derive the strongest cells whose cost (their ops and the cell inputs they "
               "read, under the op cost table) is at most that of this cell's (a cells/ name or genotype JSON) "
               "cells of the same type, e.g. "
               "ResidualSepConv; default: no cap", type=str),
        Option("cost_cap_by", "op_costs", "with --cost_cap: op_costs (the cells' summed op costs) or step_time "
               "(after the search, the cap's budgets are scaled by the largest factor whose derived cells' "
               "retrained network, timed on this device, steps no slower than the cap cell's)",
               choices=("op_costs", "step_time")),
        Option("aux_skip", 0.0, "DARTS-: initial weight of an auxiliary skip connection beside every edge, decayed "
               "linearly to 0 over the search (the paper: 1); 0 = none", minimum=0.0),
        Option("allow_same_input", False, "derive cells whose nodes may take both ops from one input (an op and "
               "the identity of the same input, a residual block as in ResidualSepConv); DARTS takes them from two "
               "distinct inputs", flag=True),
        Option("chain_cells", False, "derive chain cells: each node takes its two strongest ops of the node before "
               "it (the first node of the newer cell input), ResidualSepConv's topology (an op beside the identity "
               "is a residual block); only the ops are searched, as in chain-structured spaces (ProxylessNAS, "
               "FBNet)", flag=True),
        Option("max_skip", None, "P-DARTS: at most this many skip connections in the derived normal cell (the "
               "paper: 2); default: no cap", type=int, minimum=0),
        Option("selection", "argmax", "how the cell is derived: argmax (the alphas, DARTS) or pt (DARTS-PT: "
               "perturbation-based selection with tuning epochs after the search)", choices=("argmax", "pt")),
        Option("pt_interval", 5, "DARTS-PT: tuning epochs between two decisions (the paper: 5)", minimum=1),
        Option("pt_batches", None, "DARTS-PT: validation batches per accuracy measurement (default: all of the "
               "end-of-epoch evaluation)", type=int, minimum=1))


def enas_options() -> tuple[Option, ...]:
    """ENAS's flags (the ENAS paper's controller); the shared weights take DARTS's weight flags."""
    from darts.strategies.enas import ENAS_FLAGS, EnasConfig
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
                              minimum=0.0 if kind is float or isinstance(f.default, float) else 1))
    weights = {o.name: o for o in darts_options()}
    return tuple(weights[n] for n in ("learning_rate", "learning_rate_min", "momentum", "weight_decay",
                                      "grad_clip")) + tuple(out)


def check_darts(settings: dict) -> None:
    if settings.get("hessian", "finite-difference") != "finite-difference" and not settings.get("unrolled"):
        raise UserError(f"--hessian {settings['hessian']} only matters for a second-order search: add --unrolled")
    if settings.get("op_costs") and not (settings.get("cost_weight") or settings.get("cost_cap")):
        raise UserError("--op_costs is the table of --cost_weight and --cost_cap: add one of them")
    fitted = settings.get("cost_cap_by", "op_costs") != "op_costs"
    if fitted and not settings.get("cost_cap"):
        raise UserError(f"--cost_cap_by {settings['cost_cap_by']} fits the budgets of --cost_cap: add --cost_cap CELL")
    if fitted and settings.get("early_stop"):
        raise UserError("--cost_cap_by step_time derives the cells from the last alphas; --early_stop returns an "
                        "earlier genotype: use one")
    if settings.get("cost_cap") and settings.get("max_skip") is not None:
        raise UserError("--cost_cap and --max_skip both decide the derived normal cell: use one")
    if settings.get("chain_cells") and settings.get("selection") == "pt":
        raise UserError("--chain_cells derives the cells from the alphas; --selection pt does not: use one")
    if settings.get("allow_same_input") and settings.get("selection") == "pt":
        raise UserError("--allow_same_input derives the cells from the alphas; --selection pt does not: use one")
    if settings.get("cost_cap") and settings.get("selection") == "pt":
        raise UserError("--cost_cap derives the cells from the alphas; --selection pt does not: use one")
    warmup, epochs = settings.get("warmup_epochs") or 0, settings.get("epochs")
    if warmup and epochs is not None and warmup >= epochs:
        raise UserError(f"--warmup_epochs {warmup} leaves the architect none of the {epochs} epochs: give fewer "
                        "warm-up epochs or more --epochs")
    if settings.get("early_stop") and settings.get("selection") == "pt":
        raise UserError("--early_stop and --selection pt both decide when and what the search returns: use one")


def _describe(cls: type[Strategy]) -> str:
    return (cls.__doc__ or inspect.getmodule(cls).__doc__ or cls.name).strip().splitlines()[0]


def strategies() -> dict[str, StrategyInfo]:
    """Name -> StrategyInfo of every strategy (DARTS and ENAS first, then the sample-based ones)."""
    table = {"darts": StrategyInfo("darts", "gradient", "DARTS: alphas learned by gradient descent (the architect)",
                                   darts_options(), check_darts),
             "enas": StrategyInfo("enas", "weight-sharing", "ENAS: a REINFORCE controller over shared weights",
                                  enas_options())}
    for name, cls in SAMPLE_STRATEGIES.items():
        table[name] = StrategyInfo(name, "sample", _describe(cls), sample_strategy_options(cls))
    return table


def register_strategy(cls: type[Strategy]) -> type[Strategy]:
    """Add a sample-based strategy (a `Strategy` subclass with a unique `name`); usable as a decorator."""
    old = SAMPLE_STRATEGIES.get(cls.name)
    if cls.name in ("darts", "enas") or (old is not None and old is not cls):
        raise ValueError(f"a strategy named {cls.name!r} is already registered")
    SAMPLE_STRATEGIES[cls.name] = cls
    return cls


def get_strategy(name: str) -> StrategyInfo:
    table = strategies()
    if name not in table:
        raise UserError(f"unknown strategy {name!r}; choose one of {', '.join(table)}")
    return table[name]


def build_strategy(name: str, space: ArchSpace, seed: int = 0, **options) -> Strategy:
    """A strategy by name; `options` are its keyword arguments (e.g. population_size for evolution)."""
    try:
        cls = SAMPLE_STRATEGIES[name]
    except KeyError:
        raise UserError(f"unknown strategy {name!r}; choose one of {', '.join(SAMPLE_STRATEGIES)}") from None
    return cls(space, seed=seed, **options)
