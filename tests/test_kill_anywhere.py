"""A run killed (SIGKILL) at any file write resumes with --resume to exactly the uninterrupted run.
(Each case costs two processes; the cases below are the distinct kinds of kill point, a few per command.)

Each case runs a tiny command line in a subprocess that kills itself just before or just after its N-th
rename (the test-only hook DARTS_TEST_KILL_AT of darts.checkpoint), checks that every file left in the
folder reads, resumes it, and compares every output with an uninterrupted run: genotype.json byte for byte,
JSON and JSON-lines files row by row and checkpoints / weights tensor by tensor, leaving out only wall-clock
times and the folder's own name.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
TIMING = {"seconds", "time", "elapsed", "save"}  # wall-clock figures, and the --save folder itself
TINY = ["--dataset", "digits", "--layers", "3", "--init_channels", "4", "--batch_size", "16", "--max_batches", "2",
        "--epochs", "2", "--no_progress"]


def command(name, shared_file) -> list:
    """The command line of run `name` (evolution reads the NAS-Bench-201 table: skipped without it)."""
    if name == "evolution":
        bench = shared_file("nb201/nats_bench_tss_200ep.csv")
        return ["train_search.py", "--space", "nb201", "--strategy", "evolution", "--benchmark", str(bench),
                "--budget", "6", "--no_progress", "--no_plots"]
    return {
        "search": ["train_search.py", *TINY, "--no_plots"],
        "final": ["train_final.py", "--arch", "DARTS_V2", *TINY],
        "enas": ["train_search.py", "--strategy", "enas", *TINY, "--controller_train_steps", "3",
                 "--derive_samples", "3", "--no_plots"],
    }[name]


def cli(argv, kill_at=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("DARTS_TEST_KILL_AT", None)
    if kill_at:
        env["DARTS_TEST_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Uninterrupted runs, made once per command and on demand."""
    made = {}

    def reference(name, shared_file):
        if name not in made:
            out = tmp_path_factory.mktemp(f"ref-{name}")
            done = cli(command(name, shared_file) + ["--save", str(out)])
            assert done.returncode == 0, done.stderr
            made[name] = out
        return made[name]
    return reference


def without_timing(obj):
    if isinstance(obj, dict):
        return {k: without_timing(v) for k, v in obj.items() if k not in TIMING}
    if isinstance(obj, (list, tuple)):
        return [without_timing(v) for v in obj]
    return obj


def strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} in JSON")
    return json.loads(text, parse_constant=refuse)


def read(path: Path):
    """Every output file's content (raises if the file does not read)."""
    if path.suffix == ".json":
        return strict_json(path.read_text())
    if path.suffix == ".jsonl":
        return [strict_json(line) for line in path.read_text().splitlines()]
    if path.suffix == ".pt":
        return torch.load(path, weights_only=True)
    return None


def outputs(folder: Path) -> dict:
    return {p.name: read(p) for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.startswith(".") and p.name != "log.txt"}


def same(a, b, where="") -> None:
    if torch.is_tensor(a):
        assert torch.is_tensor(b) and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (where, set(a) ^ set(b))
        for k in a:
            same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def kill_and_resume(name, kill_at, references, shared_file, tmp_path):
    reference = references(name, shared_file)
    out = tmp_path / name
    killed = cli(command(name, shared_file) + ["--save", str(out)], kill_at)
    assert killed.returncode == -9, (killed.returncode, killed.stderr[-2000:])
    outputs(out)  # every file reads after the kill
    resumed = cli([command(name, shared_file)[0], "--resume", str(out), "--no_progress"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert not list(out.glob(".*.tmp")), "stale temporary files were left"
    if (reference / "genotype.json").is_file():
        assert (reference / "genotype.json").read_bytes() == (out / "genotype.json").read_bytes()
    same(without_timing(outputs(reference)), without_timing(outputs(out)))


@pytest.mark.parametrize("name,kill_at", [
    ("search", "2:after"),     # the first row of alphas.jsonl is written, no checkpoint yet
    ("evolution", "2:after"),  # the first history line, no state yet
])
def test_killed_before_the_first_checkpoint_resumes_exactly(name, kill_at, references, shared_file, tmp_path):
    kill_and_resume(name, kill_at, references, shared_file, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name,kill_at", [
    ("search", "3:before"),     # the first checkpoint half written (a stale temporary file)
    ("final", "4:after"),       # weights.pt newer than the checkpoint
    ("evolution", "13:after"),  # the last state written, genotype.json not
    ("enas", "3:after"),        # the epoch's samples and controller line, no checkpoint
    ("enas", "8:after"),        # derive.json written, genotype.json not
])
def test_killed_anywhere_resumes_exactly(name, kill_at, references, shared_file, tmp_path):
    kill_and_resume(name, kill_at, references, shared_file, tmp_path)
