"""ENAS (Pham et al., 2018): a REINFORCE controller searching a supernet whose sampled paths share weights.

Every epoch alternates the paper's two phases on the supernets DARTS searches:

 1. shared weights w: each training batch goes through one architecture m ~ pi_theta, and one SGD step on
    L_train(m; w) runs only that path (`forward_path`: per edge the chosen op, no mixture, no alphas), so a
    step costs what a step of the child network costs;
 2. controller theta: for `controller_steps` samples m ~ pi_theta, the reward R(m) is measured with the
    shared weights on the next validation batch, and one REINFORCE step follows (darts.strategies.reinforce):
        loss = -(R - b) log pi(m) - lambda H(pi),    b <- beta b + (1 - beta) R  (b starts at the first R).
    R is the batch accuracy in [0, 1] for images and c / perplexity for text (c = 80, cross-entropy capped
    at 10, as the ENAS code). The entropy bonus is the package's REINFORCE one, a term of the loss; the
    ENAS code adds lambda H to the reward instead (same weight, a noisier gradient of the same bonus).

The derived cell, as in the paper: `derive_samples` architectures from the trained controller, each scored on
one and the same validation batch with the shared weights; the best is written as the space's genotype.

Rewards and evaluations use batch statistics in BatchNorm (without updating the running statistics): those
are averages over many different paths and fit none of them. Dropout is off while scoring.

Defaults: the paper's controller (Adam at 3.5e-4, logits divided by temperature 5 then 2.5 * tanh, entropy
weight 1e-4, one-layer LSTM of 64 units initialised in [-0.1, 0.1]); baseline decay 0.99 and 300 controller
samples per epoch (30 steps of 10) from the authors' micro-search script; the shared weights train with
DARTS's search settings, so the two strategies compare on the same space and budget.
"""
from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

import torch
import torch.nn as nn

from darts.distributed import is_distributed
from darts.engine import CHECKPOINT, Checkpointed, Epoch, RunEngine  # noqa: F401  (CHECKPOINT: the file resume reads)
from darts.errors import UserError
from darts.progress import Progress
from darts.runs import RunDir
from darts.spaces.registry import genotype_record
from darts.search import DartsSearchConfig
from darts.strategies.base import ArchSpace
from darts.strategies.controller import cpu_threads
from darts.strategies.reinforce import Reinforce
from darts.training import epoch_scheduler, Totals, check_finite, scaled_learning_rate

log = logging.getLogger("darts")

EPOCHS_FILE = "controller.jsonl"   # one line per epoch: the controller's most likely cell and the metrics
SAMPLES_FILE = "history.jsonl"     # one line per controller sample, in the sample-based strategies' format
DERIVE_FILE = "derive.json"        # the derivation's candidates and their rewards

# The command line's names of EnasConfig fields that differ from them (the ENAS code's flag names).
ENAS_FLAGS = {"controller_steps": "controller_train_steps", "controller_hidden": "controller_lstm_size",
              "entropy_weight": "controller_entropy_weight", "baseline_decay": "controller_bl_dec",
              "temperature": "controller_temperature", "tanh_constant": "controller_tanh_constant"}


