"""Retraining a genotype as a final network, and evaluating saved ones (the paper's evaluation protocol).

Each epoch: drop path probability ramped linearly (prob * epoch / epochs), SGD over every weight with
the loss of the logits plus `auxiliary_weight` times that of the auxiliary head, gradient clipping,
one pass over the test split, then `weights.pt` (last model), `best_weights.pt` (best test accuracy),
a row of history.jsonl and `checkpoint.pt`, from which `resume` continues exactly.

With a time budget, the number of epochs is fixed after the first one from its measured training and test
times: as many as fit in the budget, at most `epochs`, the last one cut to the batches that still fit (so a
budget is not left a fraction of an epoch idle) and the cosine schedule ending where the training does. The
first epoch does not depend on the plan (the cosine schedule starts at the initial rate, the drop path ramp
at 0), so the run equals a run given that plan from the start; the plan is part of the checkpoint, so a
resumed run keeps it.

Distributed (torchrun): the network is wrapped in DistributedDataParallel, which averages gradients
during the backward pass; each rank trains on its shard of every batch and evaluates its shard of the
test split (the totals are summed). BatchNorm uses per-rank batch statistics (DDP broadcasts rank 0's
running statistics at each forward) unless `sync_bn` converts it to SyncBatchNorm (CUDA only).
"""
from __future__ import annotations

import logging
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F

from darts.checkpoint import load_checkpoint
from darts.distributed import all_reduce_sum, average_batchnorm_statistics, is_main_process, world_size
from darts.engine import CHECKPOINT, Checkpointed, Epoch, RunEngine  # noqa: F401  (CHECKPOINT: callers import it from here)
from darts.errors import UserError
from darts.progress import Progress
from darts.runs import RunDir
from darts.training import ImageClassification, Totals, autocast, check_finite, evaluate, weight_step

log = logging.getLogger("darts")

HISTORY_FILE = "history.jsonl"
LAST_WEIGHTS = "weights.pt"
BEST_WEIGHTS = "best_weights.pt"
WEIGHTS_FORMAT = "darts-final-network"


@dataclass
class NetworkSpec:
    """Everything needed to rebuild a final network; saved with its weights so they evaluate alone."""
    genotype: dict
    arch: str = "DARTS_V2"
    kind: str = "cifar"  # "cifar" (NetworkCIFAR) or "imagenet" (NetworkImageNet)
    init_channels: int = 36
    layers: int = 20
    num_classes: int = 10
    in_channels: int = 3
    auxiliary: bool = False
    dataset: str = "cifar10"
    space: str = "darts"  # the registered space whose network this is (files without it are DARTS cells)
    options: dict = field(default_factory=dict)  # the space's other options (sizes), when it has any

    def build(self) -> nn.Module:
        from darts.spaces.registry import DataShape, get_space
        space = get_space(self.space)
        genotype = space.genotype_from_dict({k: v for k, v in self.genotype.items() if k != "space"})
        opts = {**space.resolve(self.options), "init_channels": self.init_channels, "layers": self.layers,
                "auxiliary": self.auxiliary, "kind": self.kind}
        return space.build_network(genotype, opts, DataShape(self.in_channels, num_classes=self.num_classes))


BATCH_SIZE = 96  # the paper's retraining batch (a setting of the data streams, not of this loop)


@dataclass
class FinalTrainingConfig:
    """The paper's CIFAR-10 evaluation settings are the defaults (ImageNet: see train_final.py)."""
    epochs: int = 600
    learning_rate: float = 0.025
    learning_rate_min: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False  # the NAS-Bench-201 recipe uses Nesterov momentum
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    auxiliary_weight: float = 0.4
    drop_path_prob: float = 0.2
    label_smoothing: float = 0.0
    lr_schedule: str = "cosine"  # or "step": multiply by gamma every decay_period epochs (ImageNet)
    gamma: float = 0.97
    decay_period: int = 1
    max_batches: int | None = None
    report_freq: int = 50
    progress: bool = True
    bf16: bool = False  # autocast to bfloat16
    channels_last: bool = False
    compile: bool = False  # torch.compile the training forward and backward (the test stays eager)
    sync_bn: bool = False  # distributed: BatchNorm statistics over the global batch (SyncBatchNorm, CUDA)
    time_budget: float | None = None  # seconds: train as many epochs as fit (measured on the first), <= epochs


