"""Bad option values and inputs are refused with one line before anything is created: every numeric option's
declared range (finite, positive where it must be), the strategies' own rules, sizes that cannot fit in
memory, labels that would size the classifier, genotype texts, and Ctrl-C while the commands import."""
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from darts.cli import search as search_cli
from darts.cli import train as train_cli
from darts.errors import InvalidArgument, UserError
from darts.genotype import parse_genotype
from darts.runs import run_cli
from tests.conftest import ROOT


def refused(main, argv, tmp_path, capsys) -> str:
    """The one-line error of `main` on argv + --save, checking that the --save folder was not created."""
    save = tmp_path / "run"
    assert run_cli(main, argv + ["--save", str(save)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not save.exists()
    return err


@pytest.mark.parametrize("argv, words", [
    (["--learning_rate", "inf"], ["--learning_rate", "finite"]),
    (["--arch_learning_rate", "nan"], ["--arch_learning_rate", "finite"]),
    (["--train_portion", "0"], ["--train_portion", "above 0"]),
    (["--strategy", "evolution", "--evolution_population_size", "0"], ["--evolution_population_size", "at least 1"]),
    (["--strategy", "evolution", "--evolution_sample_size", "50"], ["--evolution_sample_size 50", "population"]),
    (["--strategy", "ppo", "--ppo_clip", "1"], ["--ppo_clip", "below 1"]),
    (["--strategy", "enas", "--controller_bl_dec", "1"], ["--controller_bl_dec", "below 1"]),
])
def test_search_options_out_of_range_are_refused_first(argv, words, tmp_path, capsys):
    err = refused(search_cli.main, argv, tmp_path, capsys)
    assert all(w in err for w in words), err


def test_a_choice_of_a_sample_strategy_is_checked(tmp_path):
    from darts.settings import resolve_settings
    with pytest.raises(InvalidArgument, match="--bo_sampler 'bogus' is not one of: tpe, gp"):
        resolve_settings({"strategy": "bo", "bo_sampler": "bogus"})
    with pytest.raises(SystemExit):  # argparse's choices on the command line
        search_cli.settings_from_argv(["--strategy", "bo", "--bo_sampler", "bogus", "--save", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()


def test_the_search_streams_refuse_a_train_portion_with_one_line():
    import torch
    from darts.data.arrays import make_image_dataset
    from darts.data.batches import search_streams
    data = make_image_dataset("toy", torch.zeros(8, 1, 4, 4, dtype=torch.uint8), torch.tensor([0, 1] * 4),
                              torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.tensor([0, 1]))
    with pytest.raises(UserError, match="--train_portion 0"):
        search_streams(data, 2, train_portion=0)


@pytest.mark.parametrize("argv, words", [
    (["--dataset", "ptb", "--epochs", "0"], ["--epochs 0", "at least 1"]),
    (["--dataset", "ptb", "--lr", "inf"], ["--lr", "finite"]),
    (["--learning_rate", "inf"], ["--learning_rate", "finite"]),
    (["--grad_clip", "inf"], ["--grad_clip", "finite"]),
])
def test_retraining_and_language_model_options_out_of_range_are_refused_first(argv, words, tmp_path, capsys):
    err = refused(train_cli.main, argv, tmp_path, capsys)
    assert all(w in err for w in words), err


def test_a_network_too_large_for_memory_is_refused_before_it_is_built(tmp_path, capsys):
    err = refused(train_cli.main, ["--init_channels", "100000"], tmp_path, capsys)
    assert "--init_channels 100000" in err and "GiB" in err and "smaller" in err


def test_labels_far_past_the_number_of_images_are_refused(tmp_path, capsys):
    x = np.zeros((12, 8, 8, 3), dtype=np.uint8)
    y = np.arange(12) % 2
    y[0] = 10 ** 9
    np.savez(tmp_path / "big_labels.npz", x=x, y=y)
    err = refused(search_cli.main, ["--dataset", "npz", "--data", str(tmp_path / "big_labels.npz")], tmp_path, capsys)
    assert "labels run up to 1000000000" in err and "12 images" in err


def test_a_genotype_text_range_is_bounded_before_it_is_built():
    text = ('Genotype(normal=[("skip_connect", 0), ("skip_connect", 1)], normal_concat=range(2, 10000000000), '
            'reduce=[("skip_connect", 0), ("skip_connect", 1)], reduce_concat=range(2, 3))')
    with pytest.raises(UserError, match=r"normal_concat: range\(2, 10000000000\) holds 9,999,999,998 nodes"):
        parse_genotype(text)
    assert parse_genotype(text.replace("10000000000", "3")).normal_concat == [2]


def test_ctrl_c_while_the_command_imports_ends_with_one_line():
    process = subprocess.Popen([sys.executable, str(ROOT / "train_search.py"), "--summary"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)  # torch takes longer than this to import
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.startswith("interrupted") and err.count("\n") == 1, err