@dataclass
class EnasConfig:
    # shared weights: DARTS's search settings (one source of their defaults), so the two compare fairly
    epochs: int = DartsSearchConfig.epochs
    learning_rate: float = DartsSearchConfig.learning_rate
    learning_rate_min: float = DartsSearchConfig.learning_rate_min
    momentum: float = DartsSearchConfig.momentum
    weight_decay: float = DartsSearchConfig.weight_decay
    grad_clip: float | None = DartsSearchConfig.grad_clip
    lr_schedule: str = DartsSearchConfig.lr_schedule  # "cosine" (images) or "constant" (text)
    # smoke runs: cap on the shared-weight steps, controller steps and evaluation batches of an epoch, and on
    # the derived samples
    max_batches: int | None = None
    # controller (the paper's)
    controller_lr: float = 3.5e-4
    controller_steps: int = 300          # sampled architectures (REINFORCE steps) per epoch
    controller_hidden: int = 64
    entropy_weight: float = 1e-4
    baseline_decay: float = 0.99
    temperature: float | None = 5.0
    tanh_constant: float | None = 2.5
    reward_c: float = 80.0               # text reward: reward_c / perplexity
    # derivation
    derive_samples: int = 100
    seed: int = 0
    report_freq: int = 50
    progress: bool = True

    def capped(self, count: int) -> int:
        """`count` (controller steps, derived samples) under `max_batches`: a smoke run caps every loop."""
        return count if self.max_batches is None else min(count, self.max_batches)

    def check(self) -> None:
        for name in ("epochs", "controller_steps", "derive_samples", "controller_hidden"):
            if getattr(self, name) < 1:
                raise UserError(f"--{_flag(name)} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.baseline_decay < 1:
            raise UserError(f"--controller_bl_dec {self.baseline_decay} must be in [0, 1)")
        for name in ("temperature", "tanh_constant"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise UserError(f"--controller_{name} must be positive, got {value}")
        if self.controller_lr <= 0 or self.entropy_weight < 0 or self.reward_c <= 0:
            raise UserError("--controller_lr and --reward_c must be positive, --controller_entropy_weight at least 0")


def _flag(field: str) -> str:
    return ENAS_FLAGS.get(field, field)


def reward_from_metrics(metrics: dict, reward_c: float = 80.0) -> float:
    """The controller's reward from a task's metrics on one validation batch (higher is better)."""
    if "acc" in metrics:
        return metrics["acc"] / 100.0
    if "ppl" in metrics:
        return reward_c / math.exp(min(metrics["loss"], 10.0))
    raise ValueError(f"no reward for metrics {sorted(metrics)}: expected 'acc' (images) or 'ppl' (text)")


@contextlib.contextmanager
def scoring_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode (no dropout), except BatchNorm normalises with the batch's statistics and leaves its
    running statistics alone; restores every module's mode afterwards."""
    was_training = model.training
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    tracked = [m.track_running_stats for m in norms]
    model.eval()
    for m in norms:
        m.train()
        m.track_running_stats = False
    try:
        yield
    finally:
        for m, t in zip(norms, tracked):
            m.track_running_stats = t
        model.train(was_training)


def path_forward(model: nn.Module, arch: Any) -> Callable:
    """The forward a task calls (`forward(*inputs)`), running only the path `arch` of the supernet."""
    return lambda *inputs: model.forward_path(*inputs, arch)


def path_weight_step(params: list[nn.Parameter], loss: torch.Tensor, optimizer: torch.optim.Optimizer,
                     grad_clip: float | None) -> None:
    """A weight step for one sampled path. Unlike darts.training.weight_step, weights off the path keep no
    gradient, so SGD leaves them alone (no decay, no stale momentum), as the ENAS code's optimizer does."""
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    used = []
    for p, g in zip(params, grads):
        p.grad = g
        if g is not None:
            used.append(p)
    if grad_clip:
        nn.utils.clip_grad_norm_(used, grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


class EnasSearch(Checkpointed):
    def __init__(self, model: nn.Module, space: ArchSpace, task, train_stream, val_stream, config: EnasConfig,
                 run: RunDir | None = None, valid_batches: Callable[[], Iterable] | None = None,
                 arch_metrics: Callable[[Any], dict] | None = None):
        """`train_stream.epoch(max_batches)` yields training batches, `val_stream.next()` the controller's
        validation batches; `valid_batches()` the end-of-epoch evaluation (default: one pass of val_stream);
        `arch_metrics(arch)` extra figures for a cell (e.g. its NAS-Bench-201 table accuracy)."""
        config.check()
        if is_distributed():
            raise UserError("ENAS runs in one process (each step trains one sampled path); launch it without "
                            "torchrun")
        self.model, self.space, self.task, self.config = model, space, task, config
        self.train_stream, self.val_stream = train_stream, val_stream
        self.run_dir = run or RunDir(None)
        self.valid_batches = valid_batches
        self.arch_metrics = arch_metrics
        self.weights = list(model.weights())  # alphas, if the supernet has them, are never used nor updated
        self.optimizer = torch.optim.SGD(self.weights, config.learning_rate, momentum=config.momentum,
                                         weight_decay=config.weight_decay)
        self.scheduler = epoch_scheduler(self.optimizer, config.lr_schedule, config.epochs, config.learning_rate_min)
        device = next(model.parameters()).device
        self.controller = Reinforce(space, seed=config.seed, learning_rate=config.controller_lr,
                                    baseline_decay=config.baseline_decay, entropy_weight=config.entropy_weight,
                                    hidden_size=config.controller_hidden, temperature=config.temperature,
                                    tanh_constant=config.tanh_constant, device=device)
        self.lr_scale = getattr(task, "lr_scale", lambda batch: 1.0)
        self.epoch = 0
        self.samples = 0                 # controller samples so far (the step of history.jsonl)
        self.best_reward = float("-inf")
        self.history: list[dict] = []
        self.engine = RunEngine.in_run_dir(self.run_dir, (SAMPLES_FILE, EPOCHS_FILE))
        self.callbacks = self.engine.callbacks  # callback(epoch, row) once the epoch is written

    @property
    def epochs(self) -> int:
        return self.config.epochs

    # -- state -------------------------------------------------------------------------------------
    counters = ("epoch", "samples", "best_reward", "history")

    def parts(self) -> dict:
        return {"model": self.model, "weight_optimizer": self.optimizer, "scheduler": self.scheduler,
                "controller": self.controller, "train_stream": self.train_stream, "val_stream": self.val_stream}

    def labels(self) -> dict:
        return {"space": self.space.name}

    @property
    def mismatch(self) -> str:
        return (f"the checkpoint is not an ENAS search of the {self.space.name} space; resume with the settings "
                f"it was started with, or choose another output folder")


    # -- scoring -----------------------------------------------------------------------------------
    @torch.no_grad()
    def metrics(self, arch: Any, batches: Iterable) -> dict:
        """The task's metrics of the path `arch` over `batches`, with the shared weights."""
        totals = Totals()
        with scoring_mode(self.model):
            for batch in batches:
                totals.add(self.task.loss_and_stats(path_forward(self.model, arch), batch)[1])
        return self.task.summarize(totals) if totals else {}

    def reward(self, arch: Any, batch) -> float:
        return reward_from_metrics(self.metrics(arch, [batch]), self.config.reward_c)

    def most_likely(self) -> tuple[Any, float]:
        """The controller's most likely architecture (each decision's argmax) and its entropy along the way."""
        ctrl = self.controller.controller
        threads = cpu_threads(1) if ctrl.start.device.type == "cpu" else contextlib.nullcontext()
        with threads, torch.no_grad():
            sample = ctrl(greedy=True)
        return self.space.from_decisions(sample.decisions), float(sample.entropy)

    # -- the loop ------------------------------------------------------------------------------------
    def run(self) -> Any:
        self.engine.run(self, self.train_epoch)
        arch, _ = self.derive()
        self.engine.finish({"genotype.json": genotype_record(arch)})
        return arch

    def train_epoch(self) -> dict:
        """One epoch, then its lines of history.jsonl and controller.jsonl and the checkpoint."""
        return self.engine.step(self, self._epoch).metrics

    def _epoch(self) -> Epoch:
        cfg, epoch = self.config, self.epoch
        lr = self.optimizer.param_groups[0]["lr"]
        log.info("epoch %d/%d lr %.6g most likely cell %s", epoch, cfg.epochs, lr, self.most_likely()[0])
        t0 = time.perf_counter()
        train_metrics = self.train_shared(epoch)
        samples = self.train_controller(epoch)
        self.scheduler.step()
        arch, entropy = self.most_likely()
        batches = self.valid_batches() if self.valid_batches else self.val_stream.evaluation_batches(cfg.max_batches)
        rewards = [s["reward"] for s in samples]
        metrics = {f"train_{k}": v for k, v in train_metrics.items()}
        metrics.update({f"valid_{k}": v for k, v in self.metrics(arch, batches).items()})
        metrics.update(reward_mean=sum(rewards) / len(rewards), reward_max=max(rewards),
                       baseline=self.controller.baseline, entropy=entropy, lr=lr)
        if self.arch_metrics:
            metrics.update(self.arch_metrics(arch))
        metrics["seconds"] = time.perf_counter() - t0
        log.info("epoch %d %s", epoch, " ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        log.info("most likely cell = %s", arch)
        self.history.append({"epoch": epoch, **metrics})
        self.epoch += 1
        row = {"epoch": epoch, "genotype": self.space.encode(arch), "metrics": metrics}
        return Epoch(metrics, {SAMPLES_FILE: samples, EPOCHS_FILE: [row]})

    def train_shared(self, epoch: int) -> dict:
        """Phase 1: one SGD step per training batch, each through an architecture the controller samples."""
        cfg = self.config
        self.model.train()
        totals = Totals()
        n_batches = self.train_stream.batches_per_epoch(cfg.max_batches)
        bar = Progress(n_batches, f"shared weights, epoch {epoch}", cfg.report_freq, enabled=cfg.progress)
        for step, batch in enumerate(self.train_stream.epoch(cfg.max_batches)):
            totals.add(self.shared_step(batch, epoch, step))
            bar.update(**self.task.summarize(totals))
        bar.close()
        return self.task.summarize(totals)

    def shared_step(self, batch, epoch: int = 0, step: int = 0) -> dict:
        """One shared-weight step: the controller samples a path, SGD trains it on `batch`; the batch's stats."""
        arch = self.controller.ask()
        with scaled_learning_rate(self.optimizer, self.lr_scale(batch)):
            loss, stats = self.task.loss_and_stats(path_forward(self.model, arch), batch)
            check_finite(loss, "training loss", epoch, step)
            path_weight_step(self.weights, loss, self.optimizer, self.config.grad_clip)
        return stats

    def train_controller(self, epoch: int) -> list[dict]:
        """Phase 2: REINFORCE steps (`controller_steps`, at most `max_batches`), each on one architecture scored
        on the next validation batch."""
        cfg = self.config
        rows = []
        steps = cfg.capped(cfg.controller_steps)
        bar = Progress(steps, f"controller, epoch {epoch}", cfg.report_freq, unit="arch", enabled=cfg.progress)
        t0 = time.perf_counter()
        for step in range(steps):
            arch, reward = self.controller_step(self.val_stream.next(), epoch, step)
            self.best_reward = max(self.best_reward, reward)
            rows.append({"step": self.samples, "epoch": epoch, "arch": self.space.encode(arch), "reward": reward,
                         "best_reward": self.best_reward, "time": round(time.perf_counter() - t0, 3)})
            self.samples += 1
            bar.update(1, reward=reward, baseline=self.controller.baseline)
        bar.close()
        return rows

    def controller_step(self, batch, epoch: int = 0, step: int = 0) -> tuple[Any, float]:
        """One REINFORCE step: sample a path, score it on the validation `batch`, update the controller."""
        arch = self.controller.ask()
        reward = self.reward(arch, batch)
        check_finite(reward, "the controller's reward", epoch, step)
        self.controller.tell(arch, reward)
        return arch, reward

    def derive(self) -> tuple[Any, list[dict]]:
        """The paper's derivation: sample architectures (`derive_samples`, at most `max_batches`), score each on
        one validation batch, keep the best."""
        cfg = self.config
        batch = self.val_stream.next()
        candidates = []
        for _ in range(cfg.capped(cfg.derive_samples)):
            arch = self.controller.ask()
            candidates.append((self.reward(arch, batch), arch))
        reward, best = max(candidates, key=lambda c: c[0])  # the first of equal rewards
        samples = [{"arch": self.space.encode(a), "reward": r} for r, a in candidates]
        extra = self.arch_metrics(best) if self.arch_metrics else {}
        self.run_dir.write_json(DERIVE_FILE, {"best": self.space.encode(best), "reward": reward, **extra,
                                              "samples": samples})
        log.info("derived cell (best of %d samples, reward %.4f on one validation batch) = %s",
                 len(candidates), reward, best)
        if extra:
            log.info("derived cell: %s", " ".join(f"{k} {v}" for k, v in extra.items()))
        return best, samples
