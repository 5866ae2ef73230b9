"""The DARTS search loop, shared by every space (convolutional, recurrent, NAS-Bench-201).

Each step (Algorithm 1 of the paper): an architect step on the alphas with a validation batch, then an
SGD step on the weights with a training batch (only the SGD step in the first `warmup_epochs`, as PC-DARTS
warms up). Each epoch ends with an evaluation on the validation split, the current genotype, one line of
alphas.jsonl, and a checkpoint from which `resume` continues exactly (weights, alphas, both optimizers,
scheduler, RNG and batch-stream states, epoch).

Distributed (torchrun): the supernet is not wrapped in DistributedDataParallel, because the architect
differentiates with respect to substituted weights and alphas, which DDP's hooks never see; instead every
gradient (weights and each architect pass) is averaged with an explicit all-reduce, replicas start from
rank 0's values, and at each epoch end the BatchNorm running statistics are averaged, so every rank holds
the same model. Each rank trains on its shard of the batch (per-rank batch statistics).
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn as nn

from darts.distributed import all_reduce_sum, average_batchnorm_statistics, broadcast_from_main, is_main_process
from darts.engine import CHECKPOINT, Checkpointed, Epoch, RunEngine  # noqa: F401  (CHECKPOINT: callers import it from here)
from darts.progress import Progress
from darts.runs import RunDir
from darts.spaces.registry import genotype_record
from darts.strategies.architect import Architect
from darts.training import epoch_scheduler, Totals, autocast, check_finite, evaluate, scaled_learning_rate, weight_step

log = logging.getLogger("darts")

ALPHAS_FILE = "alphas.jsonl"


@dataclass
class DartsSearchConfig:
    """The paper's CIFAR-10 search settings are the defaults."""
    epochs: int = 50
    learning_rate: float = 0.025
    learning_rate_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    arch_learning_rate: float = 3e-4
    arch_weight_decay: float = 1e-3
    arch_betas: tuple = (0.5, 0.999)
    lr_schedule: str = "cosine"       # "cosine" (images) or "constant" (the recurrent search)
    clip_virtual_step: bool = False   # the architect's virtual step clips like the weight step (text)
    unrolled: bool = False
    hessian: str = "finite-difference"
    max_batches: int | None = None
    report_freq: int = 50
    progress: bool = True
    bf16: bool = False  # bfloat16 autocast of the forward passes (CUDA only; see the architect on why not all)
    warmup_epochs: int = 0  # PC-DARTS: the first epochs train the weights only (no architect step)


