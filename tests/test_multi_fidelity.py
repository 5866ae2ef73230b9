"""Multi-fidelity search (asha, hyperband, bohb): the pruning rule on hand-made curves, stopped trials trained as
the first epochs of full ones, exact resume, and the command line."""
import binascii
import json
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from darts.errors import UserError
from darts.evaluators.training import TrainingEvaluator
from darts.runs import run_cli
from darts.strategies.multi_fidelity import MultiFidelitySearch, search_multi_fidelity

PLUGIN = Path(__file__).resolve().parent / "toy_space_plugin.py"


class FakeEvaluator:
    """Hand-made curves: `curve(arch)` is the accuracy after each epoch; it reports them as training would."""

    name = "fake"

    def __init__(self, curve, epochs=9):
        self.curve, self.epochs, self.trained = curve, epochs, []

    def evaluate(self, arch, report):
        for epoch, accuracy in enumerate(self.curve(arch)[:self.epochs], 1):
            self.trained.append(arch)
            if report(epoch, accuracy):
                break
        return accuracy


class InOrder:
    """Trial i is architecture i, so trial i gets the i-th hand-made curve (its one decision, of 1,000
    choices, is drawn but unused: no two trials here draw the same, so none is taken for a repeat)."""

    name = "in-order"

    def __init__(self):
        self.n = 0

    def decisions(self):
        return [1000]

    def from_decisions(self, d):
        self.n += 1
        return self.n - 1

    def encode(self, arch):
        return arch

    def decode(self, data):
        return data


def curve(at1, at3, final):
    """Nine epochs: `at1` after the first (rung 0), `at3` after the third (rung 1), `final` after the ninth."""
    return [at1, at1, at3, at3, at3, at3, at3, at3, final]


# eta 3, rungs at 1 and 3 epochs (9: the end). A trial goes on from a rung if its accuracy there is at least the
# k-th best of all recorded at that rung, itself included, k = max(1, n // 3) of n:
#  t0: 50 alone -> on; at 3: 60 alone -> on: 9 epochs
#  t1: 40 < 50 (best of 2) -> stopped at 1        t2: 55, best of 3 -> on; at 3: 58 < 60 (best of 2) -> stopped at 3
#  t3: 45 < 55 (best of 4) -> stopped at 1        t4: 52 < 55 (best of 5) -> stopped at 1
#  t5: 51 < 52 (2nd best of 6) -> stopped at 1    t6: 53 = 2nd best of 7 -> on; at 3: 70, best of 3 -> on: 9 epochs
CURVES = [curve(50, 60, 65), curve(40, 40, 40), curve(55, 58, 59), curve(45, 45, 45), curve(52, 52, 52),
          curve(51, 51, 51), curve(53, 70, 80)]


def test_successive_halving_stops_the_trials_below_each_rungs_cut():
    search = MultiFidelitySearch(InOrder(), "asha", seed=0, min_epochs=1, max_epochs=9, eta=3)
    evaluator = FakeEvaluator(lambda i: CURVES[i])
    result = search_multi_fidelity(search, evaluator, budget=len(CURVES), progress=False)
    assert [r["epochs"] for r in result.records] == [9, 1, 3, 1, 1, 1, 9]
    assert [r["pruned"] for r in result.records] == [False, True, True, True, True, True, False]
    assert [r["curve"] for r in result.records][2] == CURVES[2][:3]
    assert (result.best_arch, result.best_reward, result.best_epochs) == (6, 80, 9)
    assert result.records[-1]["total_epochs"] == 9 + 1 + 3 + 1 + 1 + 1 + 9 == len(evaluator.trained)


def test_an_epoch_budget_stops_starting_trials():
    search = MultiFidelitySearch(InOrder(), "asha", seed=0, min_epochs=1, max_epochs=9, eta=3)
    result = search_multi_fidelity(search, FakeEvaluator(lambda i: CURVES[i]), budget=7, epoch_budget=12,
                                   progress=False)
    assert [r["total_epochs"] for r in result.records] == [9, 10, 13]  # the third trial starts at 10 < 12


def hyperband_bracket(trial_number: int, study_name: str = "hyperband-0") -> int:
    """Optuna's bracket of a trial: a hash of the study's name and the trial's number, modulo the brackets' trial
    budgets ceil(n 3^s / (s + 1)) for s = 2, 1, 0 (n = 3 brackets for 1 to 9 epochs): 9, 5 and 3 of 17."""
    k = binascii.crc32(f"{study_name}_{trial_number}".encode()) % 17
    return 0 if k < 9 else 1 if k < 14 else 2


