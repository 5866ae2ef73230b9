"""A run's output folder: checks it is writable, logs to console and DIR/log.txt, writes JSON files.

Only the main process (rank 0) writes; other ranks get a RunDir whose writes do nothing.
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from darts.checkpoint import append_jsonl, atomic_write_json, read_jsonl, write_jsonl
from darts.distributed import is_main_process
from darts.errors import UserError

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


class RunDir:
    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path is not None else None
        self.enabled = self.path is not None and is_main_process()
        if not self.enabled:
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write_test"
            probe.write_text("")
            probe.unlink()
        except OSError as e:
            raise UserError(f"cannot write to --save {self.path}: {e.strerror}; choose another folder") from None
        handler = logging.FileHandler(self.path / "log.txt")
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%m/%d %I:%M:%S %p"))
        log.addHandler(handler)
        self._handler = handler

    def file(self, name: str) -> Path:
        assert self.path is not None
        return self.path / name

    def write_json(self, name: str, obj) -> None:
        if self.enabled:
            atomic_write_json(self.file(name), obj)

    def append_jsonl(self, name: str, row: dict) -> None:
        if self.enabled:
            append_jsonl(self.file(name), row)

    def truncate_jsonl(self, name: str, keep) -> None:
        """Keep only the rows for which keep(row) is true (used on resume to drop unfinished epochs)."""
        if self.enabled:
            write_jsonl(self.file(name), [r for r in read_jsonl(self.file(name)) if keep(r)])

    def close(self) -> None:
        if self.enabled:
            log.removeHandler(self._handler)
            self._handler.close()


def pick_device(name: str = "auto"):
    """'auto' -> CUDA when present, else CPU; anything else is passed to torch.device (checked)."""
    import torch
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"--device {name!r} is not a device name; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name} asked for CUDA but no CUDA device is available; use --device cpu")
    return device


def explicit_flags(parser, argv) -> set:
    """Names of the flags the user actually typed (argparse parser, argument list)."""
    import argparse
    import copy
    probe = argparse.ArgumentParser(add_help=False)
    for action in parser._actions:
        if action.dest != "help":
            quiet = copy.copy(action)
            quiet.default = argparse.SUPPRESS
            probe._add_action(quiet)
    ns, _ = probe.parse_known_args(argv)
    return set(vars(ns))


def resumed_args(args, parser, argv, may_change: set, script: str):
    """The arguments of the run saved in args.resume (its args.json), checked against the flags typed now."""
    import argparse
    saved_path = Path(args.resume) / "args.json"
    if not saved_path.is_file():
        raise UserError(f"--resume {args.resume}: no args.json there; is it a {script} --save folder?")
    try:
        saved = json.loads(saved_path.read_text())
    except ValueError:
        raise UserError(f"{saved_path} is not valid JSON; the run folder is damaged") from None
    merged = merge_resumed_args(saved, vars(args), explicit_flags(parser, argv), may_change)
    merged["save"] = args.resume
    return argparse.Namespace(**{**vars(args), **merged})


def merge_resumed_args(saved: dict, given: dict, explicit: set, may_change: set) -> dict:
    """A resumed run keeps its saved arguments; a flag given now that contradicts them is an error."""
    clash = sorted(k for k in explicit if k not in may_change and k in saved and saved[k] != given[k])
    if clash:
        shown = ", ".join(f"--{k} {given[k]!r} (run has {saved[k]!r})" for k in clash)
        raise UserError(f"--resume continues a run with its own settings; these flags contradict it: {shown}")
    merged = dict(saved)
    merged.update({k: given[k] for k in may_change if k in given})
    return merged


def run_cli(main, argv=None) -> int:
    """Run a CLI entry point: a UserError becomes one line on stderr and exit status 2."""
    try:
        main(argv)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; resume with --resume on the --save folder", file=sys.stderr)
        return 130
    return 0
