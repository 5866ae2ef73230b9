"""Sample-based strategies (random search, regularized evolution, REINFORCE), their spaces, evaluators and loop."""
import itertools
import json
import math
import random

import pytest
import torch

from darts.errors import UserError
from darts.evaluators import TrainingEvaluator
from darts.spaces.genotype_io import load_genotype
from darts.spaces.darts_cnn.sampling import DartsCnnArchSpace
from darts.spaces.nb201 import Nb201Arch, Nb201ArchSpace, build_nb201_network
from darts.strategies.base import default_state_path, run_strategy
from darts.strategies.controller import Controller
from darts.strategies.registry import BUILTIN_SAMPLE_STRATEGIES, build_strategy

# the built-in ones: a test module may register plug-ins (tests/toy_space_plugin.py) before this one is collected
BUILTIN = sorted(cls.name for cls in BUILTIN_SAMPLE_STRATEGIES)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


FAST_OPTIONS = {"random": {}, "evolution": {}, "reinforce": {"hidden_size": 16}, "ppo": {"hidden_size": 16},
                "bo": {}}  # defaults, a smaller LSTM


class ToySpace:
    """Five decisions of four options: 1,024 architectures, small enough to tabulate in a test."""

    name = "toy"
    choices = (4, 4, 4, 4, 4)

    def decisions(self):
        return list(self.choices)

    def from_decisions(self, d):
        return tuple(int(x) for x in d)

    def to_decisions(self, arch):
        return list(arch)

    def sample_random(self, rng):
        return tuple(rng.randrange(c) for c in self.choices)

    def mutate(self, arch, rng):
        a = list(arch)
        k = rng.randrange(len(a))
        a[k] = rng.choice([v for v in range(self.choices[k]) if v != a[k]])
        return tuple(a)

    def encode(self, arch):
        return list(arch)

    def decode(self, data):
        return tuple(data)


class ToyTable:
    """A synthetic benchmark table: an additive score per decision plus fixed per-cell noise, in percent."""

    name = "toy-table"

    def __init__(self, seed=0):
        rng = random.Random(seed)
        weights = [[rng.random() for _ in range(4)] for _ in range(5)]
        cells = list(itertools.product(range(4), repeat=5))
        raw = {c: sum(w[v] for w, v in zip(weights, c)) + 0.3 * rng.random() for c in cells}
        lo, hi = min(raw.values()), max(raw.values())
        self.acc = {c: 10 + 85 * (v - lo) / (hi - lo) for c, v in raw.items()}
        self.queries = 0

    def evaluate(self, arch):
        self.queries += 1
        return self.acc[tuple(arch)]


def run(name, seed, budget, table=None, **kw):
    strategy = build_strategy(name, ToySpace(), seed=seed, **{**FAST_OPTIONS[name], **kw})
    return run_strategy(strategy, table or ToyTable(), budget, progress=False)


def test_random_search_samples_uniformly_and_keeps_the_best():
    table = ToyTable()
    result = run("random", 0, 400, table)
    rewards = [r["reward"] for r in result.records]
    best = [r["best_reward"] for r in result.records]
    assert best == list(itertools.accumulate(rewards, max)) and result.best_reward == max(rewards)
    assert table.acc[result.best_arch] == result.best_reward and table.queries == 400
    counts = [0] * 4
    for r in result.records:
        counts[r["arch"][0]] += 1
    assert min(counts) > 70 and max(counts) < 130  # 100 expected per option


@pytest.mark.parametrize("name", ["evolution", "reinforce"])
def test_learning_strategies_improve_on_a_synthetic_table(name):
    """Later samples are better than early ones, and the best found beats random search's, over seeds."""
    early, late, best, random_best = [], [], [], []
    for seed in range(4):
        records = run(name, seed, 150).records
        early += [r["reward"] for r in records[:30]]
        late += [r["reward"] for r in records[-30:]]
        best.append(records[-1]["best_reward"])
        random_best.append(run("random", seed, 150).best_reward)
    mean = lambda xs: sum(xs) / len(xs)
    assert mean(late) > mean(early) + 10, (mean(early), mean(late))
    assert mean(best) > mean(random_best), (mean(best), mean(random_best))


def test_evolution_removes_the_oldest_and_mutates_one_decision():
    strategy = build_strategy("evolution", ToySpace(), seed=3, population_size=5, sample_size=2)
    for i in range(5):
        strategy.tell(strategy.ask(), float(i))
    first = list(strategy.population)
    child = strategy.ask()
    assert any(sum(a != b for a, b in zip(child, m[0])) == 1 for m in first)  # a one-step mutant of a member
    strategy.tell(child, -1.0)
    assert list(strategy.population) == first[1:] + [(child, -1.0)]  # the oldest left, not the worst