def test_hyperband_stops_each_brackets_trials_at_its_first_rung():
    """Falling curves: at a rung a trial goes on only if it is the best there, so in each bracket only its first
    trial does. Bracket 0 has rungs at 1 and 3 epochs, bracket 1 at 3, bracket 2 none below the end (9)."""
    search = MultiFidelitySearch(InOrder(), "hyperband", seed=0, min_epochs=1, max_epochs=9, eta=3)
    result = search_multi_fidelity(search, FakeEvaluator(lambda i: [50.0 - i] * 9), budget=20, progress=False)
    brackets = [hyperband_bracket(i) for i in range(20)]
    first = {b: brackets.index(b) for b in set(brackets)}
    expected = [9 if b == 2 or first[b] == i else (1, 3)[b] for i, b in enumerate(brackets)]
    assert [r["epochs"] for r in result.records] == expected and set(brackets) == {0, 1, 2}


def toy_curve(decisions):
    """Accuracy rising with the epochs toward a level set by the architecture's decisions."""
    level = 40 + 10 * decisions[0] + 3 * decisions[1] - 2 * decisions[2]
    return [level * (1 - 0.5 / e) for e in range(1, 10)]


class Decisions(InOrder):
    def decisions(self):
        return [3, 4, 2]

    def from_decisions(self, d):
        return tuple(int(x) for x in d)

    def encode(self, arch):
        return list(arch)

    def decode(self, data):
        return tuple(data)


@pytest.mark.parametrize("method, model", [("asha", "budget"), ("hyperband", "budget"), ("bohb", "budget"),
                                           ("bohb", "bracket")])
def test_a_resumed_search_equals_the_uninterrupted_one(tmp_path, method, model):
    def run(path, budget):
        path.parent.mkdir(exist_ok=True)
        search = MultiFidelitySearch(Decisions(), method, seed=3, min_epochs=1, max_epochs=9, eta=3, model=model,
                                     n_min=3)
        return search_multi_fidelity(search, FakeEvaluator(toy_curve), budget, history_path=path, progress=False)
    whole = run(tmp_path / "a" / "history.jsonl", 16)
    run(tmp_path / "b" / "history.jsonl", 6)
    resumed = run(tmp_path / "b" / "history.jsonl", 16)
    strip = lambda records: [{k: v for k, v in r.items() if k != "time"} for r in records]  # noqa: E731
    assert strip(resumed.records) == strip(whole.records) and len(whole.records) == 16
    assert (resumed.best_arch, resumed.best_reward) == (whole.best_arch, whole.best_reward)
    assert any(r["pruned"] for r in whole.records) and not all(r["pruned"] for r in whole.records)


class Tiny(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.head = nn.Linear(4, k)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))


def tiny_evaluator(built, epochs=4):
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(120, 1, 6, 6, generator=g), torch.randint(0, 3, (120,), generator=g)
    x[y == 1] += 0.5  # something to learn

    def build(arch, c, k):
        built.append(Tiny(c, k))
        return built[-1]
    return TrainingEvaluator(build, x[:80], y[:80], x[80:], y[80:], epochs=epochs, batch_size=16, num_classes=3)


def test_a_stopped_trial_trained_as_the_first_epochs_of_the_full_one():
    """The cosine spans every epoch whether or not the trial is stopped: stopped after 2 of 4 epochs, the
    weights and accuracies are those of the full trial after its second epoch."""
    built, full_curve, snapshot = [], [], {}
    evaluator = tiny_evaluator(built)

    def full(epoch, accuracy):
        full_curve.append(accuracy)
        if epoch == 2:
            snapshot.update({k: v.clone() for k, v in built[-1].state_dict().items()})
        return False
    last = evaluator.evaluate("arch", full)
    assert len(full_curve) == 4 and last == full_curve[-1] == evaluator.evaluate("arch")  # no report: same result
    stopped_curve = []
    evaluator.evaluate("arch", lambda epoch, accuracy: stopped_curve.append(accuracy) or epoch == 2)
    assert stopped_curve == full_curve[:2]
    stopped = built[-1].state_dict()
    assert all(torch.equal(stopped[k], snapshot[k]) for k in snapshot)
    assert not torch.equal(built[0].state_dict()["head.weight"], snapshot["head.weight"])  # the full one went on


