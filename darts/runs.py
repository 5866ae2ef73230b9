"""A run's output folder: checks it is writable, logs to console and DIR/log.txt, writes JSON files.

Only the main process (rank 0) writes; other ranks get a RunDir whose writes do nothing.
"""
from __future__ import annotations

import gc
import json
import logging
import logging.handlers
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

from darts.checkpoint import append_jsonl, atomic_write_json
from darts.distributed import is_main_process
from darts.errors import UserError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

log = logging.getLogger("darts")


def setup_console_logging(level=logging.INFO) -> None:
    console = [h for h in log.handlers if getattr(h, "_darts_console", False)]
    if console:
        console[0].stream = sys.stdout  # the current stdout (the old one may be closed: no flush)
    else:
        h = logging.StreamHandler(sys.stdout)
        h.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%m/%d %I:%M:%S %p"))
        h._darts_console = True
        log.addHandler(h)
    log.setLevel(level if is_main_process() else logging.WARNING)
    log.propagate = False


# Every entry a run writes into its folder (every command, strategy and add-on): a fresh run refuses a folder
# holding any of them, and --overwrite removes exactly these (and nothing else the folder holds; see RunDir).
ARGS = "args.json"
RUN_FILES = (ARGS, "log.txt", "checkpoint.pt", "alphas.jsonl", "history.jsonl", "history.state.pt",
             "controller.jsonl", "derive.json", "genotype.json", "weights.pt", "best_weights.pt", "best.pt",
             "results.json", "op_costs.json", "cap_fit.json")
RUN_FOLDERS = ("figures",)  # drawn at the end of a search (visualize.render_search_dir)
LOCK = ".lock"


class EarlyLog(logging.handlers.BufferingHandler):
    """Keeps the log lines of a run's preparation (data read, network built), said before its folder may be
    created, so that the run folder's log.txt starts with them."""

    def __init__(self):
        super().__init__(capacity=10_000)
        log.addHandler(self)

    def shouldFlush(self, record) -> bool:
        return False

    def replay(self, handler: logging.Handler) -> None:
        for record in self.buffer:
            handler.handle(record)
        self.close()

    def close(self) -> None:
        log.removeHandler(self)
        self.buffer = []
        super().close()


class RunDir:
    """A run's output folder, owned by one run at a time (an OS lock on DIR/.lock, released when the
    process ends, however it ends). `resume=False`: a folder already holding run files is refused unless
    `overwrite` (which deletes them first); `resume=True`: it is continued; `resume=None` (older callers):
    either. Stale temporary files of a write cut short are removed on opening."""

    def __init__(self, path: str | Path | None, resume: bool | None = None, overwrite: bool = False):
        self.path = Path(path) if path is not None else None
        self.enabled = self.path is not None and is_main_process()
        self._lock = None
        if not self.enabled:
            _drop_early_logs()  # no log.txt to give the early lines to
            return
        try:
            self._open(resume, overwrite)
        except BaseException:
            _drop_early_logs()  # a refused folder: the lines must not reach another run's log.txt
            raise
        handler = logging.FileHandler(self.path / "log.txt")
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%m/%d %I:%M:%S %p"))
        for early in [h for h in log.handlers if isinstance(h, EarlyLog)]:  # what was said before the folder existed
            early.replay(handler)
        log.addHandler(handler)
        self._handler = handler

    def _open(self, resume: bool | None, overwrite: bool) -> None:
        """Create the folder, check it is writable, lock it and claim it (see _claim)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write_test"
            probe.write_text("")
            probe.unlink()
        except OSError as e:
            raise UserError(f"cannot write to --save {self.path}: {e.strerror}; choose another folder") from None
        self._lock = _lock_folder(self.path)
        try:
            self._claim(resume, overwrite)
        except BaseException:
            self._lock.close()
            raise

    def _claim(self, resume: bool | None, overwrite: bool) -> None:
        """Refuse or empty a folder holding another run (fresh runs), and drop stale temporary files."""
        present = [name for name in RUN_FILES + RUN_FOLDERS if os.path.lexists(self.path / name)]
        if resume is False and set(present) - {"log.txt"}:  # a log alone: a run that wrote nothing else
            if not overwrite:
                raise UserError(f"{self.path} already holds a run ({', '.join(present)}); continue it with "
                                f"--resume {self.path}, or choose another --save folder")
        if resume is False and overwrite:
            for name in present:  # every entry a run writes, whatever it is now; the user's own files stay
                entry = self.path / name
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        for stale in self.path.glob(".*.tmp"):
            stale.unlink()

    def file(self, name: str) -> Path:
        assert self.path is not None
        return self.path / name

    def write_json(self, name: str, obj) -> None:
        if self.enabled:
            atomic_write_json(self.file(name), obj)

    def write_args(self, settings: dict, resume: bool) -> None:
        """args.json, the first file a run writes into its claimed folder; a resumed run keeps its own (one
        killed before writing it gets it now, so that the command line can resume it)."""
        if self.enabled and (not resume or not self.file(ARGS).exists()):
            self.write_json(ARGS, settings)

    def append_jsonl(self, name: str, row: dict) -> None:
        if self.enabled:
            append_jsonl(self.file(name), row)

    def close(self) -> None:
        if self.enabled and self._lock is not None:
            log.removeHandler(self._handler)
            self._handler.close()
            self._lock.close()
            self._lock = None


def _drop_early_logs() -> None:
    for early in [h for h in log.handlers if isinstance(h, EarlyLog)]:
        early.close()


def _lock_folder(path: Path):
    """An open DIR/.lock holding an exclusive, non-blocking flock (released when closed or the process ends)."""
    f = open(path / LOCK, "a")
    if fcntl is None:  # no flock on this platform: no protection, as before
        return f
    for _ in range(2):
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except OSError:
            gc.collect()  # an abandoned RunDir of this process, not yet collected, may still hold it
    f.close()
    raise UserError(f"{path} is in use by another run (it holds {path / LOCK}); wait for that run to end or "
                    f"choose another folder")


def new_run_name(prefix: str) -> str:
    """PREFIX-EXP-<date>-<time>, the original's default --save, with -2, -3, ... when that folder exists (two
    runs started in the same second must not share a folder)."""
    import time
    base = f"{prefix}-EXP-{time.strftime('%Y%m%d-%H%M%S')}"
    name, n = base, 1
    while Path(name).exists():
        n += 1
        name = f"{base}-{n}"
    return name




def read_settings_file(path: str | Path, what: str) -> dict:
    """A saved args.json (for --resume or --config): a JSON object, or a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what}: {path} does not exist")
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise UserError(f"{path} is not valid JSON; give an args.json written by a run") from None
    if not isinstance(saved, dict) or not saved:
        raise UserError(f"{path} must hold a JSON object of settings (an args.json written by a run)")
    return saved


class Terminated(KeyboardInterrupt):
    """SIGTERM (a job scheduler stopping the run), raised like Ctrl-C so that the same cleanup runs."""


def _terminate(signum, frame):
    raise Terminated()


def run_cli(main, argv=None) -> int:
    """Run a CLI entry point: a UserError becomes one line on stderr and exit status 2; Ctrl-C and SIGTERM
    stop it with a line saying how to resume (status 130 and 143)."""
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        main(argv)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print("interrupted; resume with --resume on the --save folder", file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130
    except SystemExit as e:  # the flag parser's (one line said) or --help's
        return e.code if isinstance(e.code, int) else 1
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    return 0