def epochs_fitting(budget_seconds: float, train_seconds: float, test_seconds: float) -> float:
    """How many epochs of `train_seconds` training, each followed by a test of `test_seconds`, fit in the
    budget: whole ones, then the fraction of one more whose training and test still fit, if it trains at least
    as long as its test takes (0 otherwise: a few batches at a learning rate near the cosine's end would pay a
    whole test pass; a re-plan near a whole number of epochs added such an epoch of 17 of 625 batches)."""
    if budget_seconds <= 0:
        return 0.0
    epoch = max(train_seconds + test_seconds, 1e-9)
    whole = budget_seconds // epoch
    fraction = min(1.0, max(0.0, budget_seconds - whole * epoch - test_seconds) / max(train_seconds, 1e-9))
    return float(whole + (fraction if fraction * train_seconds >= test_seconds else 0.0))


def first_step_excess(first_seconds: float, rest_seconds: float, steps: int) -> float:
    """What the first of `steps` training steps took beyond the mean of the others (torch.compile's tracing
    and code generation); 0 for an epoch of one step."""
    if steps < 2:
        return 0.0
    return max(0.0, first_seconds - rest_seconds / (steps - 1))


def epochs_within(budget_seconds: float, train_seconds: float, test_seconds: float, cap: int) -> float:
    """epochs_fitting, at least the one done, at most `cap`."""
    return float(max(1.0, min(float(cap), epochs_fitting(budget_seconds, train_seconds, test_seconds))))


def planned_batches(epochs: float, batches_per_epoch: int) -> tuple[int, int | None]:
    """(epochs to run, batches of the last one or None for all) for a fractional epoch count."""
    whole = int(epochs)
    last = round((epochs - whole) * batches_per_epoch)
    if last == 0:
        return max(whole, 1), None
    if last >= batches_per_epoch:
        return whole + 1, None
    return whole + 1, last


class AuxiliaryClassification(ImageClassification):
    """Training loss of a network returning (logits, aux logits): CE(logits) + weight * CE(aux logits),
    both label-smoothed if asked (as the original's ImageNet training); accuracy is the main head's."""

    def __init__(self, label_smoothing: float = 0.0, auxiliary_weight: float = 0.4):
        super().__init__(label_smoothing)
        self.auxiliary_weight = auxiliary_weight

    def loss_and_stats(self, forward, batch) -> tuple[torch.Tensor, dict]:
        x, y = batch
        out = forward(x)
        logits, aux = out if isinstance(out, tuple) else (out, None)
        loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        if aux is not None and self.auxiliary_weight:
            loss = loss + self.auxiliary_weight * F.cross_entropy(aux, y, label_smoothing=self.label_smoothing)
        n = y.numel()
        return loss, {"loss_sum": loss.detach().float() * n, "correct": (logits.argmax(1) == y).sum(), "n": n}


def _prepared(batches: Iterable, channels_last: bool):
    for x, y in batches:
        yield (x.contiguous(memory_format=torch.channels_last) if channels_last else x), y


def evaluate_network(model: nn.Module, batches: Iterable, bf16: bool = False, channels_last: bool = False) -> dict:
    """Test loss (plain cross-entropy) and top-1 accuracy in eval mode: no drop path, no auxiliary head."""
    device = next(model.parameters()).device
    with autocast(device, bf16):
        return evaluate(model, ImageClassification(), _prepared(batches, channels_last))


