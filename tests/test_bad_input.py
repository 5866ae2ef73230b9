"""Bad input of every kind gets exit status 2, one line that names the problem, no traceback, and leaves
every existing file byte-identical (issue: nothing lost, nothing mixed, no traceback)."""
import json
from pathlib import Path

import numpy as np
import pytest

import train_final
import train_search
from darts.runs import run_cli

TINY = ["--dataset", "digits", "--layers", "3", "--init_channels", "4", "--batch_size", "16", "--epochs", "1",
        "--max_batches", "2", "--no_progress", "--no_plots"]
TINY_FINAL = ["--dataset", "digits", "--layers", "3", "--init_channels", "4", "--batch_size", "16", "--epochs", "1",
              "--max_batches", "2", "--no_progress"]


def snapshot(folder: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(main, argv, capsys, folder: Path, needle: str) -> str:
    """Run; assert exit 2, a one-line message containing `needle`, no traceback, files unchanged."""
    before = snapshot(folder)
    assert run_cli(main, argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert needle in lines[0], lines[0]
    assert snapshot(folder) == before
    return lines[0]


@pytest.fixture
def junk(tmp_path):
    """Genotype files that are not genotypes."""
    files = {"binary.json": bytes(range(256)), "latin1.json": '{"normal": "caf\xe9"}'.encode("latin-1"),
             "deep.json": ("[" * 100_000 + "]" * 100_000).encode(), "digits.json": ("1" * 5000).encode(),
             "concat.json": json.dumps({"space": "darts", "normal": [["sep_conv_3x3", 0]] * 8,
                                        "normal_concat": [True, 3], "reduce": [["sep_conv_3x3", 0]] * 8,
                                        "reduce_concat": [2, 3, 4, 5]}).encode()}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


@pytest.mark.parametrize("name", ["binary.json", "latin1.json", "deep.json", "digits.json", "concat.json"])
def test_genotype_files(junk, name, capsys):
    refused(train_final.main, ["--arch", str(junk / name), "--summary"], capsys, junk, name)
    from visualize.__main__ import main as draw
    before = snapshot(junk)
    assert draw([str(junk / name), "--out", str(junk / "out")]) == 2
    assert "Traceback" not in capsys.readouterr().err and snapshot(junk) == before


def test_paper_text_with_keyword_unpacking(tmp_path, capsys):
    refused(train_final.main, ["--arch", "Genotype(normal=[], **{})", "--summary"], capsys, tmp_path, "named")


@pytest.mark.parametrize("flag,value", [("--learning_rate", "-1"), ("--momentum", "-0.5"), ("--weight_decay", "-1"),
                                        ("--arch_learning_rate", "-1"), ("--seed", "-1"), ("--seed", "99999999999"),
                                        ("--grad_clip", "-1"), ("--cutout_length", "-5"), ("--device", "mps"),
                                        ("--device", "meta")])
def test_search_flags_out_of_range(tmp_path, flag, value, capsys):
    refused(train_search.main, TINY + [flag, value, "--save", str(tmp_path / "s")], capsys, tmp_path, flag)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("flag,value", [("--learning_rate", "-1"), ("--momentum", "-0.5"), ("--weight_decay", "-1"),
                                        ("--seed", "-1"), ("--seed", "99999999999"), ("--grad_clip", "-1"),
                                        ("--cutout_length", "-5"), ("--gamma", "-1"), ("--device", "mps")])
def test_train_flags_out_of_range(tmp_path, flag, value, capsys):
    refused(train_final.main, ["--arch", "DARTS_V2"] + TINY_FINAL + [flag, value, "--save", str(tmp_path / "t")],
            capsys, tmp_path, flag)
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("flag,value", [("--lr", "-1"), ("--wdecay", "-1"), ("--seed", "-1")])
def test_language_model_flags_out_of_range(tmp_path, flag, value, capsys, shared_data):
    refused(train_final.main, ["--dataset", "ptb", "--data", str(shared_data / "ptb"), "--arch", "DARTS_V2", flag,
                               value, "--save", str(tmp_path / "lm")], capsys, tmp_path, flag)


@pytest.mark.parametrize("argv,needle", [
    (["--primitives", "none,sep_conv_3x3,typo_op"], "typo_op"),
    (["--dataset", "cifar10", "--data", "{tmp}/no-data"], "cifar10"),
])
def test_a_failed_start_creates_nothing(tmp_path, argv, needle, capsys, monkeypatch):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    monkeypatch.chdir(tmp_path)
    refused(train_search.main, TINY + argv, capsys, tmp_path, needle)
    assert not list(tmp_path.glob("search-EXP-*")) and not (tmp_path / "no-data").exists()


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished tiny search and a finished tiny retraining, shared by the resume cases."""
    root = tmp_path_factory.mktemp("runs")
    assert run_cli(train_search.main, TINY + ["--save", str(root / "search")]) == 0
    assert run_cli(train_final.main, ["--arch", "DARTS_V2"] + TINY_FINAL + ["--save", str(root / "final")]) == 0
    return root


def test_resume_into_another_folder_is_refused(finished, tmp_path, capsys):
    refused(train_search.main, ["--resume", str(finished / "search"), "--save", str(tmp_path / "b")], capsys,
            finished, "--save")
    refused(train_final.main, ["--resume", str(finished / "final"), "--save", str(tmp_path / "b")], capsys,
            finished, "--save")


def test_a_fresh_run_into_a_finished_folder_is_refused(finished, capsys):
    refused(train_search.main, TINY + ["--save", str(finished / "search")], capsys, finished, "--resume")


def test_resume_with_another_architecture_is_refused(finished, capsys):
    refused(train_search.main, ["--resume", str(finished / "search"), "--layers", "4"], capsys, finished, "--layers")


def test_resume_of_another_commands_folder_is_refused(finished, capsys):
    refused(train_search.main, ["--resume", str(finished / "final")], capsys, finished, "was not written by a search")


@pytest.mark.parametrize("content", ["[]", "null", '"x"', '{"epochs": "3"}', "{"])
def test_damaged_args_json(tmp_path, content, capsys):
    for command in (train_search.main, train_final.main):
        run = tmp_path / "run"
        run.mkdir(exist_ok=True)
        (run / "args.json").write_text(content)
        refused(command, ["--resume", str(run)], capsys, tmp_path, "args.json")


def test_corrupt_npz_member(tmp_path, capsys):
    path = tmp_path / "c.npz"
    np.savez(path, x=np.random.randint(0, 255, (20, 8, 8), dtype=np.uint8), y=np.arange(20) % 2)
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF
    path.write_bytes(bytes(data))
    refused(train_search.main, ["--dataset", "npz", "--data", str(path), "--summary"], capsys, tmp_path, "c.npz")


@pytest.fixture
def damaged_tables(tmp_path, shared_file):
    """NAS-Bench-201 CSVs damaged in the ways a copy can be: binary, one latin-1 byte, a NaN accuracy, a cut
    last field, an extra field."""
    source = shared_file("nb201/nats_bench_tss_200ep.csv")
    data = source.read_bytes()
    lines = data.split(b"\n")
    latin1 = bytearray(data)
    latin1[data.index(b"|", 200)] = 0xE9
    nan = list(lines)
    nan[5] = b",".join([b"nan"] + nan[5].split(b",")[1:])
    cut = [line for line in lines if line]
    cut[-1] = cut[-1][:-5]
    extra = list(lines)
    extra[7] += b",extra"
    files = {"binary.csv": bytes(range(256)) * 50, "latin1.csv": bytes(latin1), "nan.csv": b"\n".join(nan),
             "cut.csv": b"\n".join(cut) + b"\n", "extra.csv": b"\n".join(extra)}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    return tmp_path


@pytest.mark.parametrize("name,needle", [("binary.csv", "UTF-8"), ("latin1.csv", "UTF-8"), ("nan.csv", "'nan'"),
                                         ("cut.csv", "damaged"), ("extra.csv", "more fields")])
def test_damaged_benchmark_tables(damaged_tables, name, needle, capsys):
    refused(train_search.main, ["--space", "nb201", "--strategy", "random", "--benchmark", str(damaged_tables / name),
                                "--reward", "test200-leaks-test", "--budget", "2", "--no_progress", "--save",
                                str(damaged_tables / "run")], capsys, damaged_tables, needle)
    assert not (damaged_tables / "run").exists()


def test_an_image_folder_with_a_dangling_link(tmp_path, capsys):
    """A broken link is reported and skipped (or an error with --strict); --summary reads the folder too."""
    from PIL import Image
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(tmp_path / "imgs" / cls / f"{i}.png")
    (tmp_path / "imgs" / "a" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    base = ["--dataset", "folder", "--data", str(tmp_path / "imgs"), "--cache", "none"]
    assert run_cli(train_search.main, base + ["--summary"]) == 0
    assert run_cli(train_search.main, base + TINY[2:] + ["--save", str(tmp_path / "s")]) == 0
    assert "gone.png" in (tmp_path / "s" / "log.txt").read_text()
    capsys.readouterr()
    refused(train_search.main, base + TINY[2:] + ["--strict", "--save", str(tmp_path / "t")], capsys, tmp_path,
            "gone.png")
