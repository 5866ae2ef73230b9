"""train_final.py --cpu_bf16 and --compile: bf16 autocast
on CPU only when asked; the training step's network under torch.compile trains as the eager one does and saves
the network's own weights; the time spent compiling counts against --time_budget but not in an epoch's pace;
contradictory or unrunnable flags are one-line errors that create nothing."""
import pytest
import torch

import train_final
from darts.final_training import FinalTraining, epochs_within, first_step_excess
from darts.runs import run_cli
from darts.training import autocast

BASE = ["--dataset", "digits", "--layers", "3", "--init_channels", "4", "--batch_size", "32", "--max_batches", "3",
        "--drop_path_prob", "0", "--no_progress"]
TINY = BASE + ["--epochs", "1"]


def test_first_step_excess_is_what_the_first_step_took_beyond_the_mean_of_the_others():
    assert first_step_excess(61.0, 99.0, 100) == pytest.approx(60.0)
    assert first_step_excess(0.5, 99.0, 100) == 0.0  # a first step faster than the others: nothing compiled
    assert first_step_excess(5.0, 0.0, 1) == 0.0  # an epoch of one step cannot tell


def test_cpu_bf16_is_asked_for_and_autocasts_the_convolutions():
    parse = train_final.build_parser().parse_args
    cpu = torch.device("cpu")
    assert train_final.precision(parse([]), cpu) == (False, True)  # CPU default: float32
    assert train_final.precision(parse(["--cpu_bf16"]), cpu) == (True, True)
    assert train_final.precision(parse(["--cpu_bf16", "--no_channels_last"]), cpu) == (True, False)
    conv, x = torch.nn.Conv2d(2, 2, 3), torch.randn(1, 2, 5, 5)
    with autocast(cpu, True):
        assert conv(x).dtype == torch.bfloat16
    with autocast(cpu, False):
        assert conv(x).dtype == torch.float32


def test_compiling_counts_against_the_budget_but_not_in_the_pace(tmp_path, monkeypatch):
    """A first epoch of 74 s training (60 of them compiling) and 1 s test, budget 5 min: 240 s remain for epochs
    of 15 s, so 16 in all; counted as a 75-second epoch it would be 4."""
    plan = FinalTraining._plan_epochs
    monkeypatch.setattr(FinalTraining, "_plan_epochs", lambda self, train, test, *_: plan(self, 74.0, 1.0, 60.0))
    monkeypatch.setattr(FinalTraining, "_replan", lambda self, seconds, *_: None)
    train_final.main(BASE + ["--epochs", "30", "--time_budget", "5", "--save", str(tmp_path / "run")])
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["planned_epochs"] == 16 == epochs_within(240.0, 14.0, 1.0, 30)
    assert state["epoch_seconds"] == [75.0] and state["epoch_compile_seconds"] == [60.0]
    assert epochs_within(300.0, 74.0, 1.0, 30) == 4.0


def test_a_recompile_later_is_spent_but_not_paced(tmp_path, monkeypatch):
    """Epochs of 15 s, the second of them 10 s longer for compiling (drop path turning on does that): the budget
    pays 25 s for it, the pace stays 15 s."""
    plan, replan = FinalTraining._plan_epochs, FinalTraining._replan
    extra = iter([10.0] + [0.0] * 20)
    monkeypatch.setattr(FinalTraining, "_plan_epochs", lambda self, train, test, *_: plan(self, 14.0, 1.0, 0.0))
    monkeypatch.setattr(FinalTraining, "_replan",
                        lambda self, seconds, *_: (lambda e: replan(self, 15.0 + e, e))(next(extra)))
    train_final.main(BASE + ["--epochs", "30", "--time_budget", "2", "--save", str(tmp_path / "run")])
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    # after the second epoch 80 s are left at 15 s an epoch: 5 whole and 4 s of training in a cut 8th (1 of 3
    # batches); paced at the 20 s that the two epochs took on average it would be 4 more, 6 in all
    assert (state["planned_epochs"], state["last_epoch_batches"]) == (8, 1)
    assert state["epoch_seconds"] == [15.0, 25.0] + [15.0] * 6
    assert state["epoch_compile_seconds"] == [0.0, 10.0] + [0.0] * 6