@pytest.mark.parametrize("name", BUILTIN)
def test_resumed_search_equals_uninterrupted(tmp_path, name):
    full = run(name, 7, 25)
    history = tmp_path / "history.jsonl"
    # interrupted after 14 evaluations: evolution is past its random initial population of 10
    run_strategy(build_strategy(name, ToySpace(), seed=7, **FAST_OPTIONS[name]), ToyTable(), 14, history, progress=False)
    resumed = run_strategy(build_strategy(name, ToySpace(), seed=7, **FAST_OPTIONS[name]), ToyTable(), 25, history,
                           progress=False)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "time"} for r in rs]
    assert strip(resumed.records) == strip(full.records)
    assert resumed.best_arch == full.best_arch and resumed.best_reward == full.best_reward
    lines = [json.loads(line) for line in history.read_text().splitlines()]
    assert strip(lines) == strip(full.records)
    assert set(lines[0]) == {"step", "arch", "reward", "best_reward", "time"}


def test_resume_redoes_a_step_whose_state_was_not_saved(tmp_path):
    history = tmp_path / "history.jsonl"
    run_strategy(build_strategy("evolution", ToySpace(), seed=1), ToyTable(), 12, history, progress=False)
    lines = history.read_text().splitlines()
    # a crash after the history line of step 12 but before its state: the state is one step behind
    run_strategy(build_strategy("evolution", ToySpace(), seed=1), ToyTable(), 11, tmp_path / "h11.jsonl", progress=False)
    default_state_path(tmp_path / "h11.jsonl").replace(default_state_path(history))
    resumed = run_strategy(build_strategy("evolution", ToySpace(), seed=1), ToyTable(), 12, history, progress=False)
    assert [json.dumps({k: v for k, v in r.items() if k != "time"}) for r in resumed.records] == \
           [json.dumps({k: v for k, v in json.loads(x).items() if k != "time"}) for x in lines]


def test_resume_refuses_a_different_search(tmp_path):
    history = tmp_path / "history.jsonl"
    run_strategy(build_strategy("random", ToySpace(), seed=0), ToyTable(), 3, history, progress=False)
    with pytest.raises(UserError, match="strategy 'random', not 'evolution'"):
        run_strategy(build_strategy("evolution", ToySpace(), seed=0), ToyTable(), 5, history, progress=False)
    default_state_path(history).unlink()
    with pytest.raises(UserError, match="state .* is missing"):
        run_strategy(build_strategy("random", ToySpace(), seed=0), ToyTable(), 5, history, progress=False)
    with pytest.raises(UserError, match="unknown strategy"):
        build_strategy("bayesian", ToySpace())


# --- the controller ---------------------------------------------------------------------------------

def test_controller_is_a_normalised_autoregressive_distribution():
    torch.manual_seed(0)
    ctrl = Controller([2, 3, 2], hidden_size=8, init_range=1.0).double()
    prob = lambda seq: math.exp(ctrl(list(seq)).log_prob.item())
    total = sum(prob(seq) for seq in itertools.product(range(2), range(3), range(2)))
    assert abs(total - 1.0) < 1e-12
    # decisions are conditioned on earlier ones: p(d1 | d0) changes with d0
    p1 = [sum(prob([d0, d1, d2]) for d2 in range(2)) for d0 in range(2) for d1 in range(3)]
    cond = [[p1[3 * d0 + d1] / sum(p1[3 * d0:3 * d0 + 3]) for d1 in range(3)] for d0 in range(2)]
    assert max(abs(a - b) for a, b in zip(*cond)) > 1e-3
    # a sample's log-prob is the teacher-forced one, and the entropy bonus has a gradient
    g = torch.Generator().manual_seed(1)
    s = ctrl(generator=g)
    assert s.log_prob.item() == pytest.approx(ctrl(s.decisions).log_prob.item(), abs=1e-12)
    s.entropy.backward()
    assert ctrl.classifiers[0].weight.grad.abs().sum() > 0


def test_controller_temperature_and_tanh_constant_shape_the_logits():
    torch.manual_seed(0)
    ctrl = Controller([5], hidden_size=8, init_range=2.0)
    out, _ = ctrl.lstm(ctrl.start)
    raw = ctrl.classifiers[0](out[0])
    ctrl.temperature, ctrl.tanh_constant = 5.0, 2.5
    torch.testing.assert_close(ctrl.logits(out[0], 0), 2.5 * torch.tanh(raw / 5.0))


