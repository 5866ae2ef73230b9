"""Training the language model of a recurrent genotype (the original rnn/train.py); its settings are declared
in darts.lm_options and its command line is darts.cli.lm (train_final.py --dataset ptb|wikitext2).

Each epoch: one pass over train.txt in --batch_size columns with variable-length windows (the learning
rate scaled by seq_len / bptt for each step), loss = cross-entropy + AR + TAR, gradient-norm clipping,
SGD; then the validation perplexity over valid.txt in 10 columns. Training switches from SGD to averaged
SGD (ASGD with t0 = 0, lambda = 0) once the validation loss is worse than the best one from more than
`nonmono` epochs ago, and from then on validates the averaged weights (NT-ASGD, Merity et al. 2018).
The best model so far is kept in best.pt; a loss that turns NaN rolls back to it, as the original does.
At the end (or on Ctrl-C, as the original) the best model is tested on test.txt in 1 column.

Files in --save: args.json, log.txt, history.jsonl (a row per epoch), checkpoint.pt (every epoch, for
an exact --resume), best.pt (weights and what rebuilds the model) and results.json.
"""
from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

import torch
import torch.nn as nn

from darts.checkpoint import (load_checkpoint, read_resume_state, rng_state, save_checkpoint, seed_everything,
                              set_rng_state)
from darts.data.text import DEFAULT_FOLDERS, TextStream, read_corpus
from darts.genotype import GenotypeError
from darts.spaces.genotype_io import available_cells, genotype_from_dict, load_genotype
from darts.engine import CHECKPOINT, Epoch, RunEngine, check_resume_state
from darts.errors import UserError
from darts.progress import Progress
from darts.runs import RunDir, Terminated
from darts.distributed import pick_device
from darts.language_task import LanguageModel
from darts.spaces.registry import DataShape, get_space, space_of
from darts.summary import count_parameters
from darts.training import TrainingDiverged, Totals, check_finite, evaluate, scaled_learning_rate, weight_step

log = logging.getLogger("darts")

HISTORY_FILE = "history.jsonl"
BEST = "best.pt"
BEST_FORMAT = "darts-language-model"
MAX_ROLLBACKS = 5  # consecutive NaN rollbacks before giving up


# -- the model's description, saved with its weights -------------------------------------------------------
@dataclass
class LMSpec:
    genotype: dict
    ntokens: int
    arch: str = "DARTS_V2"
    emsize: int = 850
    nhid: int = 850
    nhidlast: int = 850
    dropout: float = 0.75
    dropouth: float = 0.25
    dropoutx: float = 0.75
    dropouti: float = 0.2
    dropoute: float = 0.0
    space: str = "darts_rnn"  # the registered text space that builds the model (older files: the DARTS cell)

    def build(self) -> nn.Module:
        space = get_space(self.space)
        genotype = genotype_from_dict(self.genotype, space=space.name)
        sizes = {k: v for k, v in asdict(self).items() if k not in ("genotype", "ntokens", "arch", "space")}
        return space.build_network(genotype, {**space.resolve({}), **sizes}, DataShape(ntokens=self.ntokens))


def is_text_genotype(genotype) -> bool:
    return space_of(genotype).modality == "text"


def load_recurrent_genotype(arch: str):
    """A language-model genotype by cells/ name, JSON path or paper text. Names shared with a convolutional
    cell (DARTS, DARTS_V1, DARTS_V2) resolve to its recurrent counterpart NAME_RNN."""
    genotype = load_genotype(arch)
    if is_text_genotype(genotype):
        return genotype
    with contextlib.suppress(GenotypeError):
        twin = load_genotype(f"{arch}_RNN")
        if is_text_genotype(twin):
            return twin
    recurrent = [name for name in available_cells() if is_text_genotype(load_genotype(name))]
    raise GenotypeError(f"--arch {arch} is a convolutional genotype; the language model needs a recurrent one "
                        f"(a search's genotype.json, or one of: {', '.join(recurrent)})")


# -- the training loop ---------------------------------------------------------------------------------------
LM_MISMATCH = ("the checkpoint is not one of this language model (another genotype, size or corpus, or another "
               "command's); resume it with its own settings, or choose another folder")
LM_STATE = ("optimizer_kind", "optimizer", "train_stream", "rng", "epoch", "val_losses", "best_loss", "history",
            "rollbacks")


