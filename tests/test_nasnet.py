"""The NASNet space: genotype JSON, every sampled cell builds and runs, NASNet-A at the paper's size, and
sample-based search end to end (random search and evolution, rewards by low-fidelity training)."""
import json
import random

import pytest
import torch

from darts.errors import UserError
from darts.evaluators import TrainingEvaluator
from darts.spaces.genotype_io import load_genotype
from darts.ops import check_primitives
from darts.spaces.nasnet.genotype import (NasnetCell, NasnetGenotype, from_darts_genotype, nasnet_a_reference,
                                          unused_states)
from darts.spaces.nasnet.network import NasnetNetwork
from darts.spaces.nasnet.ops import NASNET_OPS
from darts.spaces.registry import DataShape, genotype_from_record, genotype_record, get_space
from darts.strategies.base import run_strategy
from darts.strategies.registry import build_strategy

SPACE = get_space("nasnet")


def adapter(**opts):
    return SPACE.arch_space(SPACE.resolve(opts))


def count(net):
    return sum(p.numel() for p in net.parameters())


def test_the_papers_thirteen_operations_keep_channels_and_stride():
    assert len(NASNET_OPS) == 13 == len(set(NASNET_OPS))
    assert check_primitives(list(NASNET_OPS)) == list(NASNET_OPS)  # probes stride 1 and 2 on every op


def test_genotype_json_round_trip_and_errors():
    space = adapter()
    for seed in range(5):
        g = space.sample_random(random.Random(seed))
        record = json.loads(json.dumps(genotype_record(g)))
        assert record["space"] == "nasnet" and genotype_from_record(record) == g
        assert space.from_decisions(space.to_decisions(g)) == g and space.decode(space.encode(g)) == g
    record = genotype_record(g)
    record["normal"]["blocks"][0][1] = 2  # block 0 can only take the two cell inputs
    with pytest.raises(UserError, match="block 0 takes hidden state 2"):
        genotype_from_record(record)
    record["normal"]["blocks"][0][1] = 0
    record["normal"]["blocks"][0][4] = "mul"
    with pytest.raises(UserError, match="combines by 'mul'"):
        genotype_from_record(record)


def test_sampled_cells_output_their_unused_states_and_mutate_one_decision():
    space, rng = adapter(), random.Random(0)
    for _ in range(20):
        g = space.sample_random(rng)
        for cell in (g.normal, g.reduce):
            used = {i for b in cell.blocks for i in b.inputs}
            assert cell.concat == unused_states(cell.blocks) and not used & set(cell.concat)
            assert 2 + len(cell.blocks) - 1 in cell.concat  # the last block is never used
        child = space.mutate(g, rng)
        diff = sum(a != b for a, b in zip(space.to_decisions(g), space.to_decisions(child)))
        assert diff == 1


@pytest.mark.parametrize("size", [8, 32])
def test_every_sampled_cell_builds_and_runs(size):
    space, rng = adapter(), random.Random(size)
    for k in range(6):
        g = space.sample_random(rng)
        net = SPACE.build_network(g, {"init_channels": 4, "cells_per_stack": 1, "auxiliary": k % 2 == 0},
                                  DataShape(in_channels=1 + k % 3, height=size, width=size, num_classes=7))
        net.train()
        net.drop_path_prob = 0.2
        logits, aux = net(torch.randn(2, 1 + k % 3, size, size))
        assert logits.shape == (2, 7) and (aux is None) == (k % 2 == 1)
        if aux is not None:
            assert aux.shape == (2, 7)
        (logits.sum() + (aux.sum() if aux is not None else 0)).backward()
        net.eval()
        assert net(torch.randn(3, 1 + k % 3, size, size))[0].shape == (3, 7)