# --- the spaces' adapters -------------------------------------------------------------------------

def test_nb201_adapter():
    space, rng = Nb201ArchSpace(), random.Random(0)
    archs = [space.sample_random(rng) for _ in range(300)]
    assert {op for a in archs for op in a.ops} == {"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                                                   "avg_pool_3x3"}
    for a in archs[:50]:
        m = space.mutate(a, rng)
        assert sum(x != y for x, y in zip(a.ops, m.ops)) == 1
        assert space.from_decisions(space.to_decisions(a)) == a and space.decode(space.encode(a)) == a
    assert space.decisions() == [5] * 6


def test_darts_cnn_adapter():
    space, rng = DartsCnnArchSpace(), random.Random(0)
    assert len(space.decisions()) == 32 and space.decisions()[:8] == [2, 2, 7, 7, 3, 3, 7, 7]
    v2 = load_genotype("DARTS_V2")
    assert space.from_decisions(space.to_decisions(v2)) == v2
    for _ in range(100):
        g = space.sample_random(rng).validate()
        assert all(g.normal[2 * i][1] != g.normal[2 * i + 1][1] for i in range(4))
        m = space.mutate(g, rng)
        assert sum(a != b for a, b in zip(space.to_decisions(g), space.to_decisions(m))) == 1
        assert space.decode(json.loads(json.dumps(space.encode(g)))) == g


@pytest.mark.parametrize("name", BUILTIN)
def test_strategies_search_the_darts_space(name):
    """Space-agnostic: the same strategies run on DARTS genotypes (reward: count of sep_conv_3x3 edges)."""
    space = DartsCnnArchSpace()

    class SepConvCount:
        name = "sepconv-count"

        def evaluate(self, g):
            return 100.0 * sum(op == "sep_conv_3x3" for op, _ in g.normal + g.reduce) / 16

    strategy = build_strategy(name, space, seed=0, **FAST_OPTIONS[name])
    result = run_strategy(strategy, SepConvCount(), 60, progress=False)
    assert result.best_arch.validate() and result.best_reward >= 25.0  # a random cell averages 14 %


# --- low-fidelity training ------------------------------------------------------------------------

def digits_split():
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = (x - x.mean()) / x.std()
    y = torch.tensor(d.target)
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(x), generator=g)
    train, val = order[:1000], order[1000:1400]
    return x[train], y[train], x[val], y[val]


def test_low_fidelity_training_on_digits_trains_real_networks(tmp_path):
    tx, ty, vx, vy = digits_split()
    build = lambda arch, c, n: build_nb201_network(arch, c, n, C=8, N=1)
    evaluator = TrainingEvaluator(build, tx, ty, vx, vy, epochs=2, batch_size=50, dataset="digits")
    conv = Nb201Arch.from_string("|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|"
                                 "skip_connect~2|")
    acc = evaluator.evaluate(conv)
    assert acc > 60.0  # chance is 10 %
    assert evaluator.evaluate(conv) == acc  # same architecture, same seed, same reward
    dead = Nb201Arch.from_string("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert evaluator.evaluate(dead) < 25.0  # the all-none cell cannot see its input
    history = tmp_path / "history.jsonl"
    result = run_strategy(build_strategy("random", Nb201ArchSpace(), seed=0), evaluator, 2, history, progress=False)
    assert len(history.read_text().splitlines()) == 2 and result.best_reward > 10.0


def test_strategies_train_darts_networks_at_low_fidelity():
    """The same loop and evaluator on the DARTS convolutional space: real (tiny) networks trained on digits."""
    from darts.spaces.darts_cnn import NetworkCIFAR
    tx, ty, vx, vy = digits_split()
    build = lambda g, c, n: NetworkCIFAR(g, C=4, num_classes=n, layers=3, in_channels=c)
    evaluator = TrainingEvaluator(build, tx, ty, vx, vy, epochs=2, batch_size=50, dataset="digits")
    result = run_strategy(build_strategy("evolution", DartsCnnArchSpace(), seed=0, population_size=2, sample_size=2),
                          evaluator, 3, progress=False)
    assert all(r["reward"] > 50.0 for r in result.records)  # chance is 10 %
    assert len({json.dumps(r["arch"]) for r in result.records}) == 3
