"""A worker: claim a waiting trial, evaluate its architecture, record the reward; until the search is finished.

While it lives, a thread advances the worker's counter in the study ("worker:<id>") and the "heartbeat" of
the trial it holds every `beat_s` seconds. The coordinator watches both on its own clock (so the machines'
clocks need not agree): a trial whose heartbeat has not moved for its grace period is declared lost and
retried. An evaluation that raises (a network that does not fit, a loss that turns NaN) or returns a
reward that is not finite is recorded FAIL with the error as the trial's "error" attribute; the worker
goes on with the next trial.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Callable

from darts.trials.store import WORKER, Claimed, TrialStore

log = logging.getLogger("darts")

BEAT_S = 2.0  # seconds between heartbeats


class Heartbeat:
    """The thread that shows a worker and its trial are alive (see the module docstring)."""

    def __init__(self, store: TrialStore, worker: str, beat_s: float = BEAT_S):
        self.store, self.worker, self.beat_s = store, worker, beat_s
        self.trial_id: int | None = None
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat {worker}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.store.set_attr(f"{WORKER}{self.worker}", "stopped")

    def beat(self) -> None:
        self.count += 1
        self.store.set_attr(f"{WORKER}{self.worker}", self.count)
        trial_id = self.trial_id
        if trial_id is not None:
            try:
                self.store.heartbeat(trial_id, self.count)
            except RuntimeError:  # finished meanwhile (declared lost)
                pass

    def _run(self) -> None:
        while not self._stop.wait(self.beat_s):
            try:
                self.beat()
            except Exception as e:  # a storage hiccup: the next beat tries again
                log.warning("worker %s: heartbeat failed: %s", self.worker, e)


def evaluate_claimed(store: TrialStore, evaluate: Callable[[Any], float], decode: Callable[[Any], Any],
                     claimed: Claimed) -> None:
    """Evaluate one claimed trial and finish it COMPLETE (the reward) or FAIL (the error)."""
    try:
        reward = float(evaluate(decode(claimed.arch)))
        if not math.isfinite(reward):
            raise ValueError(f"the reward is {reward}")
    except Exception as e:  # recorded, not raised: the search goes on
        message = f"{type(e).__name__}: {e}".splitlines()[0]
        log.warning("trial %d failed: %s", claimed.number, message)
        store.fail(claimed.trial_id, message)
        return
    if not store.complete(claimed.trial_id, reward):
        log.warning("trial %d was declared lost before it finished; its retry counts instead", claimed.number)


def work_once(store: TrialStore, heart: Heartbeat, evaluate, decode) -> bool:
    """Claim and evaluate one waiting trial; False when none waits."""
    claimed = store.claim(heart.worker)
    if claimed is None:
        return False
    heart.trial_id = claimed.trial_id
    try:
        heart.beat()
        evaluate_claimed(store, evaluate, decode, claimed)
    finally:
        heart.trial_id = None
    return True


def _sent_home(attrs: dict, worker: str) -> bool:
    """The search is finished, or the search that started this worker stopped and dismissed it."""
    return bool(attrs.get("finished")) or worker in attrs.get("dismissed", [])


def run_worker(store: TrialStore, evaluate: Callable[[Any], float], decode: Callable[[Any], Any], worker: str,
               poll_s: float = 0.2, beat_s: float = BEAT_S) -> int:
    """Evaluate trials until the study is finished (or this worker dismissed); the number evaluated."""
    done = 0
    with Heartbeat(store, worker, beat_s) as heart:
        while True:
            if work_once(store, heart, evaluate, decode):
                done += 1
            elif _sent_home(store.attrs(), worker):
                return done
            else:
                time.sleep(poll_s)
