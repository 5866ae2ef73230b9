"""Every command that README.md and the pages under docs/ show runs, as written, with small settings.

The commands are read from the pages' ```bash blocks, so a command added to any page is tested here. Small
settings (one epoch of one batch, tiny networks, two evaluations) are appended only where the run takes them.
The commands run in a temporary folder laid out as a user's: `data/` holds a fake CIFAR-10 and links to the
real NAS-Bench-201 tables and Penn Treebank (DARTS_SHARED_DATA, default ../shared/data), beside my_images,
my_data.npz, my_corpus and my_ops.py. A command whose data is missing is not run and is named by
test_every_shown_command_has_its_data, which skips with the data's name.

A block that is shown but not run says so on the line before its fence, with the reason:

    <!-- not run: benchmarks measure for an hour; tests/test_x.py tests what they use -->

Every other block must hold only commands this test knows how to run (search, retrain, draw).
"""
import json
import os
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from darts.errors import UserError
from darts.runs import run_cli
from tests.conftest import SHARED_DATA
from tests.test_data import write_cifar10

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # where Debian's dataset-fashion-mnist puts it
LINKED_DATA = {"nb201": "the NAS-Bench-201 tables", "ptb": "Penn Treebank"}  # data/<name> -> SHARED_DATA/<name>
BLOCK = re.compile(r"(?:<!--[ \t]*not run:(?P<reason>[^\n]*?)-->[ \t]*\n\s*)?```bash\n(?P<body>.*?)```", re.S)
SMALL = {"epochs": "1", "max_batches": "1", "batch_size": "8", "layers": "3", "init_channels": "8", "budget": "2",
         "controller_train_steps": "2", "derive_samples": "2", "emsize": "8", "nhid": "8", "nhidlast": "8",
         "bptt": "5", "cells_per_stack": "1", "blocks": "2", "channel_divisor": "8", "image_size": "8"}
SMALL_TRAIN = {"epochs": "1", "max_batches": "1", "batch_size": "8", "layers": "3", "init_channels": "4",
               "emsize": "8", "nhid": "8", "nhidlast": "8", "bptt": "5", "eval_batch_size": "2",
               "test_batch_size": "2", "image_size": "8"}


def shown_blocks() -> list[tuple[Path, str | None, list[str]]]:
    """(page, reason it is not run or None, its commands) for every ```bash block of every page, in order."""
    out = []
    for page in PAGES:
        for m in BLOCK.finditer(page.read_text()):
            reason = m.group("reason").strip() if m.group("reason") is not None else None
            lines = []
            for line in m.group("body").replace("\\\n", " ").splitlines():
                line = re.sub(r"\[[^]]*\]", "", line.split("  #")[0]).strip()  # optional [--flags] and comments
                if line:
                    lines.append(" ".join(line.split()))  # continuation lines leave runs of spaces
            out.append((page, reason, lines))
    return out


def commands_to_run() -> list[str]:
    """Every distinct command of the blocks that are run, in page order (README first)."""
    return list(dict.fromkeys(c for _, reason, lines in shown_blocks() if reason is None for c in lines))


def missing_data(argv: list[str], root: Path) -> str | None:
    """The data a command reads that this machine lacks, named for the skip message, or None."""
    for a in argv:
        if a.startswith("data/") and not (root / a).exists():
            name = a.split("/")[1]
            return f"{LINKED_DATA.get(name, a)} ({SHARED_DATA / name}; see docs/data.md)"
    retrains = "train_final.py" in argv or argv[0] == "darts-train"  # a search maps it to digits (small_search)
    if retrains and _value(argv, "--dataset") == "fashion-mnist" and "--data" not in argv \
            and not (FASHION_MNIST / "train-images-idx3-ubyte.gz").exists():
        return f"Fashion-MNIST ({FASHION_MNIST}: apt-get install dataset-fashion-mnist)"
    return None


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
        if name == "init_channels" and "--partial_channels" in argv:
            # at most 2 channels per edge crash the CPU's channels_last backward (double free in torch 2.13):
            # keep 4 per edge, as the command's default width does
            value = str(max(int(value), 4 * int(_value(argv, "--partial_channels"))))
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
    # --compile only makes a long run faster, and compiling costs a CPU half a minute: tests/test_compile_bf16.py
    # runs it
    argv = [a for a in argv if a != "--compile"] + ["--no_progress"]
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


def _corpus_lines(n: int) -> list[str]:
    ptb = SHARED_DATA / "ptb" / "train.txt"
    if ptb.exists():
        return ptb.read_text().splitlines()[:n]
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(50)] + ["<unk>"]
    return [" ".join(rng.choice(words, 12)) for _ in range(n)]


def my_ops_source() -> str:
    for page in PAGES:
        m = re.search(r"```python\n# my_ops.py\n(.*?)```", page.read_text(), re.S)
        if m:
            return m.group(1)
    raise AssertionError("no page shows my_ops.py, which the commands of --ops_module read")


@pytest.fixture
def workdir(tmp_path):
    """A user's working folder: data/ (fake CIFAR-10, links to the real tables and PTB), my_images,
    my_data.npz, my_corpus and my_ops.py."""
    root = tmp_path
    write_cifar10(root / "data", n=24)
    for name in LINKED_DATA:
        if (SHARED_DATA / name).exists():
            (root / "data" / name).symlink_to(SHARED_DATA / name)
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (root / "my_images" / cls).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)).save(root / "my_images" / cls / f"{i}.png")
    np.savez(root / "my_data.npz", x=rng.integers(0, 256, (60, 8, 8), dtype=np.uint8), y=np.arange(60) % 3)
    corpus = root / "my_corpus"
    corpus.mkdir()
    lines = _corpus_lines(400)
    for split, n in (("train", 400), ("valid", 120), ("test", 120)):
        (corpus / f"{split}.txt").write_text("\n".join(lines[:n]) + "\n")
    (root / "my_ops.py").write_text(my_ops_source())
    return root


