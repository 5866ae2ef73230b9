"""Bayesian optimisation (Optuna TPE) as a sample-based strategy: valid proposals, learning, exact resume."""
import io

import pytest
import torch

from darts.spaces.nb201 import Nb201Arch, Nb201ArchSpace
from darts.strategies.base import run_strategy
from darts.strategies.bayesian import BayesianOptimization
from darts.strategies.registry import SAMPLE_STRATEGIES, build_strategy
from tests.test_strategies import ToySpace, ToyTable

pytest.importorskip("optuna")


def test_registered_and_proposes_only_valid_architectures():
    assert SAMPLE_STRATEGIES["bo"] is BayesianOptimization
    bo = build_strategy("bo", Nb201ArchSpace(), seed=0, n_startup_trials=5)
    seen = set()
    for step in range(30):
        arch = bo.ask()
        assert isinstance(arch, Nb201Arch) and arch == Nb201Arch.from_codes(arch.codes)
        assert arch.index not in seen  # never spends a query on a cell it was told already
        seen.add(arch.index)
        bo.tell(arch, float(sum(arch.codes)))


def test_improves_on_a_synthetic_table():
    """The best found beats random search's, averaged over seeds (additive table: TPE's easy case)."""
    best, random_best = [], []
    for seed in range(3):
        best.append(run_strategy(BayesianOptimization(ToySpace(), seed=seed), ToyTable(), 60, progress=False).best_reward)
        random_best.append(run_strategy(build_strategy("random", ToySpace(), seed=seed), ToyTable(), 60,
                                        progress=False).best_reward)
    assert sum(best) / 3 > sum(random_best) / 3 + 1.0, (best, random_best)


def roundtrip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_resumes_exactly_through_a_weights_only_checkpoint():
    table = ToyTable()
    full = BayesianOptimization(ToySpace(), seed=5, n_startup_trials=4)
    asks = []
    for _ in range(20):
        arch = full.ask()
        asks.append(arch)
        full.tell(arch, table.evaluate(arch))
    first = BayesianOptimization(ToySpace(), seed=5, n_startup_trials=4)
    for arch in asks[:10]:
        assert first.ask() == arch
        first.tell(arch, table.evaluate(arch))
    resumed = BayesianOptimization(ToySpace(), seed=5, n_startup_trials=4)
    resumed.load_state_dict(roundtrip(first.state_dict()))
    for arch in asks[10:]:
        assert resumed.ask() == arch
        resumed.tell(arch, table.evaluate(arch))


def test_told_another_architecture_than_proposed():
    bo = BayesianOptimization(ToySpace(), seed=1, n_startup_trials=2)
    bo.ask()
    bo.tell((0, 0, 0, 0, 0), 50.0)  # e.g. a caller that evaluates its own choice
    state = roundtrip(bo.state_dict())
    again = BayesianOptimization(ToySpace(), seed=1, n_startup_trials=2)
    again.load_state_dict(state)
    assert again.ask() == bo.ask()


def test_the_gaussian_process_sampler_also_proposes_valid_architectures():
    bo = BayesianOptimization(ToySpace(), seed=0, sampler="gp", n_startup_trials=3)
    table, seen = ToyTable(), set()
    for _ in range(6):
        arch = bo.ask()
        assert len(arch) == 5 and all(0 <= d < 4 for d in arch) and arch not in seen
        seen.add(arch)
        bo.tell(arch, table.evaluate(arch))