def test_the_command_line_runs_asha_on_digits_and_refuses_what_it_cannot_do(tmp_path):
    from darts.cli.search import main
    argv = ["--ops_module", str(PLUGIN), "--space", "toy", "--dataset", "digits", "--budget", "4",
            "--fidelity_epochs", "3", "--batch_size", "16", "--max_batches", "2", "--no_progress", "--no_plots"]
    assert run_cli(main, ["--strategy", "asha", "--save", str(tmp_path / "s")] + argv) == 0
    rows = [json.loads(line) for line in (tmp_path / "s" / "history.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and {r["epochs"] for r in rows} <= {1, 3} and rows[0]["epochs"] == 3
    assert all(len(r["curve"]) == r["epochs"] for r in rows)
    assert json.loads((tmp_path / "s" / "genotype.json").read_text())["space"] == "toy"
    from darts.settings import resolve_settings
    with pytest.raises(UserError, match="no rung above"):
        resolve_and_prepare({"strategy": "hyperband", "dataset": "digits", "fidelity_epochs": 2})
    with pytest.raises(UserError, match="per-epoch"):
        resolve_and_prepare({"strategy": "bohb", "space": "nb201", "dataset": "cifar10", "benchmark": "x.csv"})
    assert resolve_settings({"strategy": "asha", "dataset": "digits"})[1]["fidelity_epochs"] == 9  # its default


def resolve_and_prepare(given):
    from darts.experiment import check_combination
    from darts.settings import resolve_settings
    space, settings = resolve_settings(given)
    check_combination(space, settings["strategy"], settings)


def test_bohbs_model_fits_the_largest_budget_with_enough_results():
    """n_min = 3 results: none yet; three at 1 epoch; then three that reached 3 epochs (their 3-epoch accuracies)."""
    search = MultiFidelitySearch(Decisions(), "bohb", seed=0, min_epochs=1, max_epochs=9, eta=3)
    assert search.n_min == 4 and search.rungs() == [1, 3]  # three decisions + 1
    search.n_min = 3
    trial = lambda d, curve: {"decisions": d, "curve": curve, "pruned": len(curve) < 9, "rungs": {}}  # noqa: E731
    search.trials = [trial([0, 0, 0], [10.0]), trial([1, 0, 0], [20.0, 21, 22])]
    assert search.budget_observations() is None
    search.trials.append(trial([2, 0, 0], [30.0]))
    assert search.budget_observations() == (1, [([0, 0, 0], 10.0), ([1, 0, 0], 20.0), ([2, 0, 0], 30.0)])
    search.trials += [trial([0, 1, 0], [5.0, 6, 7]), trial([0, 2, 0], list(range(40, 49)))]
    assert search.budget_observations() == (3, [([1, 0, 0], 22), ([0, 1, 0], 7), ([0, 2, 0], 42)])


def test_a_rebuilt_study_keeps_each_trial_in_its_hyperband_bracket():
    """Optuna hashes the study's name and the trial's number into a bracket, and sets its brackets up at the
    pruner's first call: a rebuilt study must have both before its first proposal (private Optuna API)."""
    search = MultiFidelitySearch(Decisions(), "bohb", seed=1, model="bracket", n_min=2)
    search_multi_fidelity(search, FakeEvaluator(toy_curve), 8, progress=False)
    rebuilt = MultiFidelitySearch(Decisions(), "bohb", seed=1, model="bracket", n_min=2)
    rebuilt.load_state_dict(search.state_dict())
    brackets = lambda s: [s.study.pruner._get_bracket_id(s.study, t) for t in s.study.trials]  # noqa: E731
    assert brackets(rebuilt) == brackets(search) and len(set(brackets(search))) > 1


def test_a_repeated_architecture_reports_its_known_accuracies_without_training():
    """Two architectures, twelve trials: repeats. A repeat trains only to go past the epochs already measured
    (then from scratch, to its end); every curve is the architecture's own."""
    class Two(Decisions):
        def decisions(self):
            return [2]
    evaluator = FakeEvaluator(lambda arch: [acc + 30 * arch[0] for acc in toy_curve([0, 0, 0])])
    search = MultiFidelitySearch(Two(), "asha", seed=0, min_epochs=1, max_epochs=9, eta=3)
    records = search_multi_fidelity(search, evaluator, 12, progress=False).records
    longest = {}
    for r in records:
        arch = r["arch"][0]
        assert r["curve"] == evaluator.curve((arch,))[:r["epochs"]]
        assert r["trained"] == (0 if r["epochs"] <= longest.get(arch, 0) else r["epochs"])
        longest[arch] = max(longest.get(arch, 0), r["epochs"])
    assert records[-1]["total_epochs"] == len(evaluator.trained) < sum(r["epochs"] for r in records)
