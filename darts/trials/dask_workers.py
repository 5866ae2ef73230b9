"""Workers on a Dask cluster (`--executor dask --scheduler ADDRESS`): each is one Dask task that runs
`python -m darts.trials.join` on the Dask worker's machine, with that machine's Python, until the search is
finished. The Dask workers must reach the storage (a database, or a journal file on a shared file system) and
the search's data. Imported only when asked for: dask and distributed are an optional extra (`pip install
dask distributed`, or the package's `[dask]` extra).
"""
from __future__ import annotations

from darts.errors import UserError
from darts.trials.store import new_worker_id


def check_dask(scheduler: str | None) -> None:
    """Refuse --executor dask without the library or a scheduler address (one line)."""
    import importlib.util
    if importlib.util.find_spec("distributed") is None:
        raise UserError("--executor dask needs dask's distributed library: pip install dask distributed")
    if not scheduler:
        raise UserError("--executor dask needs --scheduler ADDRESS (a running Dask scheduler, e.g. tcp://host:8786)")


def run_worker_process(url: str, study: str, worker_id: str) -> int:
    """The Dask task: one worker process on the Dask worker's machine; its exit status."""
    import subprocess
    import sys
    return subprocess.call([sys.executable, "-m", "darts.trials.join", "--storage", url, "--study", study,
                            "--worker_id", worker_id])


class DaskWorker:
    """A submitted worker, seen as the search sees its local processes: poll(), returncode, wait(), terminate()."""

    def __init__(self, future):
        self.future, self.returncode = future, None

    def poll(self):
        if self.future.done():
            self.returncode = self.future.result() if self.future.exception() is None else 1
        return self.returncode

    def wait(self, timeout=None):
        import concurrent.futures
        try:
            self.future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            import subprocess
            raise subprocess.TimeoutExpired("dask worker", timeout) from None
        return self.poll()

    def terminate(self):
        self.future.cancel()


def start_dask_workers(url: str, study: str, count: int, scheduler: str) -> tuple[list, list, object]:
    """`count` workers as tasks of the Dask scheduler at `scheduler`: (workers, their ids, the client)."""
    from distributed import Client
    try:
        client = Client(scheduler, timeout="20s")
    except OSError as e:
        raise UserError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({e}); check the address") from None
    executor = client.get_executor(pure=False)
    ids = [new_worker_id() for _ in range(count)]
    return [DaskWorker(executor.submit(run_worker_process, url, study, i)) for i in ids], ids, client
