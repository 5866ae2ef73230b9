"""A prepared sample-based search run over a trial store: the store opened, the workers started (one in this
process, or N worker processes), the coordinator run, the workers sent home."""
from __future__ import annotations

import json
import logging
import tempfile
from contextlib import ExitStack, nullcontext
from pathlib import Path

import torch

from darts.checkpoint import to_json
from darts.errors import UserError
from darts.strategies.base import StrategyResult, default_state_path
from darts.trials.coordinator import Coordinator
from darts.trials.local import start_local_workers, stop_workers
from darts.trials.store import JOURNAL, TrialStore, new_worker_id
from darts.trials.worker import Heartbeat, work_once

log = logging.getLogger("darts")

NOT_FOR_WORKERS = {"save", "resume", "config", "overwrite", "summary", "memory_budget", "continue_train", "executor",
                   "scheduler"}


def _send_home(store: TrialStore, processes: list, ids: list) -> None:
    """The workers started here: wait for them when the search finished; else dismiss them (a joined worker
    waits for the search's resume, these do not)."""
    finished = bool(store.attrs().get("finished"))
    if not finished:
        store.set_attr("dismissed", list(ids))
    stop_workers(processes, finished)


def search_in_store(prepared, run, callbacks: list) -> StrategyResult:
    """Search as `run_strategy` does, with the trials in the store the settings name (darts.trials)."""
    s = prepared.settings
    if run.enabled and default_state_path(run.file("history.jsonl")).exists():
        raise UserError(f"{run.path} holds a search that ran in one process without a trial store; resume it without "
                        f"--workers, --storage, --study and --executor, or start a new folder")
    with ExitStack() as stack:
        url = s.get("storage")
        if url is None:
            folder = run.path if run.enabled else stack.enter_context(tempfile.TemporaryDirectory())
            url = str(Path(folder) / JOURNAL)
        if "://" not in url:  # a journal file: the same file for workers started elsewhere
            url = str(Path(url).expanduser().resolve())
        name = s.get("study") or (run.path.name if run.enabled else "darts-search")
        store = TrialStore.open(url, name)
        store.set_attr("settings", json.loads(to_json({k: v for k, v in s.items() if k not in NOT_FOR_WORKERS})))
        log.info("trials in study %r of %s; more workers join with: python -m darts.trials.join --storage %s "
                 "--study %s", name, url, url, name)
        labels = {"strategy": prepared.strategy.name, "space": prepared.space.name,
                  "evaluator": prepared.evaluator.name, "seed": s["seed"]}
        heart, processes, ids = nullcontext(), [], []
        if s.get("executor") == "dask":
            from darts.trials.dask_workers import start_dask_workers
            processes, ids, client = start_dask_workers(url, name, s["workers"], s["scheduler"])
            stack.callback(client.close)
            stack.callback(lambda: _send_home(store, processes, ids))
        elif s["workers"] == 1:  # one worker: this process, between its looks at the store
            heart = Heartbeat(store, new_worker_id())
        else:
            gpus = torch.cuda.device_count() if prepared.device.type == "cuda" else 0
            processes, ids = start_local_workers(url, name, s["workers"], str(prepared.device), gpus)
            stack.callback(lambda: _send_home(store, processes, ids))
        evaluate, decode = prepared.evaluator.evaluate, prepared.adapter.decode
        local = (lambda: work_once(store, heart, evaluate, decode)) if processes == [] else None
        coordinator = Coordinator(prepared.searcher, store, s["budget"], labels, local=local, processes=processes,
                                  local_ids=ids, own_worker=getattr(heart, "worker", None),
                                  history_path=run.file("history.jsonl") if run.enabled else None,
                                  callbacks=callbacks, progress=not s.get("no_progress"))
        with heart:
            return coordinator.run()
