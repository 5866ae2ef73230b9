"""The coordinator of a search over a trial store: the one process that owns the strategy.

It asks the strategy for architectures and enqueues each as a WAITING trial, keeping at most as many
unsettled as there are live workers (and, for a strategy that learns from batches of m rewards, such as
REINFORCE and PPO, never proposing from a policy whose batch is not yet complete: see `Strategy.ask_window`).
It tells the strategy each reward as it completes, in completion order, which may differ from the order
of the asks: regularized evolution is then steady-state asynchronous evolution, the policy-gradient
strategies average over their batch as before.

Failures: a trial whose evaluation raised counts against the budget and the strategy is told nothing
about it (a made-up worst reward would move a policy gradient by an arbitrary amount). A trial whose
worker stopped beating for `grace_s` seconds is declared lost (FAIL, "lost") and its architecture
enqueued again, up to `retries` times; only the last attempt counts.

Resume is a replay of the store alone: the strategy is rebuilt from its seed, and the asks and tells are
redone in the order they happened (each ask records how many tells came before it; the order of tells is
in the study), checking that each replayed proposal is the recorded one. Strategies keep all their
randomness in themselves, so the continuation is the run that was not interrupted; with one worker the
whole search is the sequential `run_strategy`'s, architecture for architecture.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from darts.checkpoint import append_jsonl, write_jsonl
from darts.errors import UserError
from darts.progress import Progress
from darts.strategies.base import Strategy, StrategyResult
from darts.trials.store import WORKER, TrialStore, now

log = logging.getLogger("darts")


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


class Watch:
    """When each watched value last changed, on this process's clock (no agreement between machines needed)."""

    def __init__(self, grace_s: float):
        self.grace_s, self.seen = grace_s, {}

    def fresh(self, key: Any, value: Any, at: float) -> bool:
        old = self.seen.get(key)
        if old is None or old[0] != value:
            self.seen[key] = (value, at)
            return True
        return at - old[1] <= self.grace_s


@dataclass
class Ask:
    """One proposal and its attempts (Optuna trials, oldest first)."""

    arch: Any
    told_before: int
    attempts: list = field(default_factory=list)

    @property
    def last(self):
        return self.attempts[-1]


