"""Every command the README shows runs, as written, with small settings and local data.

The commands are read from the README's bash blocks, so a command added there is tested here. Small settings
(one epoch of one batch, tiny networks, two evaluations) are appended only where the run takes them; data paths
are mapped to local copies (fake CIFAR-10 pickles, a small image folder and npz file, the shared PTB and tables).
Commands exercised elsewhere are listed in COVERED_ELSEWHERE with the test that runs them.
"""
import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from darts.errors import UserError
from darts.runs import run_cli
from tests.test_data import write_cifar10

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()

COVERED_ELSEWHERE = {
    "bash .ci/run": "is CI itself",
    "torchrun": "tests/test_distributed.py runs both command lines under torchrun with two processes",
    "python examples/": "tests/test_examples.py runs each example on tiny settings",
    "python benchmarks/": "benchmarks measure; tests/test_nb201_benchmark.py and others test what they use",
    "python train_search.py --space nb101 --strategy evolution --benchmark": "needs the full NAS-Bench-101 file; "
        "tests/test_nb101.py queries the 30-cell sample through the same table",
}
SMALL = {"epochs": "1", "max_batches": "1", "batch_size": "8", "layers": "3", "init_channels": "8", "budget": "2",
         "controller_train_steps": "2", "derive_samples": "2", "emsize": "8", "nhid": "8", "nhidlast": "8",
         "bptt": "5", "cells_per_stack": "1", "blocks": "2", "channel_divisor": "8", "image_size": "8"}
SMALL_TRAIN = {"epochs": "1", "max_batches": "1", "batch_size": "8", "layers": "3", "init_channels": "4",
               "emsize": "8", "nhid": "8", "nhidlast": "8", "bptt": "5", "eval_batch_size": "2",
               "test_batch_size": "2", "image_size": "8"}


def readme_commands() -> list[str]:
    out = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\[[^]]*\]", "", line.split("  #")[0]).strip()  # optional [--flags] and comments
            if line:
                out.append(line.split("&&")[-1].strip())  # the set-up chain ends with the command itself
    return out


def _value(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


def _with(argv: list[str], flag: str, value: str) -> list[str]:
    if flag in argv:
        argv = list(argv)
        argv[argv.index(flag) + 1] = value
        return argv
    return argv + [flag, value]


def small_search(argv: list[str]) -> list[str]:
    """`argv` with the small settings its run takes (a setting of another space or strategy is refused)."""
    from darts.cli.search import settings_from_argv
    if "--dataset" in argv and _value(argv, "--dataset") == "fashion-mnist":
        argv = _with(argv, "--dataset", "digits")  # rewards by training 30,000 images are not a unit test
    argv = argv + ["--no_progress", "--no_plots"]
    for name, value in SMALL.items():
        if name == "image_size" and _value(argv, "--dataset") != "folder":
            continue
        trial = _with(argv, f"--{name}", value)
        try:
            settings_from_argv(trial)
        except UserError as e:
            if "belongs to" in str(e) or "must be" in str(e):
                continue
        argv = trial
    return argv


def small_train(argv: list[str]) -> list[str]:
    from darts.cli.train import is_language_model_run
    argv = argv + ["--no_progress"]
    text = is_language_model_run(argv)
    for name, value in SMALL_TRAIN.items():
        if name in ("emsize", "nhid", "nhidlast", "bptt", "eval_batch_size", "test_batch_size") and not text:
            continue
        if name in ("layers", "init_channels", "image_size") and (text or "--eval_only" in argv):
            continue
        if name == "image_size" and _value(argv, "--dataset") != "folder":
            continue
        argv = _with(argv, f"--{name}", value)
    return argv


@pytest.fixture
def workdir(tmp_path, shared_data):
    """A folder holding what the README's commands read: ./data (fake CIFAR-10), my_images, my_data.npz,
    my_corpus, my_ops.py, and ../shared/data mapped to the shared copies."""
    root = tmp_path
    write_cifar10(root / "data", n=24)
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (root / "my_images" / cls).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)).save(root / "my_images" / cls / f"{i}.png")
    np.savez(root / "my_data.npz", x=rng.integers(0, 256, (60, 8, 8), dtype=np.uint8), y=np.arange(60) % 3)
    corpus = root / "my_corpus"
    corpus.mkdir()
    for split, n in (("train", 400), ("valid", 120), ("test", 120)):
        lines = (shared_data / "ptb" / "train.txt").read_text().splitlines()[:n]
        (corpus / f"{split}.txt").write_text("\n".join(lines) + "\n")
    ops = re.search(r"```python\n# my_ops.py\n(.*?)```", README, re.S).group(1)
    (root / "my_ops.py").write_text(ops)
    (root / "nb101_full.pkl").write_bytes((shared_data / "nb101" / "nb101_dummy.pkl").read_bytes())
    (root / "sub").mkdir()  # ../shared/data is read from a subfolder whose parent holds shared/
    (root / "shared").symlink_to(shared_data.parent)
    return root


def localise(argv: list[str], root: Path) -> list[str]:
    out = []
    for a in argv:
        a = a.replace("../shared/", str(root / "shared") + "/")
        if a.startswith("eval-EXP-..."):
            runs = sorted(root.glob("eval-EXP-*"))
            a = str(runs[-1] / Path(a).name) if runs else a
        out.append(a)
    return out


def test_every_readme_command_runs(workdir, monkeypatch, capsys):
    from darts.cli import search, train
    from visualize.__main__ import main as draw
    monkeypatch.chdir(workdir)
    ran, skipped = [], []
    for line in readme_commands():
        reason = next((why for start, why in COVERED_ELSEWHERE.items() if line.startswith(start)), None)
        if reason:
            skipped.append(line)
            continue
        argv = localise(shlex.split(line), workdir)
        if argv[:2] == ["python", "train_search.py"] or argv[0] == "darts-search":
            code = run_cli(search.main, small_search(argv[2:] if argv[0] == "python" else argv[1:]))
        elif argv[:2] == ["python", "train_final.py"] or argv[0] == "darts-train":
            code = run_cli(train.main, small_train(argv[2:] if argv[0] == "python" else argv[1:]))
        elif argv[:3] == ["python", "-m", "visualize"]:
            code = draw(argv[3:])
        else:
            raise AssertionError(f"the README shows a command this test does not know how to run: {line}")
        err = capsys.readouterr().err
        assert code == 0, f"{line}\n{err[-2000:]}"
        ran.append(line)
    assert len(ran) >= 25 and skipped, (ran, skipped)
    assert json.loads((workdir / "search-digits" / "genotype.json").read_text())["space"] == "darts"
    shutil.rmtree(workdir / "data", ignore_errors=True)