class FinalTraining(Checkpointed):
    def __init__(self, model: nn.Module, train_stream, test_stream, config: FinalTrainingConfig,
                 spec: NetworkSpec, run: RunDir | None = None):
        """`train_stream.epoch(max_batches)` yields augmented training batches, and
        `test_stream.evaluation_batches(max_batches)` the test split (BatchStream or ImageFolderStream)."""
        self.model, self.config, self.spec = model, config, spec
        self.train_stream, self.test_stream = train_stream, test_stream
        self.run_dir = run or RunDir(None)
        self.device = next(model.parameters()).device
        self.ddp = world_size() > 1
        if self.ddp and config.sync_bn:
            self.model = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # same parameters, same state_dict keys
        # The module the training steps call: the network itself, or its DDP wrapper (which starts every
        # rank from rank 0's weights). Evaluation and checkpoints use the network itself.
        self.train_forward = self.model
        if self.ddp:
            unused = bool(getattr(model, "auxiliary", False)) and not config.auxiliary_weight  # idle aux head
            self.train_forward = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device] if self.device.type == "cuda" else None,
                find_unused_parameters=unused)
        if config.compile:  # a wrapper over the same parameters: checkpoints and the test use the network itself
            self.train_forward = torch.compile(self.train_forward)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.SGD(self.params, config.learning_rate, momentum=config.momentum,
                                         weight_decay=config.weight_decay, nesterov=config.nesterov)
        if config.lr_schedule == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
                self.optimizer, float(config.epochs), eta_min=config.learning_rate_min)
        elif config.lr_schedule == "step":
            self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, config.decay_period, config.gamma)
        else:
            raise UserError(f"unknown learning-rate schedule {config.lr_schedule!r}; use cosine or step")
        self.task = AuxiliaryClassification(config.label_smoothing, config.auxiliary_weight)
        self.epoch = 0
        self.planned_epochs = config.epochs  # with a time budget: set after the first epoch
        self.last_epoch_batches: int | None = None  # with a time budget: the last epoch's cut, if any
        self.epoch_seconds: list[float] = []  # with a time budget: each epoch's time (train and test)
        self.epoch_seconds_test = 0.0  # with a time budget: the first epoch's test time
        self.epoch_compile_seconds: list[float] = []  # with a time budget: what compiling added to each epoch
        self.best_acc = float("-inf")
        self.history: list[dict] = []
        self.engine = RunEngine.in_run_dir(self.run_dir, (HISTORY_FILE,))
        self.callbacks = self.engine.callbacks  # callback(epoch, row) once the epoch is written

    @property
    def epochs(self) -> int:
        return self.planned_epochs

    def use_run_dir(self, run: RunDir) -> None:
        """Write into `run` (a trainer built before its folder was opened, so that its checks came first)."""
        callbacks = self.callbacks
        self.run_dir = run
        self.engine = RunEngine.in_run_dir(run, (HISTORY_FILE,))
        self.engine.callbacks = self.callbacks = callbacks

    # -- state -------------------------------------------------------------------------------------
    counters = ("epoch", "best_acc", "history", "planned_epochs", "last_epoch_batches", "epoch_seconds",
                "epoch_seconds_test", "epoch_compile_seconds")
    mismatch = ("the checkpoint holds a different network (arch, size or dataset) from the one being trained, or "
                "is not a train_final.py checkpoint; resume it with its own settings")

    def parts(self) -> dict:
        return {"model": self.model, "optimizer": self.optimizer, "scheduler": self.scheduler,
                "train_stream": self.train_stream}

    def labels(self) -> dict:
        return {"network": asdict(self.spec)}

    # -- the loop ------------------------------------------------------------------------------------
    def run(self) -> dict:
        self.engine.run(self, self.train_epoch)
        return self.history[-1] if self.history else {}

    def train_epoch(self) -> dict:
        """One epoch, then its row of history.jsonl, weights.pt (best_weights.pt) and the checkpoint."""
        return self.engine.step(self, self._epoch).metrics

    def _epoch(self) -> Epoch:
        cfg, epoch = self.config, self.epoch
        lr = self.optimizer.param_groups[0]["lr"]
        self.model.drop_path_prob = cfg.drop_path_prob * epoch / self.epochs
        log.info("epoch %d/%d lr %e drop_path_prob %.4f", epoch, self.epochs, lr, self.model.drop_path_prob)
        self.model.train()
        totals = Totals()
        max_batches = cfg.max_batches
        if self.last_epoch_batches is not None and epoch == self.epochs - 1:
            max_batches = self.last_epoch_batches
        n_batches = self.train_stream.batches_per_epoch(max_batches)
        bar = Progress(n_batches, f"train epoch {epoch}", cfg.report_freq,
                       enabled=cfg.progress and is_main_process())
        t0 = time.perf_counter()
        t_first = t0
        for step, batch in enumerate(_prepared(self.train_stream.epoch(max_batches), cfg.channels_last)):
            with autocast(self.device, cfg.bf16):
                loss, stats = self.task.loss_and_stats(self.train_forward, batch)
            check_finite(loss, "training loss", epoch, step, "; try a lower --learning_rate")
            weight_step(self.params, loss, self.optimizer, cfg.grad_clip, ddp=self.ddp)
            totals.add(stats)
            bar.update(**self.task.summarize(totals))
            if step == 0:
                t_first = time.perf_counter()
        bar.close()
        compile_seconds = 0.0
        if cfg.compile:
            compile_seconds = first_step_excess(t_first - t0, time.perf_counter() - t_first, n_batches)
        if compile_seconds > 1.0:
            log.info("compiling took %.1f s of this epoch", compile_seconds)
        train_metrics = self.task.summarize(all_reduce_sum(totals))  # over every rank's shard
        average_batchnorm_statistics(self.model)  # one model on every rank for the test and the checkpoint
        t_test = time.perf_counter()
        test_metrics = self.evaluate()
        if epoch == 0 and cfg.time_budget is not None:
            self._plan_epochs(t_test - t0, time.perf_counter() - t_test, compile_seconds)
        elif cfg.time_budget is not None:
            self._replan(time.perf_counter() - t0, compile_seconds)
        self.scheduler.step()
        metrics = {f"train_{k}": v for k, v in train_metrics.items()}
        metrics.update({f"test_{k}": v for k, v in test_metrics.items()})
        metrics.update(lr=lr, drop_path_prob=self.model.drop_path_prob, seconds=time.perf_counter() - t0)
        log.info("epoch %d train_acc %f test_acc %f (train_loss %.4f test_loss %.4f, %.1f s)", epoch,
                 metrics["train_acc"], metrics["test_acc"], metrics["train_loss"], metrics["test_loss"],
                 metrics["seconds"])
        row = {"epoch": epoch, **metrics}
        self.history.append(row)
        self.epoch += 1
        weights = self.weights_file(row)
        files = {LAST_WEIGHTS: weights, **({BEST_WEIGHTS: weights} if metrics["test_acc"] > self.best_acc else {})}
        self.best_acc = max(self.best_acc, metrics["test_acc"])
        return Epoch(metrics, {HISTORY_FILE: [row]}, files)

    def load_state_dict(self, state: dict) -> None:
        # checkpoints written before time budgets (or before cut last epochs) ran config.epochs whole epochs
        old = {"planned_epochs": self.config.epochs, "last_epoch_batches": None, "epoch_seconds": [],
               "epoch_seconds_test": 0.0, "epoch_compile_seconds": []}
        super().load_state_dict({**old, **state} if isinstance(state, dict) else state)

    def _plan_epochs(self, train_seconds: float, test_seconds: float, compile_seconds: float = 0.0) -> None:
        """Fix the epochs (and the last one's batches) from the first one's times (the ranks' means, so all
        agree), before the schedule's first step; the cosine schedule spans exactly the batches planned. Time
        spent compiling (--compile) counts against the budget but not in the pace of an epoch."""
        s = all_reduce_sum({"train": train_seconds, "test": test_seconds, "compile": compile_seconds})
        train, test, compiling = (s[k] / world_size() for k in ("train", "test", "compile"))
        self.epoch_seconds, self.epoch_seconds_test, self.epoch_compile_seconds = [train + test], test, [compiling]
        epochs = epochs_within(self.config.time_budget - compiling, train - compiling, test, self.config.epochs)
        plan = self._set_plan(epochs)
        log.info("time budget %g min: the first epoch trained %.1f s and tested %.1f s, so %s",
                 self.config.time_budget / 60, train, test, plan)

    def _replan(self, seconds: float, compile_seconds: float = 0.0) -> None:
        """After each later epoch (of `seconds`) but the last planned: plan the epochs that, at the pace of the last
        three, fit what the epochs so far left of the budget (at most --epochs), when that differs from the plan,
        and end the cosine schedule with them. Epoch times drift both ways (on 2 CPU cores up to 10 % above the
        first's within an hour, and back): a plan from the first epoch alone can overrun, and a plan only ever
        shortened left 4 of 55 minutes unspent when slow early epochs sped up. Times are the ranks' means, so
        all agree. Compiling (--compile) counts against the budget, not in the pace."""
        s = all_reduce_sum({"s": seconds, "compile": compile_seconds})
        self.epoch_seconds.append(s["s"] / world_size())
        compiled = self.epoch_compile_seconds + [s["compile"] / world_size()]  # before it was counted: none
        self.epoch_compile_seconds = [0.0] * (len(self.epoch_seconds) - len(compiled)) + compiled
        if self.epoch + 1 >= self.planned_epochs:  # the last planned epoch (perhaps cut) is done: the run ends
            return
        test = self.epoch_seconds_test
        paces = [t - c for t, c in zip(self.epoch_seconds[-3:], self.epoch_compile_seconds[-3:])]
        train = max(statistics.mean(paces) - test, 1e-9)
        more = epochs_fitting(self.config.time_budget - sum(self.epoch_seconds), train, test)
        target = max(float(self.epoch + 1), min(float(self.config.epochs), self.epoch + 1 + more))
        span = self._planned_span()
        if abs(target - span) < 0.5 / self._batches_per_epoch():  # the same plan, to half a batch
            return
        plan = self._set_plan(target)
        log.info("time budget: epochs now take %.1f s, so %s instead of %.2f", train + test, plan, span)

    def _batches_per_epoch(self) -> int:
        return self.train_stream.batches_per_epoch(self.config.max_batches)

    def _planned_span(self) -> float:
        """The plan in epochs, its cut last epoch counted as the fraction of batches it trains."""
        per_epoch = self._batches_per_epoch()
        return self.planned_epochs - 1 + (self.last_epoch_batches or per_epoch) / per_epoch

    def _set_plan(self, epochs: float) -> str:
        """Plan `epochs` (the last one cut to its batches) and end the cosine schedule with the last batch; the
        plan in words, for the log."""
        self.planned_epochs, self.last_epoch_batches = planned_batches(epochs, self._batches_per_epoch())
        if isinstance(self.scheduler, torch.optim.lr_scheduler.CosineAnnealingLR):
            self.scheduler.T_max = float(self._planned_span())  # the recursive cosine ends at eta_min with it
        return f"{self.planned_epochs} epochs in all" + (
            f" (the last one {self.last_epoch_batches} of {self._batches_per_epoch()} batches)"
            if self.last_epoch_batches else "")

    def evaluate(self) -> dict:
        return evaluate_network(self.model, self.test_stream.evaluation_batches(self.config.max_batches),
                                self.config.bf16, self.config.channels_last)

    def weights_file(self, metrics: dict) -> dict:
        """What weights.pt holds: the network's description, its weights, the epoch and its metrics."""
        return {"format": WEIGHTS_FORMAT, "network": asdict(self.spec), "model": self.model.state_dict(),
                "epoch": self.epoch, "metrics": metrics}