class Coordinator:
    """See the module docstring. `local` is an in-process worker's `work_once()` (one worker, no processes) and
    `own_worker` its id; `processes` are the worker processes started here, `local_ids` their worker ids. The
    trials that the workers of an earlier coordinator of this study held are retried without waiting."""

    def __init__(self, strategy: Strategy, store: TrialStore, budget: int, labels: dict, *,
                 local: Callable[[], bool] | None = None, own_worker: str | None = None,
                 processes: list | None = None, local_ids: tuple = (), grace_s: float = 30.0, retries: int = 1, poll_s: float = 0.05,
                 history_path: str | Path | None = None, callbacks: list | None = None, progress: bool = True):
        if budget < 1:
            raise UserError(f"the search budget must be at least one evaluation, got {budget}")
        self.strategy, self.space, self.store, self.budget = strategy, strategy.space, store, budget
        self.local, self.own_worker, self.processes = local, own_worker, list(processes or [])
        self.local_ids = tuple(local_ids)  # the worker ids of `processes`
        self.retries, self.poll_s = retries, poll_s
        self.watch = Watch(grace_s)
        self.first_seen: dict[str, Any] = {}  # each worker's counter when first seen
        self.history_path = None if history_path is None else Path(history_path)
        self.callbacks = list(callbacks or [])
        self.asks: list[Ask] = []
        self.told: list[int] = []
        self.told_set: set[int] = set()
        self.records: list[dict] = []
        self.failed: set[int] = set()
        self.best_arch, self.best_reward = None, float("-inf")
        self._open(labels)
        self.bar = Progress(budget, f"{strategy.name} search", report_freq=max(1, budget // 20), unit="arch",
                            enabled=progress)

    def _open(self, labels: dict) -> None:
        attrs = self.store.attrs()
        if "labels" not in attrs:
            self.store.set_attr("labels", labels)
            self.store.set_attr("started", now())
            attrs = self.store.attrs()
        for key, value in labels.items():
            if attrs["labels"].get(key) != value:
                raise UserError(f"study {self.store.study_name!r} in {self.store.url} belongs to a search with {key} "
                                f"{attrs['labels'].get(key)!r}, not {value!r}; give another --study name")
        self.started = float(attrs["started"])
        self.dead = set(attrs.get("local_workers", []))  # the workers an earlier coordinator started here
        self.store.set_attr("local_workers", sorted(set(self.local_ids) | {self.own_worker} - {None}))
        self.store.set_attr("budget", self.budget)
        self.store.set_attr("finished", False)

    # ---- the strategy's side
    def _ask(self) -> Ask:
        ask = Ask(self.strategy.ask(), len(self.told))
        self.asks.append(ask)
        return ask

    def _tell(self, index: int, trial, replay: bool = False) -> None:
        ask, reward = self.asks[index], float(trial.value)
        self.strategy.tell(ask.arch, reward)
        if reward > self.best_reward:
            self.best_arch, self.best_reward = ask.arch, reward
        step = len(self.told)
        self.told.append(index)
        self.told_set.add(index)
        done = trial.datetime_complete.timestamp() if trial.datetime_complete else time.time()
        record = {"step": step, "arch": self.space.encode(ask.arch), "reward": reward,
                  "best_reward": self.best_reward, "time": round(max(0.0, done - self.started), 3),
                  "trial": trial.number}
        self.records.append(record)
        if replay:
            return
        self.store.record_tell(step, index)
        if self.history_path is not None:
            append_jsonl(self.history_path, record)
        for callback in self.callbacks:
            callback(step, record)
        self.bar.update(1, reward=reward, best=self.best_reward)

    # ---- resume
    def replay(self) -> None:
        """Rebuild the strategy from the store: its asks and tells in the order they happened (module docstring)."""
        groups = self._groups()
        if sorted(groups) != list(range(len(groups))):
            raise UserError(f"study {self.store.study_name!r} in {self.store.url} has gaps in its asks; it was "
                            f"not written by this search; give another --study name")
        told = self.store.told_order()
        for index in range(len(groups)):
            first = groups[index][0]
            while len(self.told) < int(first.user_attrs["told_before"]):
                self._tell(told[len(self.told)], self._completed(groups[told[len(self.told)]]), replay=True)
            ask = self._ask()
            ask.attempts = groups[index]
            if not _same(self.space.encode(ask.arch), first.user_attrs["arch"]):
                raise UserError(f"resuming study {self.store.study_name!r}: the {self.strategy.name} strategy "
                                f"proposed {self.space.encode(ask.arch)} where the store holds "
                                f"{first.user_attrs['arch']} (ask {index}); resume with the settings it started with")
        while len(self.told) < len(told):
            self._tell(told[len(self.told)], self._completed(groups[told[len(self.told)]]), replay=True)
        if self.history_path is not None:
            write_jsonl(self.history_path, self.records)
        if self.asks:
            log.info("resuming %s search from study %r: %d asked, %d told", self.strategy.name,
                     self.store.study_name, len(self.asks), len(self.told))
        self.bar.count = len(self.told)

    def _groups(self) -> dict[int, list]:
        """The store's trials by ask, oldest attempt first."""
        groups: dict[int, list] = {}
        for t in sorted(self.store.trials(), key=lambda t: (t.user_attrs.get("attempt", 0), t.number)):
            groups.setdefault(int(t.user_attrs["ask"]), []).append(t)
        return groups

    def _completed(self, attempts: list):
        done = [t for t in attempts if t.state == self.store.State.COMPLETE]
        if not done:
            raise UserError(f"study {self.store.study_name!r}: a told trial has no reward; the store was edited")
        return done[-1]

    # ---- the loop
    def run(self) -> StrategyResult:
        """Search to the budget; then the workers are told the study is finished. A coordinator stopped
        before that leaves the study open: joined workers wait for its resume."""
        self.replay()
        try:
            while not self._step():
                if self.local is None or not self.local():
                    time.sleep(self.poll_s)
        finally:
            self.bar.close()
        self.store.set_attr("finished", True)
        return StrategyResult(self.best_arch, self.best_reward, self.records)

    def _step(self) -> bool:
        """One look at the store: lost trials retried, rewards told, asks refilled; True when all is settled."""
        at = time.monotonic()
        groups = self._groups()
        completed, unsettled = [], 0
        for index, ask in enumerate(self.asks):
            ask.attempts = groups.get(index, ask.attempts)
            state = self._settle(index, ask, at) if ask.attempts else "open"
            if state == "complete" and index not in self.told_set:
                done = ask.last.datetime_complete
                completed.append((done.timestamp() if done else 0.0, ask.last.number, index))
            unsettled += state == "open"
        for _, _, index in sorted(completed):
            self._tell(index, self.asks[index].last)
        capacity = self._capacity(at)
        window = self.strategy.ask_window()
        while len(self.asks) < self.budget and unsettled < capacity and (
                window is None or unsettled + len(self.told) % window < window):
            ask = self._ask()
            self.store.enqueue(self.space.encode(ask.arch), len(self.asks) - 1, ask.told_before)
            unsettled += 1
        return len(self.asks) >= self.budget and unsettled == 0

    def _settle(self, index: int, ask: Ask, at: float) -> str:
        """'open', 'complete' or 'failed' for `ask`; a lost attempt is declared and retried here."""
        State, last = self.store.State, ask.last
        if last.state == State.RUNNING and (last.user_attrs.get("worker") in self.dead or not self.watch.fresh(
                last.number, last.user_attrs.get("heartbeat"), at)):
            why = ("the search process that started it stopped" if last.user_attrs.get("worker") in self.dead else
                   f"no heartbeat for {self.watch.grace_s:g} s")
            if self.store.mark_lost(last._trial_id, f"worker lost: {why}"):
                log.warning("trial %d (ask %d): its worker stopped; %s", last.number, index,
                            "retrying" if len(ask.attempts) <= self.retries else "no retries left")
            last = ask.attempts[-1] = self.store.storage.get_trial(last._trial_id)
        if last.state == State.FAIL and last.user_attrs.get("lost") and len(ask.attempts) <= self.retries:
            self.store.enqueue(last.user_attrs["arch"], index, ask.told_before, len(ask.attempts))
            return "open"
        if last.state == State.COMPLETE:
            return "complete"
        if last.state == State.FAIL:
            if index not in self.failed:
                self.failed.add(index)
                log.warning("ask %d failed (trial %d): %s", index, last.number, last.user_attrs.get("error"))
                self.bar.count += 1
            return "failed"
        return "open"

    def _capacity(self, at: float) -> int:
        """The workers evaluating: this process's own (`local`), and every other whose counter moved within the
        grace period (one seen once is not yet counted: it may be the registration of a worker now dead)."""
        moved = 0
        for key, value in self.store.attrs().items():
            if key.startswith(WORKER) and key != f"{WORKER}{self.own_worker}" and value != "stopped":
                first = self.first_seen.setdefault(key, value)
                moved += self.watch.fresh(key, value, at) and value != first
        if moved == 0 and self.processes and all(p.poll() is not None for p in self.processes):
            codes = sorted({p.returncode for p in self.processes})
            raise UserError(f"every local worker process exited (exit codes {codes}) with trials left; see their "
                            f"messages above")
        return moved + (self.local is not None)
