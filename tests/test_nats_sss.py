"""The NATS-Bench size space as a registry space, and the reader of NATS-Bench's own record files, checked
on the benchmark's fixture records in ../shared/data/nats (three architectures of each space)."""
import random

import pytest
import torch

from darts.errors import UserError
from darts.spaces.nats_sss import NatsSizeArchSpace, NatsSizeNetwork, NatsTableEvaluator, SizeArch, read_records
from darts.spaces.nb201 import Nb201Arch
from darts.spaces.registry import DataShape, genotype_from_record, genotype_record, get_space
from darts.strategies.base import run_strategy
from darts.strategies.registry import build_strategy
from tests.test_nb101 import digits_evaluator

FIXTURES = (0, 11, 284)


@pytest.fixture
def sss(shared_file):
    return read_records(shared_file("nats/sss"))


@pytest.fixture
def tss(shared_file):
    return read_records(shared_file("nats/tss"))


def test_reader_reads_both_spaces(sss, tss):
    assert (sss.kind, len(sss), tss.kind, len(tss)) == ("sss", 32768, "tss", 15625)
    assert [sss.archs[i] for i in FIXTURES] == ["8:8:8:8:8", "8:8:8:16:32", "8:8:40:32:40"]
    assert tss.archs[11] == "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    assert sss.budgets(11) == [1, 12, 90] and tss.budgets(11) == [12, 200]
    r = sss.result("8:8:8:16:32", "cifar10-valid", 90)
    assert (r.index, r.seeds, r.epochs, len(r.curves["valid"])) == (11, (777,), 90, 90)
    assert r.valid_accuracy == pytest.approx(83.724, abs=1e-3) and r.test_accuracy == pytest.approx(83.35)
    assert r.params_m == pytest.approx(0.049202) and r.flops_m == pytest.approx(6.84065)
    # cifar10 (full training set) has no validation split; cifar100's test is its x-test half
    assert sss.result(11, "cifar10", 90).valid_accuracy is None
    assert sss.result(11, "cifar100", 90).test_accuracy == pytest.approx(53.68, abs=1e-2)
    mean = tss.result(11, "cifar10-valid", 200)  # three seeds, averaged
    assert mean.seeds == (777, 888, 999)
    assert mean.valid_accuracy == pytest.approx((87.94 + 87.748 + 88.132) / 3, abs=1e-3)
    with pytest.raises(UserError, match="no valid"):
        sss.accuracy(11, "cifar10", 90, "valid")
    with pytest.raises(UserError, match="no record"):
        sss.result(1, "cifar10", 90)
    with pytest.raises(UserError, match="budgets"):
        sss.result(11, "cifar10", 200)


def test_index_order_is_the_benchmarks(sss):
    assert all(SizeArch.from_string(a).index == i for i, a in enumerate(sss.archs))
    assert SizeArch.from_index(284) == SizeArch((8, 8, 40, 32, 40))


@pytest.mark.parametrize("dataset, classes", [("cifar10", 10), ("cifar100", 100), ("ImageNet16-120", 120)])
def test_network_size_equals_the_published_parameter_counts(sss, dataset, classes):
    for index in FIXTURES:
        net = NatsSizeNetwork(SizeArch.from_string(sss.archs[index]), classes)
        published = sss.result(index, dataset, 90).params_m
        assert sum(p.numel() for p in net.parameters()) == round(published * 1e6)


def test_table_rewards_12_epoch_validation_and_reports_test(shared_file):
    space = get_space("nats_sss")
    folder = shared_file("nats/sss")
    evaluator, report = space.table(str(folder), "cifar10", "valid12")
    arch = SizeArch.from_string("8:8:40:32:40")
    records = evaluator.records
    assert evaluator.evaluate(arch) == pytest.approx(records.result(284, "cifar10-valid", 12).valid_accuracy)
    assert report(arch)["nats_cifar10_test90"] == pytest.approx(records.result(284, "cifar10", 90).test_accuracy)
    with pytest.raises(UserError, match="leaks"):
        space.table(str(folder), "cifar10", "test90")


def test_the_same_evaluator_reads_the_topology_space(tss):
    """The reader and evaluator are format-level: NAS-Bench-201 cells are looked up by their string."""
    cell = Nb201Arch.from_string(tss.archs[11])
    evaluator = NatsTableEvaluator(tss, "cifar100", "valid12")
    assert evaluator.evaluate(cell) == pytest.approx(tss.result(11, "cifar100", 12).valid_accuracy)
    full = tss.result(11, "cifar100", 200)
    assert evaluator.report(cell)["nats_cifar100_test200"] == pytest.approx(full.test_accuracy)


def test_genotype_json_round_trip_and_checks():
    arch = SizeArch((64, 32, 48, 8, 64))
    record = genotype_record(arch)
    assert record == {"space": "nats_sss", "channels": [64, 32, 48, 8, 64]} and str(arch) == "64:32:48:8:64"
    assert genotype_from_record(record) == arch
    for bad in ([64, 32, 48, 8], [64, 32, 48, 8, 12], "64:32:48:8:64"):
        with pytest.raises(UserError):
            genotype_from_record({"space": "nats_sss", "channels": bad})


def test_sampling_mutation_and_decisions():
    space, rng = NatsSizeArchSpace(), random.Random(0)
    assert space.decisions() == [8] * 5
    for _ in range(20):
        arch = space.sample_random(rng)
        child = space.mutate(arch, rng)
        assert sum(a != b for a, b in zip(arch.channels, child.channels)) == 1
        assert space.from_decisions(space.to_decisions(arch)) == arch == space.decode(space.encode(arch))


@pytest.mark.parametrize("strategy, options", [("random", {}), ("evolution", {"population_size": 2, "sample_size": 2})])
def test_search_end_to_end_on_digits(strategy, options):
    evaluator = digits_evaluator("nats_sss", {"channel_divisor": 4})  # widths 2..16
    result = run_strategy(build_strategy(strategy, get_space("nats_sss").arch_space({}), seed=0, **options),
                          evaluator, 3, progress=False)
    assert len(result.records) == 3 and result.best_reward > 20.0  # chance is 10 %


def test_final_network_runs_on_small_and_large_images_and_draws():
    space = get_space("nats_sss")
    arch = SizeArch((16, 8, 24, 8, 16))
    for opts in ({}, {"cells_per_stage": 2}):
        net = space.build_network(arch, space.resolve(opts), DataShape(1, 8, 8, 10))
        for size in (8, 28):
            assert net(torch.randn(2, 1, size, size)).shape == (2, 10)
    graphs = space.diagrams(arch)
    assert "24 ch" in graphs["network"].source and "nor_conv_3x3" in graphs["cell"].source