def test_nasnet_a_is_expressible_and_has_the_papers_size():
    """NASNet-A 6 @ 768 (Table 1 of the paper: 3.3M parameters): N = 6 normal cells per stack, F = 32 filters,
    the reference implementation's cell outputs; auxiliary head excluded (it is dropped at test time)."""
    darts_a = load_genotype("NASNet")
    converted = from_darts_genotype(darts_a)
    assert all(b.combine == "add" for c in (converted.normal, converted.reduce) for b in c.blocks)
    assert [(op, i) for b in converted.normal.blocks for op, i in zip(b.ops, b.inputs)] == \
        [tuple(e) for e in darts_a.normal]
    assert adapter().to_decisions(converted)  # every op and input is a decision of the space
    assert genotype_from_record(json.loads(json.dumps(genotype_record(converted)))) == converted
    reference = nasnet_a_reference()
    assert reference.normal.concat == (0, 2, 3, 4, 5, 6) and reference.reduce.concat == (3, 4, 5, 6)
    net = NasnetNetwork(reference, C=32, num_classes=10, cells_per_stack=6)
    assert net.penultimate_channels == 768
    assert count(net) == 3_328_234 and abs(count(net) - 3.3e6) < 0.05e6
    with_aux = NasnetNetwork(reference, C=32, num_classes=10, cells_per_stack=6, auxiliary=True)
    # DARTS's CIFAR head on the second reduction cell's 4 x 128 channels: 1x1 conv to 128, 2x2 conv to 768
    assert count(with_aux) - count(net) == 512 * 128 + 2 * 128 + 128 * 768 * 4 + 2 * 768 + 768 * 10 + 10
    # the DARTS transcription's cell outputs (5 normal states, 3 reduction states): 640 channels
    assert NasnetNetwork(converted, C=32, num_classes=10, cells_per_stack=6).penultimate_channels == 640


def digits(n_train=300, n_val=200):
    from darts.data import load_image_dataset
    data = load_image_dataset("digits", None)
    x = data.train_x.float() / 255.0
    x = (x - x.mean()) / x.std()
    y = data.train_y.long()
    return x[:n_train], y[:n_train], x[n_train:n_train + n_val], y[n_train:n_train + n_val]


def retrain_and_draw(genotype, tx, ty):
    net = SPACE.build_network(genotype, {"init_channels": 4, "cells_per_stack": 1}, DataShape(1, 8, 8, 10))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for step in range(6):
        loss = torch.nn.functional.cross_entropy(net(tx[:64])[0], ty[:64])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    diagrams = SPACE.diagrams(genotype)
    for part, cell in (("normal", genotype.normal), ("reduce", genotype.reduce)):
        assert all(op in diagrams[part].source for b in cell.blocks for op in b.ops)


@pytest.mark.parametrize("name", ["random", "evolution"])
def test_search_end_to_end_on_digits(name):
    tx, ty, vx, vy = digits()
    build = lambda g, c, k: SPACE.build_network(g, {"init_channels": 4, "cells_per_stack": 1}, DataShape(c, 8, 8, k))
    evaluator = TrainingEvaluator(build, tx, ty, vx, vy, epochs=1, batch_size=50, num_classes=10, dataset="digits",
                                  arch_key=str)
    options = {"population_size": 2, "sample_size": 2} if name == "evolution" else {}
    result = run_strategy(build_strategy(name, adapter(), seed=0, **options), evaluator, 3, progress=False)
    assert len(result.records) == 3 and all(0.0 <= r["reward"] <= 100.0 for r in result.records)
    best = genotype_from_record(json.loads(json.dumps(genotype_record(result.best_arch))))
    assert best == result.best_arch
    retrain_and_draw(best, tx, ty)


def test_nasnet_a_retrains_and_the_space_options_are_checked():
    tx, ty, _, _ = digits(64, 0)
    retrain_and_draw(nasnet_a_reference(), tx, ty)
    with pytest.raises(UserError, match="combines"):
        adapter(combines="add,mul")
    only_add = adapter(combines="add", primitives="sep_conv_3x3,skip_connect", blocks=2)
    g = only_add.sample_random(random.Random(0))
    assert len(g.normal.blocks) == 2 and {b.combine for b in g.normal.blocks} == {"add"}
    assert isinstance(g, NasnetGenotype) and isinstance(g.normal, NasnetCell)
