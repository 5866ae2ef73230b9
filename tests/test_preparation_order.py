"""Every path reads and checks its inputs before its run folder exists: the language model (its corpus, its
genotype, its device), the text search, the sample strategies' options and the library's retraining. A refused
run prints one line and creates no folder."""
from pathlib import Path

import pytest
import torch

import train_final
import train_search
from darts import api
from darts.errors import UserError
from darts.runs import run_cli
from tests.test_rnn import TINY_TEXT, write_corpus

LM = TINY_TEXT[2:] + ["--epochs", "1", "--max_batches", "2"]
DIGITS = ["--dataset", "digits", "--no_progress", "--no_plots", "--max_batches", "1"]


def refused_without_folder(main, argv, capsys, out: Path, needle: str) -> str:
    """Exit status 2, one line naming the problem, and no run folder."""
    assert run_cli(main, argv + ["--save", str(out)]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], lines
    assert not out.exists()
    return lines[0]


def damage(folder: Path, how: str) -> None:
    if how == "empty":
        (folder / "valid.txt").write_text("")
    elif how == "not-utf8":
        (folder / "test.txt").write_bytes(b"the cat \xff\xfe sat\n")
    elif how == "unknown-word":
        (folder / "valid.txt").write_text("the zebra sat\n")


@pytest.mark.parametrize("how,needle", [("empty", "is empty"), ("not-utf8", "UTF-8"),
                                        ("unknown-word", "zebra")])
def test_language_model_refuses_a_bad_corpus_before_its_folder(tmp_path, capsys, how, needle):
    corpus = write_corpus(tmp_path / "corpus")
    damage(corpus, how)
    refused_without_folder(train_final.main, ["--dataset", "ptb"] + LM + ["--data", str(corpus)], capsys,
                           tmp_path / "out", needle)


def test_language_model_refuses_a_corpus_too_short_for_the_batch(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "corpus")
    refused_without_folder(train_final.main, ["--dataset", "ptb"] + LM + ["--data", str(corpus),
                                                                          "--test_batch_size", "5000"],
                           capsys, tmp_path / "out", "too few for batch size 5000")


@pytest.mark.parametrize("extra,needle", [(["--arch", "NASNet"], "convolutional genotype"),
                                          (["--arch", "Genotype(recurrent=[("], "genotype text"),
                                          (["--device", "mps"], "mps")])
def test_language_model_refuses_a_bad_genotype_or_device_before_its_folder(tmp_path, capsys, extra, needle):
    corpus = write_corpus(tmp_path / "corpus")
    refused_without_folder(train_final.main, ["--dataset", "ptb"] + LM + ["--data", str(corpus)] + extra, capsys,
                           tmp_path / "out", needle)


def test_text_search_refuses_a_corpus_too_short_before_its_folder(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "corpus", n_lines=(60, 2, 2))
    refused_without_folder(train_search.main, TINY_TEXT + ["--data", str(corpus), "--epochs", "1",
                                                           "--batch_size", "8"],
                           capsys, tmp_path / "out", "valid split")


@pytest.mark.parametrize("extra,needle", [
    (["--strategy", "evolution", "--evolution_population_size", "0"], "population_size"),
    (["--strategy", "bo", "--bo_sampler", "bogus"], "bogus"),
])
def test_sample_strategy_options_are_checked_before_the_folder(tmp_path, capsys, extra, needle):
    refused_without_folder(train_search.main, DIGITS + ["--space", "nb201", "--budget", "1"] + extra, capsys,
                           tmp_path / "out", needle)


def test_library_training_checks_its_settings_before_the_folder(tmp_path):
    g = torch.Generator().manual_seed(0)
    data = (torch.rand(20, 1, 8, 8, generator=g), torch.arange(20) % 2)
    net = api.build_network("DARTS_V2", 1, 2, init_channels=4, layers=3)
    with pytest.raises(UserError, match="lr_schedule 'bogus' is not one of"):
        api.train(net, data, epochs=1, batch_size=4, save=tmp_path / "out", lr_schedule="bogus", device="cpu")
    assert not (tmp_path / "out").exists()
