"""NAS-Bench-101 as a registry space: the benchmark's hash, pruning and network size against its published
table (the 30-cell sample in ../shared/data/nb101), the query API, sampling and a tiny search on digits."""
import pickle
import random

import pytest
import torch

from darts.errors import UserError
from darts.evaluators.training import TrainingEvaluator
from darts.spaces.nb101 import NB101Benchmark, ModelSpec, Nb101ArchSpace, Nb101Network, prune
from darts.spaces.nb101.spec import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT
from darts.spaces.registry import DataShape, genotype_from_record, genotype_record, get_space
from darts.strategies.base import run_strategy
from darts.strategies.registry import build_strategy


@pytest.fixture
def table_path(shared_file):
    return shared_file("nb101/nb101_dummy.pkl")


@pytest.fixture
def published(table_path):
    with open(table_path, "rb") as f:
        return pickle.load(f)


def spec_of(fixed: dict) -> ModelSpec:
    return ModelSpec(fixed["module_adjacency"].tolist(), fixed["module_operations"])


CHAIN = ModelSpec([[0, 1, 0, 0, 0],
                   [0, 0, 1, 0, 0],
                   [0, 0, 0, 1, 0],
                   [0, 0, 0, 0, 1],
                   [0, 0, 0, 0, 0]], (INPUT, CONV3X3, CONV1X1, MAXPOOL3X3, OUTPUT))


def test_hash_is_the_benchmarks_for_every_published_cell(published):
    for key, (fixed, _) in published.items():
        assert spec_of(fixed).hash_spec() == key


def test_isomorphic_cells_share_a_hash_and_pruning_drops_dead_vertices():
    # two parallel branches, listed in the other order: the same cell
    a = ModelSpec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], (INPUT, CONV3X3, CONV1X1, OUTPUT))
    b = ModelSpec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], (INPUT, CONV1X1, CONV3X3, OUTPUT))
    assert a.hash_spec() == b.hash_spec() != CHAIN.hash_spec()
    # vertex 2 feeds nothing: pruned, and its op no longer matters
    dangling = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    matrix, ops = prune(ModelSpec(dangling, (INPUT, CONV3X3, MAXPOOL3X3, OUTPUT)).matrix,
                        (INPUT, CONV3X3, MAXPOOL3X3, OUTPUT))
    assert matrix == ((0, 1, 0), (0, 0, 1), (0, 0, 0)) and ops == (INPUT, CONV3X3, OUTPUT)
    assert (ModelSpec(dangling, (INPUT, CONV3X3, MAXPOOL3X3, OUTPUT)).hash_spec()
            == ModelSpec(dangling, (INPUT, CONV3X3, CONV1X1, OUTPUT)).hash_spec())


def test_invalid_cells_are_refused():
    disconnected = ModelSpec([[0, 1, 0], [0, 0, 0], [0, 0, 0]], (INPUT, CONV3X3, OUTPUT))
    assert not disconnected.is_valid() and "not connected" in disconnected.problem()
    full = [[int(j > i) for j in range(7)] for i in range(7)]  # 21 edges
    assert "edges" in ModelSpec(full, (INPUT, *[CONV3X3] * 5, OUTPUT)).problem()
    assert "unknown" in ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], (INPUT, "conv5x5", OUTPUT)).problem()
    with pytest.raises(UserError, match="upper triangular"):
        ModelSpec([[0, 0], [1, 0]], (INPUT, OUTPUT))
    with pytest.raises(UserError):
        genotype_from_record({"space": "nb101", "matrix": [[0, 1], [0, 0]], "ops": ["input", "conv3x3-bn-relu"]})


def test_network_size_equals_the_published_parameter_counts(published):
    """All 30 cells: our PyTorch network has exactly the benchmark's trainable parameters (built on the meta
    device, so nothing is allocated)."""
    for fixed, _ in published.values():
        with torch.device("meta"):
            net = Nb101Network(spec_of(fixed))
        assert sum(p.numel() for p in net.parameters()) == fixed["trainable_parameters"]


def test_query_api(table_path, published):
    bench = NB101Benchmark(table_path)
    key, (fixed, computed) = next(iter(published.items()))
    spec = spec_of(fixed)
    assert len(bench) == 30 and spec in bench and bench.is_valid(spec) and key in set(bench.hash_iterator())
    result = bench.query(spec, epochs=108)
    runs = computed[108]
    assert result["trainable_parameters"] == fixed["trainable_parameters"]
    assert result["validation_accuracy"] == pytest.approx(sum(r["final_validation_accuracy"] for r in runs) / len(runs))
    assert bench.query(spec, run=1)["test_accuracy"] == pytest.approx(runs[1]["final_test_accuracy"])
    assert bench.query(spec, stop_halfway=True)["train_accuracy"] < result["train_accuracy"]
    picks = [NB101Benchmark(table_path, seed=3).query(spec, run="random")["test_accuracy"] for _ in range(2)]
    assert picks[0] == picks[1] and picks[0] in [pytest.approx(r["final_test_accuracy"]) for r in runs]
    assert CHAIN not in bench
    with pytest.raises(UserError, match="not in"):
        bench.query(CHAIN)