def check_lm_state(state, spec: LMSpec, model: nn.Module) -> None:
    """Refuse (one line) a checkpoint of another model (its spec, its weights' names and shapes) or of another
    command (a search's, a retraining's)."""
    check_resume_state(state, {"spec": asdict(spec)}, {"model": model}, LM_MISMATCH, set(LM_STATE))


@dataclass
class LMTrainingConfig:
    """The original rnn/train.py defaults (PTB)."""
    epochs: int = 8000
    lr: float = 20.0
    clip: float = 0.25
    wdecay: float = 8e-7
    nonmono: int = 5
    max_batches: int | None = None
    report_freq: int = 200
    progress: bool = True


class LMTrainer:
    def __init__(self, model: nn.Module, spec: LMSpec, task: LanguageModel, train_stream: TextStream,
                 valid_stream: TextStream, config: LMTrainingConfig, run: RunDir | None = None):
        self.model, self.spec, self.task, self.config = model, spec, task, config
        self.train_stream, self.valid_stream = train_stream, valid_stream
        self.run_dir = run or RunDir(None)
        self.weights = list(model.parameters())
        self.optimizer = self._optimizer("sgd")
        self.epoch = 0
        self.val_losses: list[float] = []  # validation losses of the SGD phase (the switch rule reads them)
        self.best_loss = math.inf
        self.history: list[dict] = []
        self.rollbacks = 0
        self.engine = RunEngine.in_run_dir(self.run_dir, (HISTORY_FILE,))
        self.callbacks = self.engine.callbacks  # callback(epoch, row) once the epoch is written

    @property
    def epochs(self) -> int:
        return self.config.epochs

    def _optimizer(self, kind: str) -> torch.optim.Optimizer:
        cfg = self.config
        if kind == "asgd":
            return torch.optim.ASGD(self.weights, lr=cfg.lr, t0=0, lambd=0.0, weight_decay=cfg.wdecay)
        return torch.optim.SGD(self.weights, lr=cfg.lr, weight_decay=cfg.wdecay)

    @property
    def averaging(self) -> bool:
        return isinstance(self.optimizer, torch.optim.ASGD)

    @contextlib.contextmanager
    def averaged_weights(self):
        """The ASGD average in place of the weights (for validation and saving); no-op under SGD."""
        if not self.averaging:
            yield
            return
        saved = [p.detach().clone() for p in self.weights]
        with torch.no_grad():
            for p in self.weights:
                if "ax" in self.optimizer.state.get(p, {}):
                    p.copy_(self.optimizer.state[p]["ax"])
        try:
            yield
        finally:
            with torch.no_grad():
                for p, w in zip(self.weights, saved):
                    p.copy_(w)

    # -- state ---------------------------------------------------------------------------------------------
    def _optimizer_state(self) -> dict:
        return {"optimizer_kind": "asgd" if self.averaging else "sgd", "optimizer": self.optimizer.state_dict()}

    def _load_optimizer(self, state: dict) -> None:
        self.optimizer = self._optimizer(state["optimizer_kind"])
        self.optimizer.load_state_dict(state["optimizer"])

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), **self._optimizer_state(), "epoch": self.epoch,
                "val_losses": self.val_losses, "best_loss": self.best_loss, "history": self.history,
                "rollbacks": self.rollbacks, "train_stream": self.train_stream.state_dict(), "rng": rng_state(),
                "config": asdict(self.config), "spec": asdict(self.spec)}

    counters = ("epoch", "val_losses", "best_loss", "history", "rollbacks")

    def load_state_dict(self, state: dict) -> None:
        check_lm_state(state, self.spec, self.model)
        try:
            self.model.load_state_dict(state["model"])
            self._load_optimizer(state)
            self.train_stream.load_state_dict(state["train_stream"])
        except (RuntimeError, KeyError, ValueError, TypeError) as e:
            raise UserError(f"{LM_MISMATCH} ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
        for name in self.counters:
            setattr(self, name, state[name])
        set_rng_state(state["rng"])

    def resume(self, path, state: dict | None = None) -> None:
        """Continue from a checkpoint (none yet: from the start), or from `state` already read from it; rows of
        unfinished epochs are dropped."""
        self.engine.resume(self, path, state)

    def _save_best(self, valid_loss: float) -> None:
        self.best_loss = valid_loss
        if self.run_dir.enabled:
            save_checkpoint(self.run_dir.file(BEST), {
                "format": BEST_FORMAT, "spec": asdict(self.spec), "model": self.model.state_dict(),
                **self._optimizer_state(), "epoch": self.epoch, "valid_loss": valid_loss})
        log.info("saved the best model (%s weights), valid ppl %.2f",
                 "averaged" if self.averaging else "current", math.exp(valid_loss))

    def _rollback(self, error: TrainingDiverged) -> None:
        best = self.run_dir.file(BEST) if self.run_dir.enabled else None
        if best is None or not best.is_file() or self.rollbacks >= MAX_ROLLBACKS:
            raise error
        state = load_checkpoint(best, map_location=next(self.model.parameters()).device)
        self.model.load_state_dict(state["model"])
        self._load_optimizer(state)
        self.epoch = state["epoch"] + 1
        self.rollbacks += 1
        log.info("rolling back to the best model (epoch %d) and going on from epoch %d", state["epoch"], self.epoch)

    # -- the loop -------------------------------------------------------------------------------------------
    def run(self) -> None:
        """Train until `epochs`; a NaN loss rolls back to the best model; Ctrl-C stops early (kept resumable)."""
        try:
            self.engine.run(self, self._epoch_or_rollback)
        except KeyboardInterrupt as e:
            if isinstance(e, Terminated):  # SIGTERM stops the process; Ctrl-C stops training only
                raise
            log.info("exiting from training early (resume with --resume on the --save folder)")

    def _epoch_or_rollback(self) -> None:
        try:
            self.train_epoch()
        except TrainingDiverged as e:
            self._rollback(e)

    def train_epoch(self) -> dict:
        """One epoch, then its row of history.jsonl and the checkpoint (best.pt during the epoch)."""
        return self.engine.step(self, self._epoch).metrics

    def _epoch(self) -> Epoch:
        cfg, epoch = self.config, self.epoch
        self.model.train()
        totals = Totals()
        n_batches = self.train_stream.batches_per_epoch(cfg.max_batches)
        bar = Progress(n_batches, f"epoch {epoch}", cfg.report_freq, enabled=cfg.progress)
        t0 = time.perf_counter()
        for step, batch in enumerate(self.train_stream.epoch(cfg.max_batches)):
            with scaled_learning_rate(self.optimizer, self.task.lr_scale(batch)):
                loss, stats = self.task.loss_and_stats(self.model, batch)
                check_finite(loss, "training loss", epoch, step, "; rolling back to the best model")
                weight_step(self.weights, loss, self.optimizer, cfg.clip)
            totals.add(stats)
            bar.update(**self.task.summarize(totals))
        bar.close()
        metrics = {f"train_{k}": v for k, v in self.task.summarize(totals).items()}
        averaged = self.averaging
        with self.averaged_weights():
            valid = evaluate(self.model, self.task, self.valid_stream.evaluation_batches(cfg.max_batches))
            if valid["loss"] < self.best_loss:
                self._save_best(valid["loss"])
        if not averaged:
            earlier = self.val_losses[:-cfg.nonmono] if len(self.val_losses) > cfg.nonmono else []
            if earlier and valid["loss"] > min(earlier):
                log.info("validation stopped improving: switching from SGD to averaged SGD")
                self.optimizer = self._optimizer("asgd")
            self.val_losses.append(valid["loss"])
        metrics.update({f"valid_{k}": v for k, v in valid.items()})
        metrics.update(optimizer="asgd" if averaged else "sgd", seconds=time.perf_counter() - t0)
        log.info("end of epoch %d | %s", epoch, " | ".join(
            f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()))
        self.history.append({"epoch": epoch, **metrics})
        self.epoch += 1
        self.rollbacks = 0
        return Epoch(metrics, {HISTORY_FILE: [{"epoch": epoch, **metrics}]})

    def load_best(self) -> None:
        """Put the best saved weights into the model (kept as they are when none were saved)."""
        if self.run_dir.enabled and self.run_dir.file(BEST).is_file():
            state = load_checkpoint(self.run_dir.file(BEST), map_location=next(self.model.parameters()).device)
            self.model.load_state_dict(state["model"])


def perplexity(loss: float) -> float:
    """exp(loss), infinite where it overflows a float (written as null in JSON)."""
    return math.exp(loss) if loss < 700.0 else math.inf


def evaluate_lm(model: nn.Module, batches: Iterable) -> dict:
    """Loss (nats per token) and perplexity of `model` over text batches."""
    return evaluate(model, LanguageModel(), batches)


# -- a run from its settings (darts.lm_options) -------------------------------------------------------------
def spec_from_settings(settings: dict, ntokens: int) -> LMSpec:
    genotype = load_recurrent_genotype(settings["arch"])
    space = space_of(genotype)
    return LMSpec(space.genotype_to_dict(genotype), ntokens, str(settings["arch"]),
                  *(settings[k] for k in ("emsize", "nhid", "nhidlast", "dropout", "dropouth", "dropoutx", "dropouti",
                                          "dropoute")), space=space.name)


@dataclass
class PreparedLM:
    """Everything a language-model run reads and builds before its folder exists (see prepare_lm)."""
    settings: dict
    device: torch.device
    corpus: Any
    spec: LMSpec
    model: nn.Module
    streams: tuple  # train, valid, test
    resume_state: dict | None = None


def prepare_lm(settings: dict) -> PreparedLM:
    """Read and check every input of the run that `settings` (every setting of darts.lm_options, resolved)
    describe - the device, the corpus (each split long enough for its batch size), the genotype, a resumed
    folder's checkpoint - and build the model: nothing is written, so a refused run leaves no folder."""
    s = settings
    device = pick_device(s["device"])
    seed_everything(s["seed"])
    corpus = read_corpus(s["data"] or DEFAULT_FOLDERS[s["dataset"]])
    spec = spec_from_settings(s, corpus.ntokens)
    train = TextStream(corpus.train, s["batch_size"], s["bptt"], device, variable_length=True, length_std=5.0,
                       max_seq_len_delta=s["max_seq_len_delta"], seed=s["seed"] * 1000, name="train")
    valid = TextStream(corpus.valid, s["eval_batch_size"], s["bptt"], device, name="valid")
    test = TextStream(corpus.test, s["test_batch_size"], s["bptt"], device, name="test")
    model = spec.build().to(device)
    prepared = PreparedLM(s, device, corpus, spec, model, (train, valid, test))
    if s["resume"]:
        prepared.resume_state = read_resume_state(Path(s["save"]) / CHECKPOINT)
        if prepared.resume_state is not None:
            check_lm_state(prepared.resume_state, spec, model)
    return prepared


def train_lm(prepared: PreparedLM, run: RunDir) -> dict:
    """Train and test the prepared language model in `run` (continued from its checkpoint when
    settings["resume"]); returns results.json's values."""
    from darts.lm_options import NOT_SAVED
    s, corpus, spec, model = prepared.settings, prepared.corpus, prepared.spec, prepared.model
    train, valid, test = prepared.streams
    run.write_args({k: v for k, v in s.items() if k not in NOT_SAVED}, bool(s["resume"]))
    log.info("args = %s", s)
    log.info("corpus %s: vocabulary %d, %d / %d / %d tokens (train / valid / test)", corpus.path, corpus.ntokens,
             len(corpus.train), len(corpus.valid), len(corpus.test))
    log.info("genotype %s = %s", s["arch"], genotype_from_dict(spec.genotype))
    log.info("Model total parameters: %d", count_parameters(model))
    config = LMTrainingConfig(epochs=s["epochs"], lr=s["lr"], clip=s["clip"], wdecay=s["wdecay"],
                              nonmono=s["nonmono"], max_batches=s["max_batches"], report_freq=s["report_freq"],
                              progress=not s["no_progress"])
    trainer = LMTrainer(model, spec, LanguageModel(s["alpha"], s["beta"]), train, valid, config, run)
    if s["resume"]:
        trainer.resume(run.file(CHECKPOINT), prepared.resume_state)
    trainer.run()
    trainer.load_best()
    test_metrics = evaluate_lm(model, test.evaluation_batches(s["max_batches"]))
    results = {"arch": str(s["arch"]), "epochs": trainer.epoch, "params": count_parameters(model),
               "valid_loss": trainer.best_loss, "valid_ppl": perplexity(trainer.best_loss),
               "test_loss": test_metrics["loss"], "test_ppl": perplexity(test_metrics["loss"])}
    run.write_json("results.json", results)  # a loss of inf (no epoch) or a huge perplexity: null
    log.info("end of training | best valid ppl %.2f | test loss %.2f | test ppl %.2f",
             results["valid_ppl"], results["test_loss"], results["test_ppl"])
    return results