# -- saved networks ------------------------------------------------------------------------------------
def read_saved_network(path: str | Path) -> tuple[NetworkSpec | None, dict, dict]:
    """(spec or None, state dict, metadata) of a weights file, a training checkpoint, a run folder
    (its weights.pt), or a bare state dict such as the original code's weights.pt (spec None)."""
    path = Path(path)
    if path.is_dir():
        path = path / LAST_WEIGHTS
    state = load_checkpoint(path)
    if isinstance(state, dict) and "network" in state and "model" in state:
        try:
            spec = NetworkSpec(**state["network"])
        except TypeError:
            raise UserError(f"{path}: unrecognised network description; was it written by train_final.py?") from None
        return spec, state["model"], {k: v for k, v in state.items() if k not in ("model", "network")}
    if isinstance(state, dict) and state and all(torch.is_tensor(v) for v in state.values()):
        return None, state, {}
    raise UserError(f"{path} holds neither a train_final.py network nor a state dict of one")


def load_network_weights(model: nn.Module, state: dict, source: str) -> None:
    """Load weights by name, accepting the names of the code a network was ported from (the network's
    `convert_state_dict`, e.g. the original DARTS code's); a mismatch is a user error."""
    own = model.state_dict()
    convert = getattr(model, "convert_state_dict", None)
    mismatch = not set(state) <= set(own) or not {k for k in own if not k.endswith("num_batches_tracked")} <= set(state)
    if mismatch and convert is not None:
        state = convert(state)
    missing = sorted(k for k in own if k not in state and not k.endswith("num_batches_tracked"))
    unexpected = sorted(k for k in state if k not in own)
    wrong = sorted(k for k in state if k in own and tuple(state[k].shape) != tuple(own[k].shape))
    if missing or unexpected or wrong:
        detail = (f"{len(missing)} weights missing (e.g. {missing[0]})" if missing else
                  f"{len(unexpected)} unexpected weights (e.g. {unexpected[0]})" if unexpected else
                  f"{len(wrong)} weights of another shape (e.g. {wrong[0]}: {tuple(state[wrong[0]].shape)} "
                  f"vs {tuple(own[wrong[0]].shape)})")
        raise UserError(f"{source} does not fit this network ({detail}); give the --arch, --init_channels, "
                        f"--layers, --auxiliary and --dataset it was trained with")
    model.load_state_dict(state, strict=False)