def test_table_rewards_validation_and_reports_test(table_path, published):
    space = get_space("nb101")
    fixed, computed = next(iter(published.values()))
    evaluator, report = space.table(str(table_path), "cifar10", "valid108")
    spec = spec_of(fixed)
    mean = lambda k: 100 * sum(r[k] for r in computed[108]) / len(computed[108])
    assert evaluator.evaluate(spec) == pytest.approx(mean("final_validation_accuracy"))
    assert report(spec)["nb101_cifar10_test108"] == pytest.approx(mean("final_test_accuracy"))
    leaky, _ = space.table(str(table_path), "cifar10", "test108-leaks-test")
    assert leaky.evaluate(spec) == pytest.approx(mean("final_test_accuracy"))
    with pytest.raises(UserError):
        space.table(str(table_path), "cifar10", "test")
    with pytest.raises(UserError):
        space.table(str(table_path), "cifar100", "valid108")


def test_unsafe_pickles_are_refused(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(print))
    with pytest.raises(UserError, match="refusing"):
        NB101Benchmark(path)


def test_genotype_json_round_trip():
    record = genotype_record(CHAIN)
    assert record["space"] == "nb101" and record["ops"][0] == "input"
    assert genotype_from_record(record) == CHAIN


def test_sampling_mutation_and_decisions_give_valid_cells():
    space, rng = Nb101ArchSpace(), random.Random(0)
    for _ in range(20):
        spec = space.sample_random(rng)
        assert spec.is_valid() and len(spec.ops) == 7
        child = space.mutate(spec, rng)
        assert child.is_valid() and child.hash_spec() != spec.hash_spec()
        assert space.from_decisions(space.to_decisions(spec)).hash_spec() == spec.hash_spec()
        assert space.decode(space.encode(spec)) == spec
        decisions = [rng.randrange(k) for k in space.decisions()]  # any vector decodes to a valid cell
        assert space.from_decisions(decisions).is_valid()
    assert space.from_decisions(space.to_decisions(CHAIN)).hash_spec() == CHAIN.hash_spec()  # 5-vertex cell


def digits_evaluator(space_name: str, opts: dict) -> TrainingEvaluator:
    """Low-fidelity training of the space's networks on sklearn's 8x8 digits (1,000 images, 400 to validate)."""
    from darts.data import load_image_dataset
    data = load_image_dataset("digits", None)
    x = (data.train_x.float() / 255 - data.mean[0]) / data.std[0]
    space = get_space(space_name)
    opts = space.resolve(opts)
    build = lambda arch, c, n: space.build_network(arch, opts, DataShape(c, 8, 8, n))
    return TrainingEvaluator(build, x[:1000], data.train_y[:1000], x[1000:1400], data.train_y[1000:1400],
                             epochs=1, batch_size=50, dataset="digits")


@pytest.mark.parametrize("strategy, options", [("random", {}), ("evolution", {"population_size": 2, "sample_size": 2})])
def test_search_end_to_end_on_digits(strategy, options):
    evaluator = digits_evaluator("nb101", {"init_channels": 8, "layers": 3})
    result = run_strategy(build_strategy(strategy, get_space("nb101").arch_space({}), seed=0, **options),
                          evaluator, 3, progress=False)
    assert len(result.records) == 3 and result.best_reward > 20.0  # chance is 10 %
    assert genotype_from_record(genotype_record(result.best_arch)) == result.best_arch


def test_final_network_runs_on_small_and_large_images_and_draws():
    space = get_space("nb101")
    spec = ModelSpec([[0, 1, 1, 0, 1], [0, 0, 1, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
                     (INPUT, CONV3X3, MAXPOOL3X3, CONV1X1, OUTPUT))
    net = space.build_network(spec, space.resolve({"init_channels": 8, "layers": 6}), DataShape(1, 8, 8, 10))
    for size in (8, 28):
        assert net(torch.randn(2, 1, size, size)).shape == (2, 10)
    source = space.diagrams(spec)["cell"].source
    assert all(op in source for op in (CONV3X3, MAXPOOL3X3, CONV1X1))
    with pytest.raises(UserError, match="channels"):
        space.build_network(spec, space.resolve({"init_channels": 1}), DataShape(1, 8, 8, 10))


class EdgeCountEvaluator:
    """A stand-in reward (edges of the pruned cell), so REINFORCE can run on any cell it proposes."""
    name = "edges"

    def evaluate(self, spec: ModelSpec) -> float:
        return float(sum(map(sum, spec.pruned[0])))


def test_reinforce_proposes_only_valid_cells():
    space = Nb101ArchSpace()
    result = run_strategy(build_strategy("reinforce", space, seed=0), EdgeCountEvaluator(), 8, progress=False)
    assert all(space.decode(r["arch"]).is_valid() for r in result.records)
