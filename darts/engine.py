"""The run engine: the bookkeeping every loop shares (DARTS, ENAS, final training, the language model,
and the sample-based strategies), so that a run killed at any moment resumes to exactly the run that was
not killed.

A loop is a small object with
    epoch, epochs                      units done and units to do (epochs, or evaluations of a search)
    state_dict(), load_state_dict()    everything a resumed run needs (weights, optimizers, RNG, streams)
and a method doing one unit: it advances `epoch` and returns an `Epoch` (metrics, JSON-lines rows per
file, artefacts such as weights). The engine does the rest:

    engine.resume(loop, path)   load the checkpoint (none yet: start from the beginning) and drop the
                                JSON-lines rows of units the checkpoint does not hold
    engine.step(loop, unit)     one unit, then the rows, the unit's artefacts and the checkpoint, in
                                that order (a kill between them leaves rows that resume drops and redoes);
                                then each callback(epoch, row)
    engine.run(loop, step)      steps until loop.epoch == loop.epochs
    engine.finish(files)        the final JSON files (genotype.json, ...)

A loss that turns NaN raises darts.training.TrainingDiverged inside the unit (a one-line error naming the
epoch and step) before anything is written, so the last checkpoint is the last good one.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from darts.checkpoint import (atomic_write_json, read_jsonl, read_resume_state, repair_jsonl, rng_state,
                              save_checkpoint, set_rng_state, write_jsonl)
from darts.errors import UserError

log = logging.getLogger("darts")

CHECKPOINT = "checkpoint.pt"

Callback = Callable[[int, dict], None]


class Loop(Protocol):
    epoch: int
    epochs: int

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


class Checkpointed:
    """State collection for a loop: `parts()` names the objects with state_dict / load_state_dict (model,
    optimizers, scheduler, batch streams), `counters` the plain attributes (epoch, history, ...), `labels()`
    what identifies the run (a state whose labels differ is refused with `mismatch`), `notes()` what is
    saved for reading only (the config); the RNG states are added."""

    counters: tuple[str, ...] = ("epoch", "history")
    mismatch = "the checkpoint belongs to another run; resume it with its own settings or choose another folder"
    run_labels: dict | None = None  # the settings that tell this run from others (set by who starts the loop)

    def parts(self) -> dict:
        raise NotImplementedError

    def labels(self) -> dict:
        return {}

    def notes(self) -> dict:
        config = getattr(self, "config", None)
        return {"config": asdict(config)} if is_dataclass(config) else {}

    def resume(self, path, state: dict | None = None) -> None:
        """Continue from the checkpoint at `path` (none yet: from the start), or from `state` already read from
        it (read_resume_state); JSON-lines rows beyond it are dropped (they are redone)."""
        self.engine.resume(self, path, state)

    def all_labels(self) -> dict:
        """`labels()` and, when set, the run's settings that identify it (`run_labels`, saved as "run")."""
        return {**self.labels(), **({"run": self.run_labels} if self.run_labels else {})}

    def state_dict(self) -> dict:
        state = {name: part.state_dict() for name, part in self.parts().items()}
        state.update({name: getattr(self, name) for name in self.counters})
        return {**state, **self.all_labels(), **self.notes(), "rng": rng_state()}

    def load_state_dict(self, state: dict) -> None:
        check_resume_state(state, self.all_labels(), {}, self.mismatch, set(self.parts()))
        try:
            for name, part in self.parts().items():
                part.load_state_dict(state[name])
        except (RuntimeError, KeyError, ValueError, TypeError) as e:  # another architecture, size or optimizer
            raise UserError(f"{self.mismatch} ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
        for name in self.counters:
            setattr(self, name, state[name])
        set_rng_state(state["rng"])


def check_resume_state(state: Any, labels: dict, modules: Mapping[str, Any], mismatch: str,
                       parts: set | frozenset = frozenset()) -> None:
    """Refuse (one line: `mismatch` and what differs) a checkpoint that is not this run's: not a dict, lacking
    one of `parts` or `modules`, with other `labels` (what identifies the run: network, search settings) or
    with weights of other names or shapes than each of `modules` (name -> nn.Module) has. Called before the
    run folder is touched, so a refused resume changes nothing."""
    if not isinstance(state, dict) or not (set(parts) | set(modules)) <= set(state):
        raise UserError(f"{mismatch} (it is not a checkpoint of this kind of run)")
    for key, value in labels.items():
        if state.get(key) != value:
            raise UserError(f"{mismatch} ({_difference(key, state.get(key), value)})")
    for name, module in modules.items():
        saved = state[name]
        own = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        theirs = {k: tuple(getattr(v, "shape", ())) for k, v in saved.items()} if isinstance(saved, dict) else {}
        if own != theirs:
            wrong = sorted(set(own) ^ set(theirs)) or sorted(k for k in own if own[k] != theirs[k])
            raise UserError(f"{mismatch} ({name} weights differ, e.g. {wrong[0]})")


def _difference(key: str, saved: Any, wanted: Any) -> str:
    """The first setting in which a checkpoint's label differs from this run's, in words."""
    if saved is None:
        return f"it holds no {key}: it is not a checkpoint of this kind of run"
    if isinstance(saved, dict) and isinstance(wanted, dict):
        for name in sorted(set(saved) | set(wanted)):
            if saved.get(name) != wanted.get(name):
                return f"its {name} is {saved.get(name)!r}, this run's {wanted.get(name)!r}"
    return f"its {key} is {saved!r}, this run's {wanted!r}"


@dataclass
class Epoch:
    """What one unit produced: its metrics, the rows to append per JSON-lines file name, and other files
    (name -> object for torch.save, next to the checkpoint, e.g. weights.pt) written with it."""
    metrics: dict
    rows: dict[str, list[dict]] = field(default_factory=dict)
    artefacts: dict[str, Any] = field(default_factory=dict)


class RunEngine:
    def __init__(self, checkpoint: Path | None, files: Mapping[str, Path] | None = None, key: str = "epoch",
                 callbacks: list[Callback] | None = None):
        """`checkpoint`: the state file (None: nothing is written, e.g. no --save or not rank 0); `files`:
        the JSON-lines files by name, whose rows carry the unit's number under `key`."""
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.files = dict(files or {})
        self.key = key
        self.callbacks: list[Callback] = callbacks if callbacks is not None else []

    @classmethod
    def in_run_dir(cls, run, files: tuple[str, ...], checkpoint: str = CHECKPOINT, key: str = "epoch"):
        """The engine of a loop writing into a RunDir (writes nothing where the RunDir is disabled)."""
        if not run.enabled:
            return cls(None, key=key)
        return cls(run.file(checkpoint), {name: run.file(name) for name in files}, key)

    @property
    def enabled(self) -> bool:
        return self.checkpoint is not None

    # -- resume ------------------------------------------------------------------------------------------
    def resume(self, loop: Loop, path: str | Path | None = None, state: dict | None = None) -> bool:
        """Continue `loop` from the checkpoint at `path` (default: the engine's), or from `state` already read
        from it; True if there was one. Without a checkpoint, rows of the first unit only (a run killed before
        its first checkpoint) are dropped and the run starts over; later rows mean the checkpoint was lost, and
        are refused. The JSON-lines files keep exactly the rows of the units done (a cut last line dropped)."""
        path = Path(path) if path is not None else self.checkpoint
        if state is None and path is not None:
            state = read_resume_state(path)
        if state is not None:
            loop.load_state_dict(state)
            log.info("resumed from %s at %s %d", path, self.key, loop.epoch)
        else:
            self._refuse_lost_checkpoint(path)
        self.keep_rows(lambda row: row[self.key] < loop.epoch)
        return state is not None

    def _refuse_lost_checkpoint(self, path: Path | None) -> None:
        for name, rows in self._rows().items():
            if any(row[self.key] > 0 for row in rows):
                raise UserError(f"{self.files[name]} holds a history but its state {path} is missing, so the run "
                                f"cannot resume; delete the history or choose another output folder")
            if rows:
                log.info("no checkpoint at %s yet: the run starts from the beginning", path)

    def _rows(self) -> dict[str, list[dict]]:
        """The rows of every JSON-lines file, each checked to carry the unit's number."""
        out = {}
        for name, path in self.files.items() if self.enabled else ():
            out[name] = rows = read_jsonl(path)
            if any(not isinstance(row, dict) or self.key not in row for row in rows):
                raise UserError(f"{path} has a row without {self.key!r}; it was not written by this run")
        return out

    def keep_rows(self, keep: Callable[[dict], bool]) -> None:
        """Rewrite the JSON-lines files with only the rows for which keep(row) is true (and no cut line)."""
        for name in self._rows():
            repair_jsonl(self.files[name], keep)

    # -- the loop ----------------------------------------------------------------------------------------
    def step(self, loop: Loop, unit: Callable[[], Epoch]) -> Epoch:
        """One unit of `loop`, then its rows, its artefacts and the checkpoint, then the callbacks."""
        index = loop.epoch
        done = unit()
        if self.enabled:
            for name, new in done.rows.items():
                if new:
                    write_jsonl(self.files[name], read_jsonl(self.files[name]) + list(new))
            for name, obj in done.artefacts.items():
                save_checkpoint(self.checkpoint.parent / name, obj)
            save_checkpoint(self.checkpoint, loop.state_dict())
        for callback in self.callbacks:
            callback(index, {self.key: index, **done.metrics})
        return done

    def run(self, loop: Loop, step: Callable[[], Any]) -> None:
        """`step()` (one unit, written through `self.step`) until the loop has done all its units or set
        `stop_requested` (early stopping)."""
        while loop.epoch < loop.epochs and not getattr(loop, "stop_requested", False):
            step()

    def finish(self, files: Mapping[str, Any]) -> None:
        """The run's final JSON files (name -> object), next to the checkpoint."""
        if self.enabled:
            for name, obj in files.items():
                atomic_write_json(self.checkpoint.parent / name, obj)