class DartsSearch(Checkpointed):
    def __init__(self, model: nn.Module, task, train_stream, val_stream, config: DartsSearchConfig,
                 run: RunDir | None = None, valid_batches: Callable[[], Any] | None = None,
                 weight_optimizer: torch.optim.Optimizer | None = None):
        """`train_stream.epoch(max_batches)` yields training batches, `val_stream.next()` validation batches;
        `valid_batches()` gives the batches of the end-of-epoch evaluation (default: one pass of val_stream)."""
        self.model, self.task, self.config = model, task, config
        self.train_stream, self.val_stream = train_stream, val_stream
        self.run_dir = run or RunDir(None)
        self.valid_batches = valid_batches
        self.weights = list(model.weights())
        broadcast_from_main(list(model.parameters()) + list(model.buffers()))  # identical replicas
        device = next(model.parameters()).device
        self.autocast = lambda: autocast(device, config.bf16)
        self.optimizer = weight_optimizer or torch.optim.SGD(
            self.weights, config.learning_rate, momentum=config.momentum, weight_decay=config.weight_decay)
        self.scheduler = epoch_scheduler(self.optimizer, config.lr_schedule, config.epochs, config.learning_rate_min)
        self.architect = Architect(model, task.loss, self.optimizer, config.arch_learning_rate,
                                   config.arch_weight_decay, unrolled=config.unrolled, hessian=config.hessian,
                                   arch_betas=tuple(config.arch_betas),
                                   grad_clip=config.grad_clip if config.clip_virtual_step else None,
                                   autocast=self.autocast)
        # Tasks may scale the learning rate per batch (text: lr * seq_len / bptt); images do not.
        self.lr_scale = getattr(task, "lr_scale", lambda batch: 1.0)
        self.epoch = 0
        self.history: list[dict] = []
        self.extra_epochs = 0  # epochs a plug-in runs after the search's (perturbation-based selection)
        # hook(epoch) at the start of an epoch, before its first step (a schedule, a selection decision)
        self.epoch_start_hooks: list[Callable[[int], None]] = []
        # hook(epoch, genotype, metrics) before the epoch's row is written (it may add metrics to it)
        self.epoch_end_hooks: list[Callable[[int, Any, dict], None]] = []
        # plug-ins with state (e.g. darts.robust.early_stop), checkpointed with the loop by name
        self.extra_parts: dict[str, Any] = {}
        self.stop_requested = False  # set by a hook: the loop ends after this epoch
        self.stop_genotype: Any = None  # the genotype to return instead of the last one (early stopping)
        # hook() after the last epoch, before the final genotype is derived (a cost cap fitted to measured time)
        self.finish_hooks: list[Callable[[], None]] = []
        # how the supernet derives each genotype (darts.spaces.derivation); None: its default, the paper's argmax
        self.derivation: Any = None
        self.engine = RunEngine.in_run_dir(self.run_dir, (ALPHAS_FILE,))
        self.callbacks = self.engine.callbacks  # callback(epoch, row) once the epoch is written

    @property
    def epochs(self) -> int:
        return self.config.epochs + self.extra_epochs

    # -- state -------------------------------------------------------------------------------------
    def parts(self) -> dict:
        return {"model": self.model, "weight_optimizer": self.optimizer, "arch_optimizer": self.architect.optimizer,
                "scheduler": self.scheduler, "train_stream": self.train_stream, "val_stream": self.val_stream,
                **self.extra_parts}

    # -- the loop ------------------------------------------------------------------------------------
    def run(self) -> Any:
        self.engine.run(self, self.train_epoch)
        for hook in self.finish_hooks:
            hook()
        genotype = self.stop_genotype if self.stop_genotype is not None else self.genotype()
        self.engine.finish({"genotype.json": genotype_record(genotype)})
        return genotype

    def train_epoch(self) -> dict:
        """One epoch, its row of alphas.jsonl and the checkpoint; the epoch's metrics."""
        return self.engine.step(self, self._epoch).metrics

    def _epoch(self) -> Epoch:
        cfg, epoch = self.config, self.epoch
        for hook in self.epoch_start_hooks:
            hook(epoch)
        lr = self.optimizer.param_groups[0]["lr"]  # a hook may have changed it
        warming_up = epoch < cfg.warmup_epochs  # weight steps only (PC-DARTS)
        log.info("epoch %d/%d lr %.6g%s", epoch, self.epochs, lr, " (warm-up: weights only)" if warming_up else "")
        relaxation = getattr(self.model, "relaxation", None)
        if hasattr(relaxation, "set_epoch"):  # e.g. GDAS's temperature schedule, a function of the epoch
            relaxation.set_epoch(min(epoch, cfg.epochs - 1), cfg.epochs)  # held at its end after the search
        one_sample = getattr(relaxation, "frozen", contextlib.nullcontext)  # one sample per architect step
        self.model.train()
        totals = Totals()
        n_batches = self.train_stream.batches_per_epoch(cfg.max_batches)
        bar = Progress(n_batches, f"search epoch {epoch}", cfg.report_freq,
                       enabled=cfg.progress and is_main_process())
        t0 = time.perf_counter()
        for step, train_batch in enumerate(self.train_stream.epoch(cfg.max_batches)):
            with scaled_learning_rate(self.optimizer, self.lr_scale(train_batch)):  # xi of the virtual step too
                if not warming_up:
                    val_batch = self.val_stream.next()
                    with one_sample():
                        val_loss = self.architect.step(train_batch, val_batch)
                    check_finite(val_loss, "validation loss (architect step)", epoch, step)
                with self.autocast():
                    loss, stats = self.task.loss_and_stats(self.model, train_batch)
                check_finite(loss, "training loss", epoch, step)
                weight_step(self.weights, loss, self.optimizer, cfg.grad_clip)
            totals.add(stats)
            bar.update(**self.task.summarize(totals))
        bar.close()
        train_metrics = self.task.summarize(all_reduce_sum(totals))  # over every rank's shard
        average_batchnorm_statistics(self.model)
        batches = self.valid_batches() if self.valid_batches else self.val_stream_pass()
        with self.autocast():
            valid_metrics = evaluate(self.model, self.task, batches)
        self.scheduler.step()
        genotype = self.genotype()
        metrics = {f"train_{k}": v for k, v in train_metrics.items()}
        metrics.update({f"valid_{k}": v for k, v in valid_metrics.items()})
        metrics["lr"] = lr
        metrics["seconds"] = time.perf_counter() - t0
        log.info("epoch %d %s", epoch, " ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        log.info("genotype = %s", genotype)
        row = {"epoch": epoch, **self.model.alpha_summary(), "genotype": genotype_record(genotype),
               "metrics": metrics}
        for hook in self.epoch_end_hooks:  # they may add metrics (eigenvalue, table figures, expected cost)
            hook(epoch, genotype, metrics)
        self.history.append({"epoch": epoch, **metrics})
        self.epoch += 1
        return Epoch(metrics, {ALPHAS_FILE: [row]})

    def genotype(self) -> Any:
        """The supernet's genotype under this search's derivation."""
        return self.model.genotype() if self.derivation is None else self.model.genotype(self.derivation)

    def val_stream_pass(self):
        """One pass over the validation split in fixed order, without augmentation."""
        return self.val_stream.evaluation_batches(self.config.max_batches)