def test_epochs_of_a_checkpoint_from_before_compile_times_count_as_compiling_nothing(tmp_path, monkeypatch):
    """Checkpoints written before this counter have none: their epochs count as compiling nothing."""
    t = FinalTraining.__new__(FinalTraining)
    t.epoch_seconds, t.epoch_compile_seconds = [15.0, 15.0], []
    t.epoch, t.planned_epochs, t.epoch_seconds_test = 1, 2, 1.0  # the last planned epoch: no re-plan needed
    monkeypatch.setattr("darts.final_training.all_reduce_sum", lambda d: dict(d))
    monkeypatch.setattr("darts.final_training.world_size", lambda: 1)
    t.config = type("C", (), {"time_budget": 60.0, "epochs": 4})()
    FinalTraining._replan(t, 20.0, 5.0)
    assert t.epoch_seconds == [15.0, 15.0, 20.0] and t.epoch_compile_seconds == [0.0, 0.0, 5.0]


def test_compiled_training_matches_eager_and_saves_the_networks_own_weights(tmp_path):
    """Fused kernels round differently, and a few steps amplify rounding: the compiled run stays as close to the
    eager one as two eager runs in different memory formats stay to each other (4 steps: 0.0096 and 0.0092 of
    the 0.40 that training moved the weights)."""
    def weights(name, flags):
        metrics = train_final.main(TINY + ["--max_batches", "4", "--save", str(tmp_path / name)] + flags)
        return metrics, torch.load(tmp_path / name / "weights.pt", weights_only=True)["model"]

    def distance(a, b):
        return sum(float((a[k].float() - b[k].float()).norm()) ** 2 for k in a) ** 0.5
    (eager, a), (compiled, b) = weights("eager", []), weights("compiled", ["--compile"])
    (_, nchw), (_, start) = weights("nchw", ["--no_channels_last"]), weights("start", ["--learning_rate", "0"])
    assert a.keys() == b.keys()  # no torch.compile wrapper in the saved names
    assert compiled["train_loss"] == pytest.approx(eager["train_loss"], rel=1e-3)
    assert compiled["test_loss"] == pytest.approx(eager["test_loss"], rel=1e-2)
    assert distance(a, b) < 2 * distance(a, nchw) < 0.1 * distance(a, start)
    assert "torch.compile" in (tmp_path / "compiled" / "log.txt").read_text()


def test_bf16_training_on_cpu_trains_close_to_float32(tmp_path):
    fp32 = train_final.main(TINY + ["--save", str(tmp_path / "fp32")])
    bf16 = train_final.main(TINY + ["--cpu_bf16", "--save", str(tmp_path / "bf16")])
    assert bf16["train_loss"] == pytest.approx(fp32["train_loss"], rel=0.05)
    assert bf16["train_loss"] != fp32["train_loss"]  # it did run in bfloat16
    assert "bf16 autocast" in (tmp_path / "bf16" / "log.txt").read_text()


@pytest.mark.parametrize("flags, message", [
    (["--cpu_bf16", "--fp32"], "error: --cpu_bf16 asks for bf16 autocast, --fp32 for none"),
    (["--cpu_bf16", "--no_amp"], "error: --cpu_bf16 asks for bf16 autocast, --no_amp for none"),
    (["--compile"], "error: --compile needs a C++ compiler"),
])
def test_contradictory_or_unrunnable_flags_are_one_line_errors_that_create_nothing(tmp_path, capsys, monkeypatch,
                                                                                   flags, message):
    monkeypatch.setattr("darts.cli.train.shutil.which", lambda name: None)  # no compiler on this "machine"
    assert run_cli(train_final.main, TINY + flags + ["--save", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and "\n" not in err
    assert not (tmp_path / "out").exists()
