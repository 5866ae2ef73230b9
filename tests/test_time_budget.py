"""train_final.py --time_budget: the plan fixed from the first epoch's times (whole epochs, then the batches
of one more that fit) equals a run given that plan from the start (schedule, drop path ramp, weights), survives
a resume, is shortened when later epochs run slower and lengthened (up to --epochs) when they run faster, and bad
budgets are refused."""
import json
import math

import pytest
import torch

import train_final
from darts import final_training
from darts.data.batches import BatchStream
from darts.final_training import FinalTraining, epochs_within, planned_batches
from darts.runs import run_cli
from tests.test_train_final import interrupted_after

TINY = ["--dataset", "digits", "--layers", "3", "--init_channels", "4", "--batch_size", "32", "--max_batches", "2",
        "--drop_path_prob", "0.3", "--no_progress"]


def test_epochs_within_counts_whole_epochs_then_the_part_of_one_more_that_fits_with_its_test():
    assert epochs_within(90.0, 25.0, 5.0, 10) == 3.0
    assert epochs_within(102.5, 25.0, 5.0, 10) == 3.3  # 12.5 s left: a test (5 s) and 7.5 s of training
    assert epochs_within(94.0, 25.0, 5.0, 10) == 3.0  # 4 s left: not even the test fits
    assert epochs_within(98.0, 25.0, 5.0, 10) == 3.0  # 8 s left: 3 s of training would pay a 5 s test
    assert epochs_within(119.0, 25.0, 5.0, 10) == 3.96
    assert epochs_within(10.0, 30.0, 1.0, 10) == 1.0  # the epoch already done counts
    assert epochs_within(1000.0, 1.0, 0.0, 5) == 5.0
    # a plan never overruns: its training and tests take at most the budget
    for budget, train, test in [(100.0, 25.0, 5.0), (3060.0, 174.0, 8.0), (977.0, 13.0, 0.7)]:
        e = epochs_within(budget, train, test, 1000)
        assert e * train + math.ceil(e) * test <= budget + 1e-9


def test_planned_batches_cuts_the_last_epoch():
    assert planned_batches(3.0, 10) == (3, None)
    assert planned_batches(3.2, 10) == (4, 2)
    assert planned_batches(3.04, 10) == (3, None)  # less than half a batch: no fourth epoch
    assert planned_batches(3.97, 10) == (4, None)  # rounds up to a whole epoch
    assert planned_batches(1.0, 625) == (1, None)


def _first_plan_only(monkeypatch) -> None:
    """Later epochs keep the first plan (these tiny epochs take milliseconds, not the seconds the faked first
    plan assumes, so a re-count would lengthen it; re-planning is tested below with paced epochs)."""
    monkeypatch.setattr(FinalTraining, "_replan", lambda self, seconds, *_: None)


def _history(run) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (run / "history.jsonl").read_text().splitlines()]


def test_budgeted_run_equals_a_run_given_its_epoch_count(tmp_path, monkeypatch):
    train_final.main(TINY + ["--epochs", "3", "--save", str(tmp_path / "fixed")])
    seen = []

    def three(budget, train, test, cap):  # the first epoch "took" a third of the budget
        seen.append((budget, cap))
        return epochs_within(budget, budget / 3 - test, test, cap)

    monkeypatch.setattr(final_training, "epochs_within", three)
    _first_plan_only(monkeypatch)
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


