"""Pieces of the training loop shared by search and final training, for images and text alike.

A *task* says how a batch becomes a loss: `loss(forward, batch)` (what the architect differentiates),
`loss_and_stats(forward, batch)` (the training loss plus summable statistics such as correct counts),
and `summarize(totals)` (statistics -> reported metrics). The loop code below never looks inside a batch.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F

from darts.distributed import all_reduce_mean, all_reduce_sum
from darts.errors import UserError


class TrainingDiverged(UserError):
    """The loss became NaN or infinite."""


class ImageClassification:
    """Cross-entropy classification; reports loss and top-1 accuracy in percent."""

    metric_names = ("loss", "acc")

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = label_smoothing

    def loss(self, forward: Callable, batch) -> torch.Tensor:
        x, y = batch
        return F.cross_entropy(_logits(forward(x)), y, label_smoothing=self.label_smoothing)

    def loss_and_stats(self, forward: Callable, batch) -> tuple[torch.Tensor, dict]:
        x, y = batch
        logits = _logits(forward(x))
        loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        n = y.numel()
        return loss, {"loss_sum": loss.detach() * n, "correct": (logits.argmax(1) == y).sum(), "n": n}

    @staticmethod
    def summarize(totals: dict) -> dict:
        n = max(float(totals.get("n", 0)), 1.0)
        return {"loss": float(totals["loss_sum"]) / n, "acc": 100.0 * float(totals["correct"]) / n}


def _logits(out):
    """Networks with an auxiliary head return (logits, aux); the task needs the main logits."""
    return out[0] if isinstance(out, tuple) else out


class Totals(dict):
    """Sums of per-batch statistics (kept as tensors to avoid a device sync per batch)."""

    def add(self, stats: dict) -> None:
        for k, v in stats.items():
            self[k] = self.get(k, 0) + (v.detach() if torch.is_tensor(v) else v)


def check_finite(loss: torch.Tensor | float, what: str, epoch: int, step: int, hint: str = "") -> None:
    """A NaN or infinite loss (or reward) stops the run with one line naming the epoch and step; nothing of
    that epoch has been written yet (see darts.engine), so the last checkpoint is the last good one."""
    value = float(loss.detach()) if torch.is_tensor(loss) else float(loss)
    if not math.isfinite(value):
        raise TrainingDiverged(f"{what} became {value} at epoch {epoch} step {step}; "
                               f"the last good checkpoint is intact{hint}")


@contextlib.contextmanager
def scaled_learning_rate(optimizer: torch.optim.Optimizer, scale: float):
    """Multiply every group's learning rate by `scale` for one step (text: lr * seq_len / bptt)."""
    if scale == 1.0:
        yield
        return
    saved = [g["lr"] for g in optimizer.param_groups]
    for g in optimizer.param_groups:
        g["lr"] = g["lr"] * scale
    try:
        yield
    finally:
        for g, lr in zip(optimizer.param_groups, saved):
            g["lr"] = lr


def epoch_scheduler(optimizer: torch.optim.Optimizer, schedule: str, epochs: int, lr_min: float):
    """The per-epoch learning-rate schedule of the search loops: cosine to lr_min (images) or constant (text)."""
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, float(epochs), eta_min=lr_min)
    if schedule == "constant":
        return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    raise ValueError(f"lr_schedule must be 'cosine' or 'constant', got {schedule!r}")


def weight_step(params: list[nn.Parameter], loss: torch.Tensor, optimizer: torch.optim.Optimizer,
                grad_clip: float | None, ddp: bool = False) -> None:
    """Gradients of `loss` for `params` only (alphas untouched), averaged across ranks, clipped, stepped.

    `ddp`: the model is wrapped in DistributedDataParallel, whose hooks average the gradients while
    `loss.backward()` runs (overlapping communication with the backward pass), so no all-reduce here.
    """
    if ddp:
        loss.backward()
    else:
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
        all_reduce_mean(grads)
        for p, g in zip(params, grads):
            p.grad = g
    if grad_clip:
        nn.utils.clip_grad_norm_(params, grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


@contextlib.contextmanager
def frozen_batchnorm_stats(model: nn.Module):
    """Keep BN running statistics fixed (momentum 0) while still normalising with batch statistics."""
    saved = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats and m.training:
            saved.append((m, m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None))
            m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum, tracked in saved:
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)


@contextlib.contextmanager
def training_mode_frozen(model: nn.Module):
    """The model as the architect sees the loss, for measurements beside the search (the Hessian eigenvalue,
    perturbation-based selection): training mode with batch statistics, BatchNorm's running statistics
    untouched, the relaxation (if any) in evaluation mode so that no sample is drawn; the modes restored after."""
    was_training = model.training
    model.train()
    relaxation = getattr(model, "relaxation", None)
    if relaxation is not None:
        relaxation.eval()
    try:
        with frozen_batchnorm_stats(model):
            yield
    finally:
        model.train(was_training)


def autocast(device: torch.device, bf16: bool):
    """bfloat16 autocast when asked (CUDA by default; CPU only with train_final.py's --cpu_bf16, fast on CPUs
    with native bf16 such as AMX), plain float32 otherwise. bf16 keeps float32's exponent range, so no loss
    scaling is needed."""
    if bf16:
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(model: nn.Module, task, batches: Iterable[Any]) -> dict:
    """Metrics of `model` in eval mode over `batches`; distributed, the totals are summed over ranks
    (each rank passing its shard of the evaluation batches), so every rank returns the global metrics."""
    was_training = model.training
    model.eval()
    totals = Totals()
    try:
        for batch in batches:
            _, stats = task.loss_and_stats(model, batch)
            totals.add(stats)
    finally:
        model.train(was_training)
    totals = all_reduce_sum(totals)
    return task.summarize(totals) if totals else {}
