"""The NAS-Bench-201 query API, its evaluators (validation reward unless told otherwise) and network costs."""
import bz2
import pickle

import pytest

from darts.errors import UserError
from darts.spaces.common.nb201_arch import parse_arch
from darts.spaces.nb201.benchmark import (VALID12_FILE, Nb201Benchmark, Nb201BenchmarkEvaluator,
                                          table_evaluator)

ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
BEST = 6111


@pytest.fixture(scope="module")
def paths(shared_file):
    return shared_file("nb201/nats_bench_tss_200ep.csv"), shared_file(f"nb201/{VALID12_FILE}")


@pytest.fixture(scope="module")
def bench(paths):
    return Nb201Benchmark(paths[0])


def test_query_known_cells(bench):
    assert bench.query(BEST, "cifar10", epochs=200, split="test") == pytest.approx(94.37, abs=0.005)
    assert bench.query(parse_arch(ALL_SKIP), "cifar10") == pytest.approx(54.30, abs=0.005)
    assert bench.query(str(parse_arch(ALL_SKIP))) == bench.query(parse_arch(ALL_SKIP).index)
    # the 12-epoch file's row 6111: validation 84.384 (cifar10-valid), test 88.79; CIFAR-100 60.2 / 60.3
    assert bench.query(BEST, "cifar10", epochs=12, split="valid") == pytest.approx(84.384)
    assert bench.query(BEST, "CIFAR-10", epochs=12, split="test") == pytest.approx(88.79)
    assert bench.query(BEST, "cifar100", 12, "valid") == pytest.approx(60.2)
    assert bench.query(BEST, "imagenet16-120", 12, "valid") == pytest.approx(37.1333)
    assert bench.best("cifar10") == BEST
    with pytest.raises(UserError, match="validation exists only at 12 epochs"):
        bench.query(BEST, "cifar10", epochs=200, split="valid")
    with pytest.raises(UserError, match="no dataset"):
        bench.query(BEST, "mnist")


def test_each_cell_answers_with_its_own_row_unless_the_class_mean_is_asked(paths, bench):
    """The official API's answer by default: a cell and its isomorph, trained separately, differ; the class mean
    (an option named for what it is) gives both the same number."""
    a = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|"
    pair = [i for i in bench.table.isomorphs(a) if i != parse_arch(a).index]
    assert bench.isomorphs == "exact" and bench.query(a) != bench.query(pair[0])
    assert bench.query(a) == bench.table.test_accuracy(a)
    assert table_evaluator(paths[0], "cifar10").bench.isomorphs == "exact"


def test_isomorphic_cells_give_the_same_answer_under_the_class_mean(paths):
    bench = Nb201Benchmark(paths[0], isomorphs="class_mean")
    # one conv reaching the output through `none`-padded nodes: 62 cells compute this; b has one isomorph
    a = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|"
    b = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|"
    pair = [i for i in bench.table.isomorphs(a) if i != parse_arch(a).index]
    assert pair, "the test needs a cell with an isomorph"
    for epochs, split in ((200, "test"), (12, "valid"), (12, "test")):
        assert bench.query(a, "cifar10", epochs, split) == bench.query(pair[0], "cifar10", epochs, split)
    exact = Nb201Benchmark(paths[0], isomorphs="exact")
    assert exact.query(BEST) == bench.query(BEST)  # a cell without isomorphs answers alike in both modes
    members = bench.table.isomorphs(b)
    assert bench.query(b) == pytest.approx(sum(exact.query(i) for i in members) / len(members))


def test_the_reward_is_validation_unless_the_option_says_test(paths):
    evaluator = table_evaluator(paths[0], "cifar10")
    assert evaluator.evaluate(BEST) == pytest.approx(84.384)  # 12-epoch validation, not 94.37
    assert "valid12" in evaluator.name
    report = evaluator.report(BEST)
    assert report["nb201_cifar10_test200"] == pytest.approx(94.373, abs=0.001)
    assert report["nb201_cifar10_valid12"] == pytest.approx(84.384)
    leaky = table_evaluator(paths[0], "cifar10", reward="test200-leaks-test")
    assert leaky.evaluate(BEST) == pytest.approx(94.373, abs=0.001) and leaky.name != evaluator.name
    with pytest.raises(UserError, match="unknown NAS-Bench-201 reward"):
        Nb201BenchmarkEvaluator(Nb201Benchmark(paths[0]), "cifar10", reward="test200")


def test_a_missing_12_epoch_file_is_one_clear_error(tmp_path, paths):
    lone = tmp_path / "table.csv"
    lone.write_bytes(paths[0].read_bytes())
    with pytest.raises(UserError, match="nb201_12ep_valid.csv.*not found.*12-epoch results"):
        table_evaluator(lone, "cifar10")
    assert table_evaluator(lone, "cifar10", valid_csv=paths[1]).evaluate(BEST) == pytest.approx(84.384)
    with pytest.raises(UserError, match="12-epoch results are not loaded"):
        Nb201Benchmark(lone).query(BEST, "cifar10", 12, "valid")


@pytest.mark.parametrize("record", ["000000", "000011", "000284"])
def test_costs_match_the_published_nats_records(shared_file, bench, record):
    """The records' `params` is in millions (their "MB") and `flop` in millions of multiply-adds plus one per
    classifier output; both equal our count of the same network (C=16, N=5) to the records' 5 decimals."""
    path = shared_file("nats/tss") / f"{record}.pickle.pbz2"
    with bz2.open(path, "rb") as f:
        results = pickle.load(f)["200"]
    arch = results["arch_str"]
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        published = results["all_results"][(dataset, 777)]
        cost = bench.cost(arch, dataset)
        assert cost["params_m"] == pytest.approx(float(published["params"]), abs=5e-7)
        assert cost["flops_m"] == pytest.approx(float(published["flop"]), abs=5e-6)
