"""train_final.py --time_budget: the epoch count fixed from the first epoch's time equals a run given that
count from the start (schedule, drop path ramp, weights), survives a resume, and bad budgets are refused."""
import json

import pytest
import torch

import train_final
from darts import final_training
from darts.final_training import FinalTraining, epochs_within
from darts.runs import run_cli
from tests.test_train_final import interrupted_after

TINY = ["--dataset", "digits", "--layers", "3", "--init_channels", "4", "--batch_size", "32", "--max_batches", "2",
        "--drop_path_prob", "0.3", "--no_progress"]


def test_epochs_within_counts_whole_epochs_between_one_and_the_cap():
    assert epochs_within(100.0, 30.0, 10) == 3
    assert epochs_within(10.0, 30.0, 10) == 1  # the epoch already done counts
    assert epochs_within(1000.0, 1.0, 5) == 5
    assert epochs_within(90.0, 30.0, 10) == 3


def _history(run) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (run / "history.jsonl").read_text().splitlines()]


def test_budgeted_run_equals_a_run_given_its_epoch_count(tmp_path, monkeypatch):
    train_final.main(TINY + ["--epochs", "3", "--save", str(tmp_path / "fixed")])
    seen = []

    def three(budget, first, cap):  # the first epoch "took" a third of the budget
        seen.append((budget, cap))
        return epochs_within(budget, budget / 3, cap)

    monkeypatch.setattr(final_training, "epochs_within", three)
    train_final.main(TINY + ["--epochs", "10", "--time_budget", "2", "--save", str(tmp_path / "budget")])
    assert seen == [(120.0, 10)]
    fixed, budget = _history(tmp_path / "fixed"), _history(tmp_path / "budget")
    assert [r["epoch"] for r in budget] == [0, 1, 2]
    assert [r["lr"] for r in budget] == [r["lr"] for r in fixed]  # cosine over 3 epochs, not 10
    assert [r["drop_path_prob"] for r in budget] == [r["drop_path_prob"] for r in fixed]
    assert budget == fixed
    a = torch.load(tmp_path / "fixed" / "weights.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "budget" / "weights.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resumed_budgeted_run_keeps_its_epoch_count(tmp_path, monkeypatch):
    monkeypatch.setattr(final_training, "epochs_within", lambda budget, first, cap: 3)
    monkeypatch.setattr(FinalTraining, "train_epoch", interrupted_after(2))
    with pytest.raises(KeyboardInterrupt):
        train_final.main(TINY + ["--epochs", "10", "--time_budget", "1", "--save", str(tmp_path / "split")])
    monkeypatch.undo()
    # the resumed process would plan differently; it must not plan again
    monkeypatch.setattr(final_training, "epochs_within", lambda budget, first, cap: 7)
    train_final.main(["--resume", str(tmp_path / "split"), "--no_progress"])
    assert [r["epoch"] for r in _history(tmp_path / "split")] == [0, 1, 2]
    assert torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=False)["planned_epochs"] == 3


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan"])
def test_bad_time_budget_is_a_one_line_error_that_creates_nothing(tmp_path, capsys, value):
    assert run_cli(train_final.main, TINY + ["--time_budget", value, "--save", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --time_budget") and "\n" not in err
    assert not (tmp_path / "out").exists()
