"""--max_batches caps every loop a search runs: the shared-weight, controller and derivation steps of ENAS and
each low-fidelity trial's training and validation batches, so a smoke run with a small cap stays short."""
import json
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from darts import api
from darts.data import BatchStream
from darts.evaluators.language_model import LmEvaluator
from darts.evaluators.training import TrainingEvaluator
from darts.language_task import LMOutput
from darts.plugins import import_plugin
from darts.runs import RunDir
from darts.spaces.nb201 import Nb201ArchSpace, Nb201SearchNetwork
from darts.strategies.enas import EnasConfig, EnasSearch
from darts.training import ImageClassification

PLUGIN = Path(__file__).resolve().parent / "toy_space_plugin.py"
import_plugin(PLUGIN)  # the toy space: the fastest supernet


def counting(monkeypatch, cls, method: str) -> list:
    """Record the return value of every call of `cls.method` (the list grows by one per call)."""
    calls, original = [], getattr(cls, method)

    def wrapped(self, *args, **kwargs):
        calls.append(original(self, *args, **kwargs))
        return calls[-1]
    monkeypatch.setattr(cls, method, wrapped)
    return calls


def tiny_enas(folder, max_batches):
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (96, 1, 8, 8), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 3, (96,), generator=g)
    train = BatchStream(x[:48], y[:48], 8, (0.5,), (0.25,), seed=1)  # 6 batches an epoch
    val = BatchStream(x[48:], y[48:], 8, (0.5,), (0.25,), seed=2)
    model = Nb201SearchNetwork(C=4, N=1, num_classes=3, in_channels=1)
    config = EnasConfig(epochs=2, controller_steps=6, derive_samples=5, controller_hidden=16, progress=False,
                        max_batches=max_batches)
    return EnasSearch(model, Nb201ArchSpace(), ImageClassification(), train, val, config, RunDir(folder))


@pytest.mark.parametrize("max_batches, steps, derived", [(2, 2, 2), (None, 6, 5)])
def test_enas_caps_shared_controller_and_derive_steps(tmp_path, monkeypatch, max_batches, steps, derived):
    shared = counting(monkeypatch, EnasSearch, "shared_step")
    controller = counting(monkeypatch, EnasSearch, "controller_step")
    search = tiny_enas(tmp_path, max_batches)
    search.run()
    search.run_dir.close()
    assert len(shared) == 2 * min(6, max_batches or 6)
    assert len(controller) == 2 * steps
    history = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in history] == [0] * steps + [1] * steps
    assert len(json.loads((tmp_path / "derive.json").read_text())["samples"]) == derived


def test_the_library_caps_enas_with_its_default_controller_steps(tmp_path, monkeypatch):
    """300 controller steps and 100 derived samples by default: --max_batches 2 leaves 2 of each."""
    controller = counting(monkeypatch, EnasSearch, "controller_step")
    full = api.load_data("digits")
    data = api.as_image_dataset((full.train_x[:64], full.train_y[:64]))
    api.search(data, space="toy", strategy="enas", epochs=2, max_batches=2, batch_size=16, device="cpu",
               no_progress=True, no_plots=True, save=tmp_path / "s")
    assert len(controller) == 2 * 2
    assert len(json.loads((tmp_path / "s" / "derive.json").read_text())["samples"]) == 2


class CountingNet(nn.Module):
    """A linear classifier counting its forward passes in training and in evaluation mode."""

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.fc = nn.Linear(in_channels * 4 * 4, num_classes)
        self.calls = {True: 0, False: 0}

    def forward(self, x):
        self.calls[self.training] += 1
        return self.fc(x.flatten(1))


def image_evaluator(max_batches, built):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(100, 1, 4, 4, generator=g), torch.randint(0, 3, (100,), generator=g)

    def build(arch, c, k):
        built.append(CountingNet(c, k))
        return built[-1]
    # 60 training images in batches of 10: 6 steps an epoch, 12 in 2 epochs; validation: 2 batches of 20
    return TrainingEvaluator(build, x[:60], y[:60], x[60:], y[60:], epochs=2, batch_size=10, num_classes=3,
                             max_batches=max_batches)


