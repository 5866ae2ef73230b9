"""Cases of the hostile-input battery (benchmarks/hostile_inputs.py) that found a traceback, a changed folder or
an unnamed library error: each now ends in one line before anything is written."""
import numpy as np
import pytest

from darts import api
from darts.cli import lm, search as search_cli, train as train_cli
from darts.errors import InvalidArgument, UserError
from darts.runs import run_cli
from tests.test_bad_input import TINY, TINY_FINAL, refused


def test_an_empty_npz_file_is_one_line(tmp_path, capsys):
    (tmp_path / "d.npz").write_bytes(b"")
    refused(search_cli.main, TINY[2:] + ["--dataset", "npz", "--data", str(tmp_path / "d.npz"), "--save",
                                         str(tmp_path / "run")], capsys, tmp_path, "is not a .npz file")
    assert not (tmp_path / "run").exists()


def test_an_ops_module_that_is_not_python_is_one_line(tmp_path, capsys):
    (tmp_path / "m.py").write_text("def broken(:\n")
    refused(search_cli.main, TINY + ["--ops_module", str(tmp_path / "m.py"), "--save", str(tmp_path / "run")],
            capsys, tmp_path, "at line 1")
    assert not (tmp_path / "run").exists()


def write_npz(path, n):
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 255, (n, 8, 8, 1), dtype=np.uint8), y=np.arange(n) % 2)


def test_a_train_portion_leaving_a_split_too_small_is_refused_before_the_folder(tmp_path, capsys):
    write_npz(tmp_path / "d.npz", 40)
    refused(search_cli.main, TINY[2:] + ["--dataset", "npz", "--data", str(tmp_path / "d.npz"), "--train_portion",
                                         "0.01", "--save", str(tmp_path / "run")], capsys, tmp_path, "fewer than 2")
    assert not (tmp_path / "run").exists()


def test_retraining_without_test_images_is_one_line(tmp_path, capsys):
    write_npz(tmp_path / "d.npz", 2)
    argv = ["--arch", "DARTS_V2"] + TINY_FINAL[2:] + ["--dataset", "npz", "--data", str(tmp_path / "d.npz"),
                                                      "--save", str(tmp_path / "run")]
    refused(train_cli.main, argv, capsys, tmp_path, "test split holds no image")
    assert not (tmp_path / "run").exists()


def test_the_language_model_resumes_its_own_folder_only():
    with pytest.raises(UserError, match="leave out --save"):
        lm.settings_from_argv(["--dataset", "ptb", "--resume", "a-run", "--save", "another"])


def test_a_finished_run_whose_last_row_was_cut_is_refused_and_left_as_it_is(tmp_path, capsys):
    run = tmp_path / "run"
    assert run_cli(search_cli.main, TINY + ["--save", str(run)]) == 0
    alphas = run / "alphas.jsonl"
    alphas.write_bytes(alphas.read_bytes()[:-40])
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    capsys.readouterr()
    assert run_cli(search_cli.main, ["--resume", str(run), "--no_progress"]) == 2
    assert "lacks the rows" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before  # log.txt included


def test_a_network_too_wide_for_memory_is_a_named_library_error():
    with pytest.raises(InvalidArgument, match="init_channels 100000"):
        api.build_network("DARTS_V2", 1, 10, init_channels=100000, layers=3)


def test_library_errors_name_the_argument_as_typed(tmp_path):
    net = api.build_network("DARTS_V2", 1, 10, init_channels=4, layers=3)
    with pytest.raises(InvalidArgument, match="label_smoothing 2"):
        api.train(net, api.load_data("digits"), epochs=1, batch_size=4, save=tmp_path / "run", label_smoothing=2)
    with pytest.raises(UserError, match="fmt 'bogus'"):
        api.render("DARTS_V2", tmp_path / "fig", fmt="bogus")
    assert not (tmp_path / "run").exists()


def test_a_tensorboard_folder_that_is_a_file_or_a_missing_package_is_refused_first(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    refused(search_cli.main, TINY + ["--tensorboard", str(tmp_path / "f"), "--save", str(tmp_path / "run")],
            capsys, tmp_path, "tensorboard")
    assert not (tmp_path / "run").exists()


def test_drawing_into_a_file_is_one_line(tmp_path, capsys):
    from visualize.__main__ import main
    (tmp_path / "f").write_text("x")
    assert main(["DARTS_V2", "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and len(err.strip().splitlines()) == 1


def test_a_config_with_a_setting_no_search_has_is_refused(tmp_path, capsys):
    import json
    (tmp_path / "a.json").write_text(json.dumps({"epochs": 1, "learning_rat": 0.1}))
    refused(search_cli.main, TINY + ["--config", str(tmp_path / "a.json"), "--save", str(tmp_path / "run")],
            capsys, tmp_path, "learning_rat")
    assert not (tmp_path / "run").exists()
