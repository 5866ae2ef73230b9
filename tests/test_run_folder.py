"""The run folder survives everything: a kill before the first checkpoint, a second run on the same folder,
stale temporary files, pickled code in a checkpoint, a full disk, SIGTERM, non-finite numbers and damaged
JSON-lines files; and the run engine's callbacks."""
import errno
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from darts import checkpoint
from darts.checkpoint import atomic_write_json, load_checkpoint, read_jsonl, write_jsonl
from darts.data import BatchStream
from darts.errors import UserError
from darts.runs import RunDir, run_cli
from darts.search import DartsSearch, DartsSearchConfig
from darts.spaces.nb201 import Nb201SearchNetwork
from darts.strategies.base import default_state_path, run_strategy
from darts.strategies.registry import build_strategy
from darts.training import ImageClassification
from tests.test_strategies import ToySpace, ToyTable

ROOT = Path(__file__).resolve().parent.parent


def tiny_search(folder, epochs=2, **run_options) -> DartsSearch:
    """A DARTS search of a tiny NAS-Bench-201 supernet on random 8x8 images (a fresh process's state)."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (32, 1, 8, 8), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 3, (32,), generator=g)
    train = BatchStream(x[:16], y[:16], 8, (0.5,), (0.25,), seed=1)
    val = BatchStream(x[16:], y[16:], 8, (0.5,), (0.25,), seed=2)
    model = Nb201SearchNetwork(C=4, N=1, num_classes=3, in_channels=1)
    config = DartsSearchConfig(epochs=epochs, max_batches=2, progress=False)
    return DartsSearch(model, ImageClassification(), train, val, config, RunDir(folder, **run_options))


def rows(path):
    return [{k: v for k, v in r.items() if k != "metrics"} for r in read_jsonl(path)]


def finished(search: DartsSearch):
    genotype = search.run()
    search.run_dir.close()
    return genotype, {k: v.clone() for k, v in search.model.state_dict().items()}


def same_run(a, b, folder_a, folder_b):
    assert a[0] == b[0]
    assert all(torch.equal(v, b[1][k]) for k, v in a[1].items())
    assert rows(folder_a / "alphas.jsonl") == rows(folder_b / "alphas.jsonl")
    assert (folder_a / "genotype.json").read_bytes() == (folder_b / "genotype.json").read_bytes()


# 1. killed after the first row, before the first checkpoint -------------------------------------------------
def test_resume_without_a_checkpoint_starts_over(tmp_path):
    full = finished(tiny_search(tmp_path / "full"))
    cut = tmp_path / "cut"
    cut.mkdir()
    # what a kill between the first row and the first checkpoint leaves: a row, no checkpoint
    (cut / "alphas.jsonl").write_text((tmp_path / "full" / "alphas.jsonl").read_text().splitlines()[0] + "\n")
    search = tiny_search(cut, resume=True)
    search.resume(cut / "checkpoint.pt")
    assert read_jsonl(cut / "alphas.jsonl") == []
    same_run(full, finished(search), tmp_path / "full", cut)


def test_resume_refuses_rows_beyond_the_first_epoch_without_a_checkpoint(tmp_path):
    search = tiny_search(tmp_path)
    write_jsonl(tmp_path / "alphas.jsonl", [{"epoch": 0}, {"epoch": 1}])
    with pytest.raises(UserError, match="is missing"):
        search.resume(tmp_path / "checkpoint.pt")
    search.run_dir.close()


def test_sample_search_with_one_history_line_and_no_state_starts_over(tmp_path):
    history = tmp_path / "history.jsonl"
    full = run_strategy(build_strategy("evolution", ToySpace(), seed=3), ToyTable(), 12, history, progress=False)
    first = history.read_text().splitlines()[0]
    default_state_path(history).unlink()
    history.write_text(first + "\n")  # killed after the first line, before the first state
    again = run_strategy(build_strategy("evolution", ToySpace(), seed=3), ToyTable(), 12, history, progress=False)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "time"} for r in rs]
    assert strip(again.records) == strip(full.records)
    assert strip(read_jsonl(history)) == strip(full.records)


# 2. a fresh run refuses a folder holding another run ------------------------------------------------------
def test_fresh_run_refuses_a_used_folder_unless_resumed_or_overwritten(tmp_path):
    RunDir(tmp_path / "missing", resume=False).close()  # a missing or empty folder is fine
    RunDir(tmp_path / "missing", resume=False).close()
    assert not RunDir(None).enabled
    folder = tmp_path / "run"
    run = RunDir(folder)  # the path positionally; resume=None: either
    run.write_json("args.json", {"epochs": 1})
    run.close()
    with pytest.raises(UserError, match="already holds a run") as err:
        RunDir(folder, resume=False)
    assert "\n" not in str(err.value) and "--resume" in str(err.value)
    RunDir(folder, resume=True).close()
    (folder / "mine.txt").write_text("not a run file")
    RunDir(folder, resume=False, overwrite=True).close()
    assert not (folder / "args.json").exists() and (folder / "mine.txt").exists()


# 3. one run at a time -----------------------------------------------------------------------------------
def test_a_second_run_on_the_same_folder_is_refused_while_the_first_lives(tmp_path):
    first = RunDir(tmp_path)
    with pytest.raises(UserError, match="in use by another run"):
        RunDir(tmp_path)
    first.close()
    RunDir(tmp_path).close()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from darts.runs import RunDir; "
                               "run = RunDir(sys.argv[1]); print('locked', flush=True); time.sleep(60)", str(tmp_path)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match="in use by another run"):
            RunDir(tmp_path)
    finally:
        holder.kill()
        holder.wait()
    RunDir(tmp_path).close()  # the lock died with the process; its file may stay


# 4. stale temporary files --------------------------------------------------------------------------------
def test_stale_temporary_files_are_removed_when_the_folder_is_opened(tmp_path):
    stale = [".checkpoint.pt.x1y2.tmp", ".history.jsonl.abc.tmp", ".genotype.json.q.tmp"]
    for name in stale:
        (tmp_path / name).write_bytes(b"half written")
    RunDir(tmp_path, resume=True).close()
    assert not any((tmp_path / name).exists() for name in stale)


# 5. checkpoints hold tensors and plain values only ------------------------------------------------------
class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_checkpoints_load_weights_only_and_pickled_code_never_runs(tmp_path):
    search = tiny_search(tmp_path / "s", epochs=1)
    search.train_epoch()
    search.run_dir.close()
    state = torch.load(tmp_path / "s" / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1
    marker = tmp_path / "pwned"
    torch.save({"model": Payload(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(UserError, match="cannot be read"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not marker.exists()


# 6. a full disk, SIGTERM ------------------------------------------------------------------------------
def test_a_full_disk_is_a_one_line_error_and_the_run_resumes_identically(tmp_path, monkeypatch):
    full = finished(tiny_search(tmp_path / "full"))
    search = tiny_search(tmp_path / "cut")
    search.train_epoch()
    real_fsync, calls = os.fsync, []

    def disk_full(fd):
        calls.append(fd)
        if len(calls) == 2:  # the checkpoint of epoch 1, after its row
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)
    monkeypatch.setattr(checkpoint.os, "fsync", disk_full)
    with pytest.raises(UserError, match="No space left on device") as err:
        search.train_epoch()
    assert "\n" not in str(err.value)
    monkeypatch.setattr(checkpoint.os, "fsync", real_fsync)
    assert not list((tmp_path / "cut").glob(".*.tmp"))
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.pt")["epoch"] == 1  # the last good one, readable
    search.run_dir.close()
    resumed = tiny_search(tmp_path / "cut", resume=True)
    resumed.resume(tmp_path / "cut" / "checkpoint.pt")
    same_run(full, finished(resumed), tmp_path / "full", tmp_path / "cut")


def test_sigterm_stops_like_ctrl_c_with_status_143(capsys):
    def main(argv):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not stop the run")

    previous = signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(RuntimeError("no handler")))
    try:
        assert run_cli(main, []) == 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert capsys.readouterr().err.strip() == "interrupted; resume with --resume on the --save folder"


# 7. no Infinity or NaN in JSON ----------------------------------------------------------------------------
def strict(text):
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))


def test_json_files_hold_null_for_non_finite_numbers(tmp_path):
    atomic_write_json(tmp_path / "a.json", {"loss": math.inf, "ppl": [math.nan, 1.5], "n": 2})
    assert strict((tmp_path / "a.json").read_text()) == {"loss": None, "ppl": [None, 1.5], "n": 2}
    write_jsonl(tmp_path / "b.jsonl", [{"epoch": 0, "valid_loss": -math.inf}])
    assert strict((tmp_path / "b.jsonl").read_text()) == {"epoch": 0, "valid_loss": None}


# 8. damaged JSON-lines files --------------------------------------------------------------------------------
def test_jsonl_reader_drops_a_truncated_last_line_and_refuses_a_folder(tmp_path):
    path = tmp_path / "alphas.jsonl"
    path.write_text('{"epoch": 0, "a": 1}\n{"epoch": 1, "a"')
    assert read_jsonl(path) == [{"epoch": 0, "a": 1}]
    path.write_text('{"epoch": 0}\n{"epo\n{"epoch": 2}\n')
    with pytest.raises(UserError, match="line 2"):
        read_jsonl(path)
    (tmp_path / "folder.jsonl").mkdir()
    with pytest.raises(UserError, match="is a folder"):
        read_jsonl(tmp_path / "folder.jsonl")


def test_resume_refuses_a_row_without_its_epoch(tmp_path):
    search = tiny_search(tmp_path, epochs=1)
    search.train_epoch()
    write_jsonl(tmp_path / "alphas.jsonl", read_jsonl(tmp_path / "alphas.jsonl") + [{"step": 3}])
    with pytest.raises(UserError, match="without 'epoch'"):
        search.resume(tmp_path / "checkpoint.pt")
    search.run_dir.close()


# the engine's callbacks ----------------------------------------------------------------------------------
def test_callbacks_see_each_written_epoch(tmp_path):
    from darts.engine import RunEngine
    search = tiny_search(tmp_path)
    seen = []
    search.callbacks.append(lambda epoch, row: seen.append(
        (epoch, row["epoch"], "valid_acc" in row, load_checkpoint(tmp_path / "checkpoint.pt")["epoch"])))
    search.run()
    search.run_dir.close()
    assert seen == [(0, 0, True, 1), (1, 1, True, 2)]
    assert isinstance(search.engine, RunEngine)