@pytest.mark.parametrize("max_batches, train, valid", [(1, 1, 1), (3, 3, 2), (7, 7, 2), (None, 12, 2)])
def test_a_training_trial_trains_and_validates_at_most_max_batches(max_batches, train, valid):
    built = []
    evaluator = image_evaluator(max_batches, built)
    assert 0 <= evaluator.evaluate("arch") <= 100
    assert built[0].calls == {True: train, False: valid}
    assert (f"max{max_batches}batches" in evaluator.name) == (max_batches is not None)


def test_the_cosine_reaches_its_end_within_the_cap(monkeypatch):
    """Capped at 3 steps of 12, the learning rate still anneals over the steps it runs (0.1, 0.075, 0.025)."""
    lrs = []
    monkeypatch.setattr("darts.evaluators.training.weight_step",
                        lambda params, loss, opt, clip: lrs.append(round(opt.param_groups[0]["lr"], 6)))
    image_evaluator(3, []).evaluate("arch")
    assert lrs == [0.1, 0.075, 0.025]


class TinyLm(nn.Module):
    """A language model as the text task calls it, counting its forward passes in each mode."""

    def __init__(self, ntokens=20, nhid=4):
        super().__init__()
        self.embed, self.out = nn.Embedding(ntokens, nhid), nn.Linear(nhid, ntokens)
        self.calls = {True: 0, False: 0}

    def forward(self, tokens, hidden):
        self.calls[self.training] += 1
        h = self.embed(tokens)
        return LMOutput(self.out(h), h[-1], h, h)


def test_a_language_model_trial_trains_and_validates_at_most_max_batches():
    tokens = torch.randint(0, 20, (3000,), generator=torch.Generator().manual_seed(0))
    built = []

    def build(arch):
        built.append(TinyLm())
        return built[-1]
    evaluator = LmEvaluator(build, tokens[:2000], tokens[2000:], train_batches=10, valid_batches=8, batch_size=4,
                            bptt=5, max_batches=3)
    evaluator.evaluate("arch")
    assert built[0].calls == {True: 3, False: 3}
    uncapped = LmEvaluator(build, tokens[:2000], tokens[2000:], train_batches=10, valid_batches=8, batch_size=4,
                           bptt=5)
    uncapped.evaluate("arch")
    assert built[1].calls == {True: 10, False: 8}
    assert evaluator.name != uncapped.name  # a search is not resumed with other rewards


def test_the_command_line_caps_each_low_fidelity_trial(tmp_path, monkeypatch):
    """Two epochs of a trial on half of digits' 1,437 training images (88 steps of 16) capped at 2 steps."""
    from darts.cli.search import main
    from darts.runs import run_cli
    trained = counting(monkeypatch, TrainingEvaluator, "train")
    argv = ["--ops_module", str(PLUGIN), "--space", "toy", "--strategy", "random", "--dataset", "digits",
            "--budget", "3", "--fidelity_epochs", "2", "--batch_size", "16", "--no_progress", "--no_plots",
            "--save", str(tmp_path / "s")]
    assert run_cli(main, argv + ["--max_batches", "2"]) == 0
    assert trained == [2, 2, 2]
    state = torch.load(tmp_path / "s" / "history.state.pt", weights_only=True)
    assert state["evaluator"].endswith(":max2batches")  # what a resume compares: not resumed with other rewards


def test_the_library_keeps_the_cap_of_a_trained_sample_search():
    """A sample search that trains its trials keeps max_batches though it was not typed on a command line; a search
    that reads a table trains nothing and drops it."""
    from darts.settings import resolve_settings
    given = {"space": "nb201", "strategy": "random", "dataset": "digits", "max_batches": 2}
    _, trained = resolve_settings(given)
    assert trained["max_batches"] == 2
    _, tabular = resolve_settings({**given, "benchmark": "table.csv"})
    assert "max_batches" not in tabular