def test_resumed_budgeted_run_keeps_its_plan_and_equals_the_uninterrupted_run(tmp_path, monkeypatch):
    monkeypatch.setattr(final_training, "epochs_within", lambda budget, train, test, cap: 2.5)
    _first_plan_only(monkeypatch)
    train_final.main(TINY + ["--epochs", "10", "--time_budget", "1", "--save", str(tmp_path / "whole")])
    monkeypatch.setattr(FinalTraining, "train_epoch", interrupted_after(2))
    with pytest.raises(KeyboardInterrupt):
        train_final.main(TINY + ["--epochs", "10", "--time_budget", "1", "--save", str(tmp_path / "split")])
    monkeypatch.undo()
    # the resumed process would plan differently; it must not plan again
    monkeypatch.setattr(final_training, "epochs_within", lambda budget, train, test, cap: 7.0)
    _first_plan_only(monkeypatch)
    train_final.main(["--resume", str(tmp_path / "split"), "--no_progress"])
    assert [r["epoch"] for r in _history(tmp_path / "split")] == [0, 1, 2]
    state = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)
    assert (state["planned_epochs"], state["last_epoch_batches"]) == (3, 1)
    assert _history(tmp_path / "split") == _history(tmp_path / "whole")
    a = torch.load(tmp_path / "whole" / "weights.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "split" / "weights.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_cut_last_epoch_trains_its_batches_and_ends_the_cosine_schedule_with_them(tmp_path, monkeypatch):
    monkeypatch.setattr(final_training, "epochs_within", lambda budget, train, test, cap: 2.5)
    _first_plan_only(monkeypatch)
    drawn, epoch = [], BatchStream.epoch

    def counted(stream, max_batches=None):
        batches = list(epoch(stream, max_batches))
        drawn.append(len(batches))
        return iter(batches)

    monkeypatch.setattr(BatchStream, "epoch", counted)
    train_final.main(TINY + ["--epochs", "10", "--time_budget", "1", "--save", str(tmp_path / "cut"),
                             "--learning_rate", "0.1"])
    rows = _history(tmp_path / "cut")
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert drawn == [2, 2, 1]  # --max_batches 2 per whole epoch, one in the cut last epoch
    # the cosine spans 2.5 epochs: the last (cut) epoch starts at epoch 2 of 2.5
    assert [r["lr"] for r in rows] == pytest.approx([0.1 * (1 + math.cos(math.pi * k / 2.5)) / 2 for k in range(3)])


def _paced(monkeypatch, first: tuple[float, float], later: float) -> None:
    """The first epoch "took" first = (train, test) seconds and every later one `later` seconds."""
    plan, replan = FinalTraining._plan_epochs, FinalTraining._replan
    monkeypatch.setattr(FinalTraining, "_plan_epochs", lambda self, train, test, *_: plan(self, *first))
    monkeypatch.setattr(FinalTraining, "_replan", lambda self, seconds, *_: replan(self, later))


def test_epochs_slower_than_the_first_shorten_the_plan_and_the_cosine_ends_with_it(tmp_path, monkeypatch):
    _paced(monkeypatch, (14.0, 1.0), 25.0)  # 4 epochs of 15 s fit a minute; at 25 s the third ends it
    train_final.main(TINY + ["--epochs", "10", "--time_budget", "1", "--save", str(tmp_path / "slow"),
                             "--learning_rate", "0.1"])
    rows = _history(tmp_path / "slow")
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    # after epoch 1 (15 + 25 s spent, 20 s left, epochs now 20 s): one more epoch, the cosine re-spans 3 epochs
    lr1 = 0.1 * (1 + math.cos(math.pi / 4)) / 2
    assert [r["lr"] for r in rows] == pytest.approx([0.1, lr1, lr1 * (1 + math.cos(2 * math.pi / 3))
                                                     / (1 + math.cos(math.pi / 3))])
    state = torch.load(tmp_path / "slow" / "checkpoint.pt", weights_only=True)
    assert (state["planned_epochs"], state["last_epoch_batches"]) == (3, None)
    assert state["epoch_seconds"] == [15.0, 25.0, 25.0]
    assert state["scheduler"]["T_max"] == 3.0


def test_epochs_faster_than_the_first_lengthen_the_plan_up_to_the_epochs_given(tmp_path, monkeypatch):
    _paced(monkeypatch, (14.0, 1.0), 5.0)  # 4 epochs of 15 s fit a minute; after the second, 8 more of 5 s fit
    train_final.main(TINY + ["--epochs", "10", "--time_budget", "1", "--save", str(tmp_path / "fast"),
                             "--learning_rate", "0.1"])
    rows = _history(tmp_path / "fast")
    assert [r["epoch"] for r in rows] == list(range(10))
    # the plan (the cosine's span) grows with the time left at the last three epochs' pace: 4 epochs after the
    # first (15 s), then 6 (40 s left at 10 s), 7 (35 s at 8.33 s: 4 epochs and a cut fifth of no batch), 10
    spans = [4, 6, 7] + [10] * 7
    expected = [0.1]
    for k in range(1, 10):  # torch's recursive cosine, each step under the span then planned
        t = spans[k - 1]
        expected.append(expected[-1] * (1 + math.cos(math.pi * k / t)) / (1 + math.cos(math.pi * (k - 1) / t)))
    assert [r["lr"] for r in rows] == pytest.approx(expected)
    state = torch.load(tmp_path / "fast" / "checkpoint.pt", weights_only=True)
    assert state["scheduler"]["T_max"] == 10.0 and sum(state["epoch_seconds"]) == 15.0 + 9 * 5.0  # the minute
    _paced(monkeypatch, (14.0, 1.0), 5.0)
    train_final.main(TINY + ["--epochs", "6", "--time_budget", "1", "--save", str(tmp_path / "capped")])
    assert [r["epoch"] for r in _history(tmp_path / "capped")] == list(range(6))  # never past --epochs


def test_a_plan_follows_epochs_that_slow_down_then_speed_up(tmp_path, monkeypatch):
    """Seed 16's laptop run: slow early epochs shortened the plan, and when they sped up the time was left
    unspent; now the plan grows back."""
    plan, replan = FinalTraining._plan_epochs, FinalTraining._replan
    pace = iter([25.0, 25.0, 25.0] + [5.0] * 20)  # epochs 1-3 slow, then fast
    monkeypatch.setattr(FinalTraining, "_plan_epochs", lambda self, train, test, *_: plan(self, 9.0, 1.0))
    monkeypatch.setattr(FinalTraining, "_replan", lambda self, seconds, *_: replan(self, next(pace)))
    train_final.main(TINY + ["--epochs", "30", "--time_budget", "2", "--save", str(tmp_path / "run")])
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    spent = sum(state["epoch_seconds"])
    assert spent <= 120.0 and 120.0 - spent < 5.0  # within the budget, less than a (fast) epoch left unspent
    assert state["epoch_seconds"][:4] == [10.0, 25.0, 25.0, 25.0] and len(state["epoch_seconds"]) > 6


def test_a_resumed_run_with_a_shortened_plan_equals_the_uninterrupted_one(tmp_path, monkeypatch):
    _paced(monkeypatch, (14.0, 1.0), 25.0)
    train_final.main(TINY + ["--epochs", "10", "--time_budget", "1", "--save", str(tmp_path / "whole")])
    monkeypatch.setattr(FinalTraining, "train_epoch", interrupted_after(2))  # after the plan was shortened
    with pytest.raises(KeyboardInterrupt):
        train_final.main(TINY + ["--epochs", "10", "--time_budget", "1", "--save", str(tmp_path / "split")])
    monkeypatch.undo()
    _paced(monkeypatch, (14.0, 1.0), 25.0)
    train_final.main(["--resume", str(tmp_path / "split"), "--no_progress"])
    assert _history(tmp_path / "split") == _history(tmp_path / "whole")
    a = torch.load(tmp_path / "whole" / "weights.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "split" / "weights.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan"])
def test_bad_time_budget_is_a_one_line_error_that_creates_nothing(tmp_path, capsys, value):
    assert run_cli(train_final.main, TINY + ["--time_budget", value, "--save", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --time_budget") and "\n" not in err
    assert not (tmp_path / "out").exists()
