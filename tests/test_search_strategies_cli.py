"""train_search.py with --space nb201 and the sample-based strategies."""
import json

import pytest

import train_search
from darts.spaces.nb201.benchmark import Nb201Benchmark
from darts.spaces.genotype_io import load_genotype
from darts.spaces.common.nb201_arch import Nb201Arch
from tests.test_data import write_cifar10


def run(argv):
    return train_search.run_cli(train_search.main, argv)


@pytest.fixture
def table_path(shared_file):
    return shared_file("nb201/nats_bench_tss_200ep.csv")


def test_evolution_on_the_table_writes_history_and_resumes(tmp_path, table_path):
    out = tmp_path / "evo"
    base = ["--space", "nb201", "--strategy", "evolution", "--benchmark", str(table_path), "--no_progress",
            "--save", str(out)]
    assert run(base + ["--budget", "30"]) == 0
    rows = [json.loads(l) for l in (out / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(30))
    assert rows[-1]["best_reward"] == max(r["reward"] for r in rows)
    best = load_genotype(out / "genotype.json")
    assert isinstance(best, Nb201Arch)
    bench = Nb201Benchmark(table_path)  # rewards: the authors' 12-epoch validation accuracy, never test
    assert bench.query(best, "cifar10", 12, "valid") == pytest.approx(rows[-1]["best_reward"])
    assert f"nb201_cifar10_test200 {bench.query(best, 'cifar10', 200, 'test'):.2f}" in (out / "log.txt").read_text()


def test_darts_on_nb201_reports_table_accuracy(tmp_path, table_path, capsys):
    write_cifar10(tmp_path / "data", n=24)
    out = tmp_path / "d"
    argv = ["--space", "nb201", "--dataset", "cifar10", "--data", str(tmp_path / "data"), "--benchmark",
            str(table_path), "--layers", "3", "--init_channels", "4", "--batch_size", "16", "--epochs", "1",
            "--max_batches", "2", "--no_progress", "--save", str(out)]
    assert run(argv) == 0
    row = json.loads((out / "alphas.jsonl").read_text().splitlines()[-1])
    arch = load_genotype(out / "genotype.json")
    bench = Nb201Benchmark(table_path)
    assert row["metrics"]["nb201_cifar10_test200"] == bench.query(arch, "cifar10", 200, "test")
    assert row["metrics"]["nb201_cifar10_valid12"] == bench.query(arch, "cifar10", 12, "valid")
    assert len(row["edges"]) == 6
    assert "table figures of" in (out / "log.txt").read_text()


def test_random_search_trains_real_networks_on_digits(tmp_path):
    out = tmp_path / "r"
    argv = ["--strategy", "random", "--dataset", "digits", "--budget", "2", "--fidelity_epochs", "1",
            "--layers", "3", "--init_channels", "4", "--batch_size", "64", "--no_progress", "--save", str(out)]
    assert run(argv) == 0
    rows = [json.loads(l) for l in (out / "history.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(0 <= r["reward"] <= 100 for r in rows)
    load_genotype(out / "genotype.json").validate()


def test_enas_from_the_command_line(tmp_path):
    out = tmp_path / "enas"
    argv = ["--strategy", "enas", "--dataset", "digits", "--epochs", "1", "--layers", "3", "--init_channels", "4",
            "--batch_size", "32", "--max_batches", "3", "--controller_train_steps", "3", "--derive_samples", "4",
            "--no_progress", "--no_plots", "--save", str(out)]
    assert run(argv) == 0
    load_genotype(out / "genotype.json").validate()
    assert (out / "checkpoint.pt").is_file()


@pytest.mark.parametrize("extra,message", [
    (["--strategy", "evolution", "--benchmark", "x.csv"], "spaces that can: nb201"),
    (["--space", "nb201", "--partial_channels", "2"], "--partial_channels belongs to space darts"),
    (["--strategy", "random", "--unrolled"], "--unrolled belongs to strategy darts"),
    (["--strategy", "enas", "--partial_channels", "2"], "belongs to DARTS's supernet"),
])
def test_contradictory_flags(tmp_path, extra, message, capsys):
    assert run(["--dataset", "digits", "--save", str(tmp_path / "x")] + extra) == 2
    assert message in capsys.readouterr().err
