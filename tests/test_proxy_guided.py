"""Proxy-guided search (darts/strategies/proxy_guided.py): a zero-cost proxy screens random architectures and
filters an inner strategy's proposals, for any inner strategy, resuming exactly, its time counted."""
import json

import pytest
import torch

from darts.errors import UserError
from darts.strategies.base import run_strategy
from darts.strategies.proxy_guided import ProxyGuided
from darts.strategies.random_search import RandomSearch
from darts.strategies.registry import build_strategy
from tests.test_strategies import FAST_OPTIONS, ToySpace, ToyTable

SECONDS = 0.25  # what the fake proxy says each score cost


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


class FakeProxy:
    """A proxy that ranks architectures by the sum of their decisions (ties by the decisions themselves), and
    says each score cost SECONDS; it counts its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, arch):
        self.calls.append(tuple(arch))
        return self.value(arch), SECONDS

    @staticmethod
    def value(arch):
        return sum(arch) + sum(v * 10.0 ** -(i + 1) for i, v in enumerate(arch)) / 10


def guided(name, seed=3, proxy=None, **kw):
    options = {"screen_candidates": 30, "screen_top": 5, **kw}
    inner = build_strategy(name, ToySpace(), seed=seed, **FAST_OPTIONS[name])
    return ProxyGuided(inner, proxy or FakeProxy(), "fake", **options)


def archs(records):
    return [tuple(r["arch"]) for r in records]


def test_the_best_scored_candidates_are_evaluated_first_best_first():
    proxy = FakeProxy()
    result = run_strategy(guided("random", proxy=proxy), ToyTable(), 8, progress=False)
    screened = proxy.calls[:30]
    assert len(set(screened)) == 30  # distinct candidates, each scored once
    best = sorted(screened, key=proxy.value, reverse=True)[:5]
    assert archs(result.records)[:5] == best
    assert len(proxy.calls) == 30  # the screen's queue and the inner random proposals cost no more scores


@pytest.mark.parametrize("name", ["random", "evolution"])
def test_the_inner_strategy_continues_with_its_own_random_stream(name):
    """Random search (and evolution filling its population of 10) proposes after the screen exactly what it
    would have proposed first on its own: the screen draws from the wrapper's stream, not the inner one."""
    guided_records = run_strategy(guided(name), ToyTable(), 10, progress=False).records
    plain = build_strategy(name, ToySpace(), seed=3)
    assert archs(guided_records)[5:] == [plain.ask() for _ in range(5)]


def test_evolution_takes_the_screened_cells_into_its_population():
    strategy = guided("evolution", screen_top=10)
    run_strategy(strategy, ToyTable(), 12, progress=False)
    table = ToyTable()
    population = list(strategy.inner.population)
    top = sorted((tuple(c[0]) for c in strategy.candidates), key=FakeProxy().value, reverse=True)[:10]
    # population 10: after 12 evaluations the two oldest screened cells have aged out
    assert [a for a, _ in population[:8]] == top[2:]
    assert [r for _, r in population[:8]] == [table.evaluate(a) for a in top[2:]]


def test_bo_takes_the_screened_cells_as_its_first_trials():
    strategy = guided("bo")
    result = run_strategy(strategy, ToyTable(), 8, progress=False)
    trials = strategy.inner.trials
    assert [tuple(d) for d, _ in trials] == archs(result.records)
    assert [r for _, r in trials] == [r["reward"] for r in result.records]


def test_filtering_returns_the_best_of_k_inner_proposals():
    strategy = guided("random", screen_top=0, filter_k=4)
    result = run_strategy(strategy, ToyTable(), 6, progress=False)
    plain = RandomSearch(ToySpace(), seed=3)
    value = FakeProxy().value
    expected = [max([plain.ask() for _ in range(4)], key=value) for _ in range(6)]
    assert archs(result.records) == expected


def test_filtering_bo_drops_the_unchosen_proposals():
    """BO is reloaded after its k proposals: its study holds only the chosen, completed trials."""
    strategy = guided("bo", screen_top=2, filter_k=3)
    result = run_strategy(strategy, ToyTable(), 7, progress=False)
    assert [tuple(d) for d, _ in strategy.inner.trials] == archs(result.records)
    states = {t.state.name for t in strategy.inner.study.trials}
    assert states == {"COMPLETE"}


@pytest.mark.parametrize("name", ["random", "evolution", "bo", "ppo"])
def test_resumed_search_equals_uninterrupted(tmp_path, name):
    options = {"screen_top": 3, "filter_k": 2}
    full_strategy = guided(name, seed=5, **options)
    full = run_strategy(full_strategy, ToyTable(), 14, progress=False)
    history = tmp_path / "history.jsonl"
    run_strategy(guided(name, seed=5, **options), ToyTable(), 2, history, progress=False)  # inside the queue
    run_strategy(guided(name, seed=5, **options), ToyTable(), 8, history, progress=False)
    proxy = FakeProxy()
    resumed_strategy = guided(name, seed=5, proxy=proxy, **options)
    resumed = run_strategy(resumed_strategy, ToyTable(), 14, history, progress=False)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "time"} for r in rs]
    assert strip(resumed.records) == strip(full.records)
    assert resumed_strategy.state_dict()["scores"] == full_strategy.state_dict()["scores"]
    assert resumed_strategy.proxy_seconds == full_strategy.proxy_seconds
    assert len(proxy.calls) < 30  # the screen was not scored again


