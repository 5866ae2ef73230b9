"""Atomic file writes, checkpoints and random-number-generator state, so runs resume exactly.

Everything is written to a temporary file in the target's folder and renamed over it: a run killed
mid-write leaves the previous file intact (and a stale `.NAME.XXXX.tmp`, removed when the run folder is
opened again). JSON never holds Infinity or NaN (they become null), and checkpoints hold only tensors and
plain Python values, so they load with `torch.load(weights_only=True)`: a file with pickled code is
refused, never run.

Test-only hook: DARTS_TEST_KILL_AT="N:before" (or "N:after") makes the process SIGKILL itself just before
(after) its N-th rename, so tests can kill a run at every point where a file changes.
"""
from __future__ import annotations

import io
import json
import math
import os
import random
import signal
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from darts.errors import UserError


_UMASK = os.umask(0)
os.umask(_UMASK)
_KILL_ENV = "DARTS_TEST_KILL_AT"
_renames = 0


def _replace(tmp: str, path: Path) -> None:
    """os.replace, counting renames for the test-only kill hook (see the module docstring)."""
    global _renames
    _renames += 1
    at, _, when = os.environ.get(_KILL_ENV, "").partition(":")
    kill = at.isdigit() and int(at) == _renames
    if kill and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    os.replace(tmp, path)
    if kill and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename; a full disk is a one-line error."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _replace(tmp, path)
    except BaseException as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise UserError(f"cannot write {path}: {e.strerror or e}; the files written so far are intact: free "
                            f"space (or fix permissions) and resume with --resume") from None
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(obj: Any) -> Any:
    """`obj` with every non-finite float replaced by None (JSON has no Infinity or NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def to_json(obj: Any, **kwargs) -> str:
    """Strict JSON text of `obj` (non-finite floats as null)."""
    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, to_json(obj, indent=2) + "\n")


def write_jsonl(path: str | Path, rows: list[dict]) -> None:
    atomic_write_text(path, _jsonl_text(rows))


def read_jsonl(path: str | Path) -> list[dict]:
    """The rows of a JSON-lines file ([] when absent); a truncated last line (a copy cut short) is dropped."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a JSON-lines file; move it away")
    if not path.is_file():
        return []
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except ValueError:
            if i == len(lines) - 1:
                break
            raise UserError(f"{path}: line {i + 1} is not JSON; the file is damaged") from None
    return rows


def repair_jsonl(path: str | Path, keep: Callable[[dict], bool] = lambda row: True) -> list[dict]:
    """The rows of a JSON-lines file that `keep` accepts ([] when absent), the file rewritten to exactly them
    when it holds others (rows a resumed run redoes) or a last line cut short by a kill, so that it stays
    readable line by line and no unit appears twice once the run goes on."""
    path = Path(path)
    rows = read_jsonl(path)
    kept = [row for row in rows if keep(row)]
    if path.is_file() and path.read_bytes() != _jsonl_text(kept).encode("utf-8"):
        write_jsonl(path, kept)
    return kept


def _jsonl_text(rows: list[dict]) -> str:
    return "".join(to_json(r) + "\n" for r in rows)


def append_jsonl(path: str | Path, row: dict) -> None:
    """Append one line by rewriting the file atomically (files here are small: one line per epoch)."""
    write_jsonl(path, read_jsonl(path) + [row])


def save_checkpoint(path: str | Path, state: dict) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


# numpy types in the RNG states of checkpoints written before RNG states were stored as tensors
_LEGACY_NUMPY = [np._core.multiarray._reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def read_resume_state(path: str | Path) -> dict | None:
    """The checkpoint a resumed run continues from, read before its folder is touched: None when there is none
    yet (a run killed before its first checkpoint); a one-line error when the path is a folder or another
    non-file, or cannot be read, so a resume never mistakes it for "no checkpoint" and overwrites the run."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise UserError(f"{path} is not a checkpoint file (a folder or a broken link); move it away or restore the "
                        f"run's checkpoint.pt before resuming")
    state = load_checkpoint(path)
    check_rows_cover(path.parent, state)
    return state


def check_rows_cover(folder: Path, state) -> None:
    """Every JSON-lines file of the run holds the last unit (epoch, step) the checkpoint `state` has done: rows
    are written before the checkpoint, so one that lacks it was cut or edited after the run, and resuming would
    leave it without those rows. Refused with one line before the folder is touched."""
    key = next((k for k in ("epoch", "step") if isinstance(state, dict) and type(state.get(k)) is int), None)
    if key is None or state[key] <= 0:
        return
    for path in sorted(folder.glob("*.jsonl")):
        rows = read_jsonl(path)
        units = [row[key] for row in rows if isinstance(row, dict) and type(row.get(key)) is int]
        if rows and not units:
            continue  # not a per-unit file
        if max(units, default=-1) < state[key] - 1:
            raise UserError(f"{path} lacks the rows of {key} {state[key] - 1} that the checkpoint has done (the file "
                            f"was cut or edited), so the run cannot resume; restore the file or choose another "
                            f"output folder")


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """A checkpoint or weights file, loaded without running any pickled code."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no checkpoint at {path}: nothing to resume (was the run started with --save there?)")
    try:
        with torch.serialization.safe_globals(_LEGACY_NUMPY):
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:
        raise UserError(f"checkpoint {path} cannot be read ({type(e).__name__}); it is corrupt, not a checkpoint, "
                        f"or holds objects other than tensors and plain values") from None


def rng_state() -> dict:
    """Python's, numpy's and torch's global generator states, as tensors and plain values."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(),
             "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    name, keys, *rest = state["numpy"]
    keys = keys.numpy() if torch.is_tensor(keys) else np.asarray(keys)
    np.random.set_state((name, keys.astype(np.uint32), *rest))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