def localise(argv: list[str], root: Path) -> list[str]:
    out = []
    for a in argv:
        if a.startswith("eval-EXP-..."):
            runs = sorted(root.glob("eval-EXP-*"))
            a = str(runs[-1] / Path(a).name) if runs else a
        out.append(a)
    return out


def run_command(line: str, root: Path) -> int:
    from darts.cli import search, train
    from visualize.__main__ import main as draw
    argv = localise(shlex.split(line), root)
    if argv[:2] == ["python", "train_search.py"] or argv[0] == "darts-search":
        return run_cli(search.main, small_search(argv[2:] if argv[0] == "python" else argv[1:]))
    if argv[:2] == ["python", "train_final.py"] or argv[0] == "darts-train":
        return run_cli(train.main, small_train(argv[2:] if argv[0] == "python" else argv[1:]))
    if argv[:3] == ["python", "-m", "visualize"] or argv[0] == "darts-draw":
        return draw(argv[3:] if argv[0] == "python" else argv[1:])
    if argv[0] == "darts-export":
        from darts.cli import export
        return run_cli(export.main, argv[1:])
    raise AssertionError(f"a page shows a command this test does not know how to run (mark its block "
                         f"'<!-- not run: REASON -->' if it must not run): {line}")


SHARDS = 6  # the commands run in this many tests, so that the suite's workers share them


def command_groups() -> list[list[str]]:
    """The commands to run, grouped so that a command reading a folder another one writes (its --save, or the
    newest eval-EXP-* folder of a retraining without --save) is in the same group, after it."""
    commands = commands_to_run()
    group = list(range(len(commands)))

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    saved, default_retrain = {}, None
    for i, line in enumerate(commands):
        argv = shlex.split(line)
        for a in argv[1:]:
            folder = a.split("/")[0]
            if a.startswith("eval-EXP-") and default_retrain is not None:
                group[root(i)] = root(default_retrain)
            elif folder in saved:
                group[root(i)] = root(saved[folder])
        if "--save" in argv:
            saved[_value(argv, "--save")] = i
        elif "train_final.py" in argv and not {"--summary", "--eval_only"} & set(argv):
            default_retrain = i
    groups: dict[int, list[str]] = {}
    for i, line in enumerate(commands):
        groups.setdefault(root(i), []).append(line)
    return list(groups.values())


def shard(k: int) -> list[str]:
    """The commands of test shard k: whole groups, dealt largest first to the shard with fewest commands."""
    shards: list[list[list[str]]] = [[] for _ in range(SHARDS)]
    for g in sorted(command_groups(), key=len, reverse=True):
        min(shards, key=lambda s: sum(map(len, s))).append(g)
    order = {line: i for i, line in enumerate(commands_to_run())}
    return sorted((line for g in shards[k] for line in g), key=order.get)


def test_commands_are_dealt_to_shards_once():
    dealt = [line for k in range(SHARDS) for line in shard(k)]
    assert sorted(dealt) == sorted(commands_to_run()) and len(dealt) >= 25


@pytest.mark.parametrize("k", range(SHARDS))
def test_every_shown_command_runs(k, workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    not_written = set()  # the folders of commands left out: the commands that read them are left out too
    for line in shard(k):
        argv = shlex.split(line)
        if missing_data(argv, workdir) or {a.split("/")[0] for a in argv[1:]} & not_written:
            if "--save" in argv:
                not_written.add(_value(argv, "--save"))
            continue  # named by test_every_shown_command_has_its_data
        os.write(2, f"$ {line}\n".encode())  # past capsys: names the command if the process dies inside it
        code = run_command(line, workdir)
        err = capsys.readouterr().err
        assert code == 0, f"{line}\n{err[-2000:]}"
    if (workdir / "search-digits").exists():
        assert json.loads((workdir / "search-digits" / "genotype.json").read_text())["space"] == "darts"
    shutil.rmtree(workdir / "data", ignore_errors=True)


def test_every_shown_command_has_its_data(tmp_path):
    """The data every run command reads is on this machine; otherwise skip, naming what is missing."""
    (tmp_path / "data").mkdir()
    for name in LINKED_DATA:
        if (SHARED_DATA / name).exists():
            (tmp_path / "data" / name).symlink_to(SHARED_DATA / name)
    missing = {m for line in commands_to_run() if (m := missing_data(shlex.split(line), tmp_path))}
    if missing:
        pytest.skip("commands not run for want of their data: " + "; ".join(sorted(missing)))


def test_blocks_not_run_say_why_and_commands_use_paths_a_user_has():
    for page in PAGES:  # a command in a fence of another language would escape this test
        for lang, body in re.findall(r"```(\w*)\n(.*?)```", page.read_text(), re.S):
            shown = [ln for ln in body.splitlines() if re.match(r"\s*(python (train_|-m |benchmarks/)|darts-|torchrun)", ln)]
            assert lang == "bash" or not shown, f"{page.relative_to(ROOT)}: commands outside a bash block: {shown}"
    blocks = shown_blocks()
    assert any(reason for _, reason, _ in blocks), "no block is marked '<!-- not run: ... -->'"
    for page, reason, lines in blocks:
        where = page.relative_to(ROOT)
        assert reason is None or len(reason) > 10, f"{where}: a block not run must say why: {lines}"
        for line in lines:
            assert "../shared" not in line and "/work/" not in line, f"{where}: a path users lack: {line}"
