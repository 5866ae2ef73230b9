"""DARTS as a registered strategy: its own options (the original code's flag names), the rules that concern
them, and its run: the DARTS loop (darts/search.py) over the space's supernet, with every active search
add-on (darts/addons) attached to it. The add-ons' options join DARTS's at each lookup (StrategyInfo.options)."""
from __future__ import annotations

import logging

import torch

from darts.errors import UserError
from darts.options import Option, dataclass_options
from darts.strategies.info import SearchOutcome, StrategyInfo

log = logging.getLogger("darts")


def darts_options() -> tuple[Option, ...]:
    """DARTS's own flags (the original code's names and aliases); defaults from DartsSearchConfig."""
    from darts.search import DartsSearchConfig
    from darts.spaces.relaxation import RELAXATIONS
    import darts.robust.relaxations  # noqa: F401  (registers gumbel and dirichlet)
    from darts.strategies.architect import HESSIAN_METHODS
    return dataclass_options(DartsSearchConfig, {
        "learning_rate": "initial weight learning rate", "learning_rate_min": "final weight learning rate (cosine)",
        "momentum": "weight SGD momentum", "weight_decay": "weight decay of the weights",
        "grad_clip": "gradient norm clipping of the weights", "arch_learning_rate": "Adam learning rate of the alphas",
        "arch_weight_decay": "weight decay of the alphas",
        "unrolled": "second-order architect (one unrolled weight step)",
        "hessian": "HVP of --unrolled: finite-difference (paper) or exact",
        "warmup_epochs": "PC-DARTS: the first epochs train the weights only (paper: 15 of 50)"},
        skip=("epochs", "max_batches", "report_freq", "progress", "bf16", "arch_betas", "lr_schedule",
              "clip_virtual_step"),
        learning_rate={"aliases": ("--lr",), "minimum": 0.0}, learning_rate_min={"minimum": 0.0},
        momentum={"minimum": 0.0, "below": 1.0}, weight_decay={"aliases": ("--wdecay",), "minimum": 0.0},
        grad_clip={"aliases": ("--clip",), "minimum": 0.0}, arch_learning_rate={"aliases": ("--arch_lr",),
                                                                                "minimum": 0.0},
        arch_weight_decay={"aliases": ("--arch_wdecay",), "minimum": 0.0}, unrolled={"flag": True},
        hessian={"choices": tuple(HESSIAN_METHODS)}, warmup_epochs={"minimum": 0}) + (
        Option("relaxation", "softmax", "relaxation of each choice (gumbel: GDAS, dirichlet: DrNAS)",
               choices=tuple(RELAXATIONS)),)


def check_darts(settings: dict) -> None:
    """The rules of DARTS's own options (each add-on checks its own)."""
    if settings.get("hessian", "finite-difference") != "finite-difference" and not settings.get("unrolled"):
        raise UserError(f"--hessian {settings['hessian']} only matters for a second-order search: add --unrolled")
    warmup, epochs = settings.get("warmup_epochs") or 0, settings.get("epochs")
    if warmup and epochs is not None and warmup >= epochs:
        raise UserError(f"--warmup_epochs {warmup} leaves the architect none of the {epochs} epochs: give fewer "
                        "warm-up epochs or more --epochs")


def precision(settings: dict, device: torch.device) -> tuple[bool | None, bool]:
    """(bf16 autocast, channels_last) of an image search (None: not one): bf16 on CUDA; channels_last on CUDA
    and CPU, where oneDNN's depthwise convolutions run their backward pass several times faster in it (the
    search supernet's forward + backward 1.7x, benchmarks/vs_original.py)."""
    if "no_amp" not in settings:
        return None, False
    return device.type == "cuda" and not settings["no_amp"], not settings["no_channels_last"]


def run_darts(prepared, run, callbacks: list) -> SearchOutcome:
    """The DARTS loop over `prepared.model`, every active add-on attached, resumed when asked."""
    from darts.addons.registry import AddonContext, active_addons
    from darts.distributed import shard
    from darts.search import CHECKPOINT, DartsSearch, DartsSearchConfig
    from darts.summary import count_parameters
    settings, device = prepared.settings, prepared.device
    bf16, channels_last = precision(settings, device)
    model = prepared.model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    train, val, valid_batches = prepared.data.search_streams(device, shard(), channels_last)
    if bf16 is not None:
        log.info("precision: %s, %s", "bf16 autocast" if bf16 else "float32",
                 "channels_last" if channels_last else "NCHW")
    log.info("param size = %fMB", count_parameters(model) / 1e6)
    config = prepared.config(DartsSearchConfig, bf16=bool(bf16))
    searcher = DartsSearch(model, prepared.data.task(), train, val, config, run, valid_batches=valid_batches)
    if prepared.report:
        searcher.epoch_end_hooks.append(prepared.table_hook())
    context = AddonContext(prepared.space, prepared.data.shape, channels_last)
    for addon in active_addons(settings):
        addon.attach(searcher, settings, context)
    searcher.callbacks.extend(callbacks)
    searcher.run_labels = prepared.labels()  # saved in the checkpoint; a resume of another search is refused
    if settings.get("resume"):
        searcher.resume(run.file(CHECKPOINT), prepared.resume_state)
    return SearchOutcome(searcher.run(), searcher.history, model)


# darts_options is called at each lookup, so that a relaxation registered later is among the choices
DARTS = StrategyInfo("darts", "gradient", "DARTS: alphas learned by gradient descent (the architect)",
                     darts_options, check_darts, run_darts, takes_addons=True)
