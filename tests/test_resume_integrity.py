"""A resume continues only its own run: the library refuses changed settings as the command line does and
leaves args.json for it; a checkpoint of another run (first vs second order, a search's in a retraining or
language-model folder) or one that is no file is refused with one line before anything is written; a JSON-lines
file whose last row a kill cut is repaired on resume; a saved run's --ops_module is imported only when given."""
import json
import shutil
from pathlib import Path

import pytest
import torch

import train_final
import train_search
from darts import api
from darts import checkpoint
from darts.checkpoint import read_jsonl, write_jsonl
from darts.errors import UserError
from darts.runs import run_cli
from tests.test_bad_input import TINY, TINY_FINAL, refused, snapshot
from tests.test_rnn import write_corpus
from tests.test_preparation_order import LM

LIBRARY = dict(dataset="digits", layers=3, init_channels=4, batch_size=16, epochs=1, max_batches=1, no_plots=True,
               progress=False, log_to_console=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Finished tiny runs: first- and second-order searches, a retraining and a language model."""
    root = tmp_path_factory.mktemp("runs")
    one = ["--max_batches", "1"]
    assert run_cli(train_search.main, TINY + one + ["--save", str(root / "first")]) == 0
    assert run_cli(train_search.main, TINY + one + ["--unrolled", "--save", str(root / "second")]) == 0
    assert run_cli(train_final.main, ["--arch", "DARTS_V2"] + TINY_FINAL + one + ["--save", str(root / "final")]) == 0
    corpus = write_corpus(root / "corpus")
    assert run_cli(train_final.main, ["--dataset", "ptb"] + LM + ["--data", str(corpus), "--save",
                                                                  str(root / "lm")]) == 0
    return root


def copy_run(runs: Path, name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(runs / name, tmp_path / name))


def test_second_order_checkpoint_in_a_first_order_folder_is_refused(runs, tmp_path, capsys):
    folder = copy_run(runs, "first", tmp_path)
    shutil.copy(runs / "second" / "checkpoint.pt", folder / "checkpoint.pt")
    refused(train_search.main, ["--resume", str(folder)], capsys, tmp_path, "unrolled")


@pytest.mark.parametrize("target", ["final", "lm"])
def test_retraining_and_language_model_refuse_a_search_checkpoint(runs, tmp_path, capsys, target):
    folder = copy_run(runs, target, tmp_path)
    shutil.copy(runs / "first" / "checkpoint.pt", folder / "checkpoint.pt")
    refused(train_final.main, ["--resume", str(folder)], capsys, tmp_path, "checkpoint")


@pytest.mark.parametrize("target", ["final", "lm", "first"])
def test_a_checkpoint_that_is_a_folder_is_refused_before_anything_is_written(runs, tmp_path, capsys, target):
    folder = copy_run(runs, target, tmp_path)
    (folder / "checkpoint.pt").unlink()
    (folder / "checkpoint.pt").mkdir()
    main = train_search.main if target == "first" else train_final.main
    refused(main, ["--resume", str(folder)], capsys, tmp_path, "not a checkpoint file")


@pytest.mark.parametrize("target,name", [("final", "history.jsonl"), ("lm", "history.jsonl"),
                                         ("first", "alphas.jsonl")])
def test_a_cut_last_row_is_repaired_on_resume(runs, tmp_path, target, name):
    folder = copy_run(runs, target, tmp_path)
    path = folder / name
    rows = read_jsonl(path)
    path.write_bytes(path.read_bytes() + b'{"epoch": 1, "train_lo')  # a row cut by a kill
    main = train_search.main if target == "first" else train_final.main
    assert run_cli(main, ["--resume", str(folder)]) == 0
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == rows  # every line readable, no epoch twice


def test_repair_drops_rows_beyond_the_checkpoint_and_a_cut_line(tmp_path):
    path = tmp_path / "history.jsonl"
    write_jsonl(path, [{"epoch": 0}, {"epoch": 1}, {"epoch": 2}])
    path.write_bytes(path.read_bytes() + b'{"epoch": 3, "lo')
    assert checkpoint.repair_jsonl(path, lambda row: row["epoch"] < 2) == [{"epoch": 0}, {"epoch": 1}]
    assert path.read_text() == '{"epoch": 0}\n{"epoch": 1}\n'
    before = path.stat().st_mtime_ns
    checkpoint.repair_jsonl(path)  # an intact file is left alone
    assert path.stat().st_mtime_ns == before


def test_library_search_resume_refuses_another_learning_rate(runs, tmp_path):
    folder = tmp_path / "lib"
    api.search(save=folder, **LIBRARY)
    before = snapshot(folder)
    with pytest.raises(UserError, match="learning_rate"):
        api.search(save=folder, resume=True, learning_rate=0.5, **LIBRARY)
    assert snapshot(folder) == before


def test_library_search_resume_of_a_folder_without_args_writes_them(tmp_path, capsys):
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "log.txt").write_text("")  # a first attempt that died before writing anything else
    api.search(save=folder, resume=True, **LIBRARY)
    assert json.loads((folder / "args.json").read_text())["layers"] == 3
    assert run_cli(train_search.main, ["--resume", str(folder)]) == 0, capsys.readouterr().err


def test_library_training_resume_refuses_another_learning_rate(tmp_path):
    g = torch.Generator().manual_seed(0)
    data = (torch.rand(20, 1, 8, 8, generator=g), torch.arange(20) % 2)
    net = api.build_network("DARTS_V2", 1, 2, init_channels=4, layers=3)
    options = dict(epochs=1, batch_size=8, device="cpu", max_batches=1, progress=False)
    api.train(net, data, save=tmp_path / "out", **options)
    before = snapshot(tmp_path / "out")
    with pytest.raises(UserError, match="learning_rate"):
        api.train(net, data, save=tmp_path / "out", resume=True, learning_rate=0.5, **options)
    assert snapshot(tmp_path / "out") == before


@pytest.mark.parametrize("how", ["--resume", "--config"])
def test_a_saved_ops_module_is_imported_only_when_given(runs, tmp_path, capsys, how):
    folder = copy_run(runs, "first", tmp_path)
    marker = tmp_path / "ran"
    module = tmp_path / "their_ops.py"
    module.write_text(f"open({str(marker)!r}, 'w').close()\n")
    args = json.loads((folder / "args.json").read_text())
    (folder / "args.json").write_text(json.dumps({**args, "ops_module": [str(module)]}))
    argv = ["--resume", str(folder)] if how == "--resume" else \
        ["--config", str(folder / "args.json"), "--save", str(tmp_path / "new")]
    refused(train_search.main, argv, capsys, tmp_path, f"--ops_module {module}")
    assert not marker.exists() and not (tmp_path / "new").exists()


def test_a_sample_search_repairs_a_cut_history_row_on_resume(tmp_path):
    from darts.strategies.base import run_strategy
    from darts.strategies.registry import build_strategy
    from tests.test_strategies import ToySpace, ToyTable
    history = tmp_path / "history.jsonl"
    run_strategy(build_strategy("random", ToySpace(), seed=1), ToyTable(), 3, history, progress=False)
    rows = read_jsonl(history)
    history.write_bytes(history.read_bytes() + b'{"step": 3, "ar')  # a row cut by a kill
    run_strategy(build_strategy("random", ToySpace(), seed=1), ToyTable(), 3, history, progress=False)
    assert [json.loads(line) for line in history.read_text().splitlines()] == rows