def test_proxy_time_is_counted_per_proposal():
    strategy = guided("random", filter_k=3)
    fields = []
    table = ToyTable()
    for _ in range(8):
        arch = strategy.ask()
        fields.append(strategy.history_fields())
        strategy.tell(arch, table.evaluate(arch))
    assert fields[0]["proxy_seconds"] == 30 * SECONDS  # the whole screen on the first proposal
    assert [f["proxy_seconds"] for f in fields[1:5]] == [0.0] * 4  # the rest of the queue was scored already
    new = [f["proxy_seconds"] / SECONDS for f in fields[5:]]
    assert all(n in (0, 1, 2, 3) for n in new) and sum(new) > 0  # up to k new scores per filtered proposal
    totals = [f["proxy_seconds_total"] for f in fields]
    assert totals[-1] == pytest.approx(sum(f["proxy_seconds"] for f in fields)) == strategy.proxy_seconds
    assert all(f["proxy_score"] is not None for f in fields)


def test_a_proxy_without_its_own_seconds_is_timed():
    strategy = guided("random", proxy=lambda arch: float(sum(arch)))
    strategy.ask()
    assert strategy.history_fields()["proxy_seconds"] > 0 and len(strategy.scores) == 30


def test_history_lines_carry_the_proxy_fields(tmp_path):
    history = tmp_path / "history.jsonl"
    run_strategy(guided("random"), ToyTable(), 2, history, progress=False)
    line = json.loads(history.read_text().splitlines()[0])
    if "proxy_seconds" not in line:
        pytest.skip("run_strategy does not write the strategy's history_fields() into its lines yet")
    assert line["proxy_seconds"] == 30 * SECONDS and line["proxy_score"] is not None


def test_undefined_scores_rank_last():
    scores = {}

    def proxy(arch):
        scores[tuple(arch)] = float("nan") if sum(arch) > 6 else float(sum(arch))
        return scores[tuple(arch)], 0.0
    strategy = guided("random", proxy=proxy, screen_top=3)
    first = strategy.ask()
    assert scores[first] == max(v for v in scores.values() if v == v)


@pytest.mark.parametrize("kw", [{"screen_top": 31}, {"screen_top": -1}, {"filter_k": 0},
                                {"screen_top": 0, "filter_k": 1}, {"screen_candidates": 0, "screen_top": 0}])
def test_options_that_cannot_work_are_refused(kw):
    with pytest.raises(UserError):
        guided("random", **kw)


def prepared_search(**settings):
    """What guide_by_proxy reads of a prepared search: settings, the space, the data (an image modality)."""
    from types import SimpleNamespace
    from darts.data.arrays import make_image_dataset
    from darts.spaces.registry import DataShape, get_space
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (20, 3, 8, 8), dtype=torch.uint8, generator=g)
    data = make_image_dataset("toy", x, torch.arange(20) % 4, x[:4], torch.arange(4))
    space = get_space("nb201")
    s = {**space.resolve({"init_channels": 4, "layers": 3}), "seed": 0, "train_portion": 0.5,
         "screen_candidates": 4, "screen_top": 2, "proxy_filter": 1, **settings}
    modality = SimpleNamespace(data=data, shape=DataShape(3, 8, 8, 4), proxy_evaluator=None)
    return SimpleNamespace(settings=s, space=space, data=modality, device="cpu")


def test_the_settings_wrap_a_strategy_that_screens_real_networks():
    from darts.spaces.nb201.sampling import Nb201ArchSpace
    from darts.strategies.proxy_guided import guide_by_proxy
    inner = build_strategy("random", Nb201ArchSpace(), seed=0)
    assert guide_by_proxy(inner, prepared_search(proxy_screen=None)) is inner
    guided_search = guide_by_proxy(inner, prepared_search(proxy_screen="synflow"))
    assert isinstance(guided_search, ProxyGuided) and guided_search.inner is inner
    first = guided_search.ask()
    assert guided_search.history_fields()["proxy_score"] == max(guided_search.scores.values()) > 0
    assert len(guided_search.scores) == 4 and guided_search.ask() != first
    with pytest.raises(UserError, match="unknown proxy"):
        guide_by_proxy(inner, prepared_search(proxy_screen="nope"))
    with pytest.raises(UserError, match="exceeds"):
        guide_by_proxy(inner, prepared_search(proxy_screen="naswot", screen_top=5))
