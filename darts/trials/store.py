"""The trial store of one search: Optuna's storage, used as a queue of architectures and a record of rewards.

A storage is named by a URL: a file path (an Optuna journal file, nothing to start; the default is
`<run folder>/trials.journal`), or `sqlite:///file.db`, `postgresql://...`, `mysql://...` (Optuna's RDB
storage). Several processes, on one machine or many (a shared file system, or a database server), open the
same storage and the same study by name.

One proposal of the strategy is one *ask* (numbered 0, 1, ...); each attempt at evaluating it is one Optuna
trial carrying user attributes: "arch" (the space's JSON form), "ask", "told_before" (how many rewards the
strategy had been told when it proposed it), "attempt", and, once claimed, "worker" and "heartbeat". A
trial is created WAITING; a worker claims it by the storage's atomic WAITING -> RUNNING change (one
winner), then finishes it COMPLETE with the reward or FAIL with an "error" attribute.

The study's user attributes hold what the search is ("settings", "labels", "budget", "started"), the
order in which the coordinator told the strategy its rewards ("told:<k>" -> ask), the workers' liveness
("worker:<id>" -> a counter they advance) and "finished", which sends the workers home.
"""
from __future__ import annotations

import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from darts.errors import UserError

JOURNAL = "trials.journal"
RDB_SCHEMES = ("sqlite", "postgresql", "mysql")
TOLD = "told:"
WORKER = "worker:"


def _optuna():
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def check_storage_url(url: str | None) -> None:
    """Refuse a URL that names no storage we can open (one line), before anything is created; a database
    named by URL is connected to now, so an unreachable one is refused here too."""
    if url is None:
        return
    scheme, sep, rest = url.partition("://")
    if not sep:
        parent = Path(url).expanduser().parent
        if not parent.is_dir():
            raise UserError(f"--storage {url}: the folder {parent} does not exist; give a journal file in an "
                            f"existing folder, or a sqlite:///, postgresql:// or mysql:// URL")
        if Path(url).is_dir():
            raise UserError(f"--storage {url} is a folder; give a journal file path inside it")
        return
    dialect = scheme.split("+")[0]
    if dialect not in RDB_SCHEMES:
        raise UserError(f"--storage {url}: unknown scheme {scheme!r}; give a journal file path, or a sqlite:///, "
                        f"postgresql:// or mysql:// URL")
    if dialect == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if not path or not Path(path).expanduser().parent.is_dir():
            raise UserError(f"--storage {url}: sqlite needs a file in an existing folder, as sqlite:///path/to/file.db "
                            f"(sqlite:////abs/path for an absolute one)")
        return
    open_storage(url)  # a server: connect now (a wrong host, user or missing driver is one line)


def open_storage(url: str):
    """Optuna's storage for `url` (see the module docstring); a database that cannot be reached is one line."""
    optuna = _optuna()
    if "://" not in url:
        from optuna.storages.journal import JournalFileBackend
        return optuna.storages.JournalStorage(JournalFileBackend(str(Path(url).expanduser())))
    try:
        return optuna.storages.RDBStorage(url)
    except Exception as e:  # sqlalchemy's errors, a missing driver: one line naming the URL
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"--storage {url}: cannot open the database ({first}); check the URL, the server and "
                        f"its Python driver") from None


@dataclass
class Claimed:
    """A trial a worker holds: Optuna's trial id and number, and the architecture's JSON form."""

    trial_id: int
    number: int
    arch: Any


class TrialStore:
    """One study of a storage, as a queue of architectures; every method is one or a few storage calls."""

    def __init__(self, storage, study_id: int, study_name: str, url: str):
        self.storage, self.study_id, self.study_name, self.url = storage, study_id, study_name, url
        self._optuna = _optuna()
        self.State = self._optuna.trial.TrialState

    @classmethod
    def open(cls, url: str, study_name: str, create: bool = True) -> "TrialStore":
        """The study `study_name` in the storage at `url`, created when `create` and missing."""
        storage = open_storage(url)
        try:
            study_id = storage.get_study_id_from_name(study_name)
        except KeyError:
            if not create:
                raise UserError(f"--storage {url} holds no study {study_name!r}; start the search first, or give its "
                                f"--study name") from None
            direction = _optuna().study.StudyDirection.MAXIMIZE
            try:
                study_id = storage.create_new_study([direction], study_name)
            except _optuna().exceptions.DuplicatedStudyError:  # another process created it just now
                study_id = storage.get_study_id_from_name(study_name)
        return cls(storage, study_id, study_name, url)

    # the study's attributes
    def attrs(self) -> dict:
        return self.storage.get_study_user_attrs(self.study_id)

    def set_attr(self, key: str, value: Any) -> None:
        self.storage.set_study_user_attr(self.study_id, key, value)

    def told_order(self, attrs: dict | None = None) -> list[int]:
        """The asks whose rewards the strategy was told, in the order it was told them."""
        attrs = self.attrs() if attrs is None else attrs
        told = {int(k[len(TOLD):]): int(v) for k, v in attrs.items() if k.startswith(TOLD)}
        return [told[k] for k in range(len(told))]

    def record_tell(self, k: int, ask: int) -> None:
        self.set_attr(f"{TOLD}{k}", ask)

    # trials
    def trials(self, *states) -> list:
        return self.storage.get_all_trials(self.study_id, deepcopy=False, states=states or None)

    def enqueue(self, arch: Any, ask: int, told_before: int, attempt: int = 0) -> int:
        """A WAITING trial for `arch` (JSON form); its number."""
        template = self._optuna.trial.create_trial(
            state=self.State.WAITING,
            user_attrs={"arch": arch, "ask": ask, "told_before": told_before, "attempt": attempt})
        trial_id = self.storage.create_new_trial(self.study_id, template_trial=template)
        return self.storage.get_trial_number_from_id(trial_id)

    def claim(self, worker: str) -> Claimed | None:
        """The oldest WAITING trial, now RUNNING and ours; None when none waits (or others won them all)."""
        for t in sorted(self.trials(self.State.WAITING), key=lambda t: t.number):
            try:
                won = self.storage.set_trial_state_values(t._trial_id, self.State.RUNNING)
            except RuntimeError:  # our view was stale: another worker claimed and finished it already
                continue
            if won:
                self.storage.set_trial_user_attr(t._trial_id, "worker", worker)
                return Claimed(t._trial_id, t.number, t.user_attrs["arch"])
        return None

    def heartbeat(self, trial_id: int, beat: int) -> None:
        self.storage.set_trial_user_attr(trial_id, "heartbeat", beat)

    def complete(self, trial_id: int, reward: float) -> bool:
        """Record the reward; False when the trial was finished meanwhile (declared lost and retried)."""
        return self._finish(trial_id, self.State.COMPLETE, [reward])

    def fail(self, trial_id: int, message: str) -> bool:
        try:
            self.storage.set_trial_user_attr(trial_id, "error", message[:2000])
        except RuntimeError:  # finished meanwhile
            return False
        return self._finish(trial_id, self.State.FAIL, None)

    def _finish(self, trial_id: int, state, values) -> bool:
        try:
            return self.storage.set_trial_state_values(trial_id, state, values)
        except RuntimeError:  # optuna's UpdateFinishedTrialError: someone finished it first
            return False

    def mark_lost(self, trial_id: int, message: str) -> bool:
        """A RUNNING trial whose worker stopped beating: FAIL with `message` and "lost" (False: it finished)."""
        try:
            self.storage.set_trial_user_attr(trial_id, "lost", True)
        except RuntimeError:
            return False
        return self.fail(trial_id, message)


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"


def now() -> float:
    return round(time.time(), 3)
