"""`python -m darts.trials.join --storage URL --study NAME`: a worker joining a search from any process.

The search's coordinator stored its settings in the study; the worker rebuilds the same evaluator from
them (the same table, or the same data and low-fidelity training: the data's path must be readable here)
and evaluates waiting trials until the search is finished. `--device` chooses this worker's device
(default: the search's).
"""
from __future__ import annotations

import argparse
import logging
import sys

from darts.errors import UserError
from darts.trials.store import TrialStore, check_storage_url, new_worker_id
from darts.trials.worker import run_worker

log = logging.getLogger("darts")


def build_evaluator(settings: dict, device: str | None = None):
    """(space's ArchSpace, evaluator) of the search that `settings` (its resolved settings) describe."""
    from darts.distributed import pick_device
    from darts.experiment import prepare_search
    from darts.plugins import import_plugins
    from darts.settings import resolve_settings
    import_plugins(settings.get("ops_module"))
    given = {k: v for k, v in settings.items() if v is not None and k not in ("workers", "storage", "study")}
    space, values = resolve_settings({**given, "no_progress": True})
    values.update(save=None, resume=False)
    chosen = pick_device(device or str(values.get("device", "auto")))
    prepared = prepare_search(space, values, chosen)
    return prepared.adapter, prepared.evaluator


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m darts.trials.join", description=__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True, help="the search's storage: a journal file or a database URL")
    parser.add_argument("--study", required=True, help="the search's study name (logged when the search starts)")
    parser.add_argument("--device", default=None, help="this worker's device (default: the search's)")
    parser.add_argument("--worker_id", default=None, help=argparse.SUPPRESS)  # given by the search that starts it
    args = parser.parse_args(argv)
    check_storage_url(args.storage)
    store = TrialStore.open(args.storage, args.study, create=False)
    settings = store.attrs().get("settings")
    if settings is None:
        raise UserError(f"study {args.study!r} holds no search settings: it was started by the library with an "
                        f"evaluator of its own; start its workers in the same program (darts.trials.worker)")
    space, evaluator = build_evaluator(settings, args.device)
    worker = args.worker_id or new_worker_id()
    log.info("worker %s joined study %r in %s", worker, args.study, args.storage)
    done = run_worker(store, evaluator.evaluate, space.decode, worker)
    log.info("worker %s: %d trials evaluated; the search is finished or sent it home", worker, done)
    return 0


if __name__ == "__main__":
    from darts.runs import run_cli, setup_console_logging
    setup_console_logging()
    sys.exit(run_cli(main))
