"""NAS-Bench-201: architecture strings and table indices, the results table, the supernet, the networks."""
import csv
import functools

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from darts.errors import UserError
from darts.spaces.nb201.benchmark import Nb201Benchmark, Nb201BenchmarkEvaluator, Nb201Table
from darts.spaces.nb201 import (EDGES, NB201_OPS, NUM_ARCHS, Nb201Arch, Nb201ArchError, Nb201Network,
                                Nb201SearchNetwork, parse_arch)
from darts.spaces.common.nb201_cell import Nb201Cell
from darts.spaces.nb201.search import search_cell
from darts.strategies.architect import Architect
from darts.training import frozen_batchnorm_stats

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@functools.lru_cache(maxsize=None)
def _read(path):
    with open(path, newline="") as f:
        return Nb201Table(path), list(csv.DictReader(f))


@pytest.fixture
def table_path(shared_file):
    return shared_file("nb201/nats_bench_tss_200ep.csv")


@pytest.fixture
def table(table_path):
    return _read(table_path)[0]


@pytest.fixture
def rows(table_path):
    return _read(table_path)[1]


def test_string_and_index_round_trip_for_every_cell(rows):
    seen = set()
    for i, row in enumerate(rows):
        arch = Nb201Arch.from_index(i)
        text = arch.to_string()
        assert text == row["ArchitectureString"], f"row {i}"
        back = parse_arch(text)
        assert back == arch and back.index == i
        assert arch.canonical() == row["UniqueString"], f"row {i}: isomorphism key differs from the table's"
        seen.add(arch.ops)
    assert len(seen) == NUM_ARCHS == 5 ** 6


def test_table_values(table):
    assert table.test_accuracy(6111) == pytest.approx(94.37, abs=0.005)
    assert table.query(BEST).index == 6111 and table.best("cifar10").index == 6111
    assert table.test_accuracy(ALL_SKIP) == pytest.approx(54.30, abs=0.005)
    assert table.test_accuracy(parse_arch(ALL_NONE)) == pytest.approx(10.00, abs=0.005)
    # string, index and genotype agree, on every dataset
    rec = table.query(BEST)
    assert rec.accuracy["cifar100"] == table.test_accuracy(6111, "CIFAR-100") == table.test_accuracy(rec.arch, "cifar100")
    assert set(rec.accuracy) == {"cifar10", "cifar100", "ImageNet16-120"}
    evaluator = Nb201BenchmarkEvaluator(Nb201Benchmark(table.path, isomorphs="exact"), "cifar10",
                                        reward="test200-leaks-test")  # only under the name that says so
    assert evaluator.evaluate(parse_arch(BEST)) == table.test_accuracy(BEST)
    with pytest.raises(UserError, match="no dataset"):
        table.test_accuracy(0, "mnist")
    with pytest.raises(UserError, match="0..15624"):
        table.query(NUM_ARCHS)


def test_isomorphic_cells_are_recognised(table):
    # node 1 only feeds 'none' edges, so its operation cannot change the output
    a = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    b = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    assert table.isomorphic(a, b) and parse_arch(a).is_isomorphic(parse_arch(b))
    assert {table.index_of(a), table.index_of(b)} <= set(table.isomorphs(a))
    assert not table.isomorphic(a, BEST)
    assert table.num_unique() == 6466  # the benchmark's published count of unique cells


@pytest.mark.parametrize("text,message", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "expected 3 nodes"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "node 2 needs 2 edge"),
    ("|conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv_3x3'"),
    ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "node 2 can only take inputs from nodes 0..1"),
    ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "two edges from node 0"),
    ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "must be op~source"),
    ("none~0+|none~0|none~1|+|none~0|none~1|none~2|", "must be written"),
])
def test_malformed_strings_name_the_problem(text, message):
    with pytest.raises(Nb201ArchError, match=message):
        parse_arch(text)
    assert issubclass(Nb201ArchError, UserError)


def test_edges_in_any_order_within_a_node_parse_to_the_same_cell():
    swapped = "|nor_conv_3x3~0|+|nor_conv_3x3~1|nor_conv_3x3~0|+|nor_conv_1x1~2|skip_connect~0|nor_conv_3x3~1|"
    assert parse_arch(swapped) == parse_arch(BEST)
    assert str(parse_arch(swapped)) == BEST


def test_table_rejects_files_that_are_not_the_benchmark(tmp_path, rows):
    with pytest.raises(UserError, match="not found"):
        Nb201Table(tmp_path / "missing.csv")
    bad = tmp_path / "reordered.csv"
    with open(bad, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows([rows[1], rows[0]] + rows[2:])
    with pytest.raises(UserError, match="index order"):
        Nb201Table(bad)


# --- networks ---------------------------------------------------------------------------------------

def test_search_and_final_cells_share_the_computation():
    """A supernet cell with one-hot weights computes exactly the final cell made of the chosen ops."""
    torch.manual_seed(0)
    cell = search_cell(3, NB201_OPS).double()
    arch = parse_arch("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    weights = F.one_hot(torch.tensor(arch.codes), len(NB201_OPS)).double()
    chosen = [cell.edges[e]._ops[c] for e, c in enumerate(arch.codes)]
    final = Nb201Cell(chosen, active=[op != "none" for op in arch.ops])
    x = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(cell(x, weights), final(x), rtol=0, atol=1e-12)


def test_final_network_shapes_and_the_all_none_cell_ignores_its_input():
    net = Nb201Network(BEST, C=4, N=1, num_classes=5, in_channels=1)
    assert net(torch.randn(3, 1, 7, 7)).shape == (3, 5)  # odd sizes pass the residual reductions
    dead = Nb201Network(ALL_NONE, C=4, N=1, num_classes=5).eval()
    out = dead(torch.randn(4, 3, 8, 8))
    torch.testing.assert_close(out, out[:1].expand_as(out))  # why all-none scores 10 %: chance


def test_supernet_contract_and_argmax_discretizer():
    net = Nb201SearchNetwork(C=4, N=1, num_classes=3)
    assert [a.shape for a in net.alphas()] == [(len(EDGES), len(NB201_OPS))]
    assert all(p is not net.alphas_edges for p in net.weights())
    assert len(net.weights()) + 1 == len(list(net.parameters()))
    with torch.no_grad():
        net.alphas_edges.zero_()
        target = parse_arch(ALL_SKIP)
        for e, c in enumerate(target.codes):
            net.alphas_edges[e, c] = 1.0
        net.alphas_edges[0, 0] = 2.0  # 'none' wins edge 1<-0: kept, as the benchmark's DARTS does
    g = net.genotype()
    assert g.ops[0] == "none" and g.ops[1:] == target.ops[1:]
    summary = net.alpha_summary()
    assert len(summary["edges"]) == 6 and all(abs(sum(r) - 1) < 1e-6 for r in summary["edges"])
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 3)
    Nb201Network(g, C=4, N=1, num_classes=3)  # the derived cell builds a final network


def ce_loss(forward, batch):
    x, y = batch
    return F.cross_entropy(forward(x), y)


def test_architect_gradient_matches_autograd_on_the_supernet():
    torch.manual_seed(0)
    model = Nb201SearchNetwork(C=2, N=1, num_classes=3, in_channels=1).double()
    with torch.no_grad():
        model.alphas_edges.normal_(0, 0.5)
    opt = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    g = torch.Generator().manual_seed(1)
    train = (torch.randn(6, 1, 8, 8, generator=g, dtype=torch.float64), torch.randint(0, 3, (6,), generator=g))
    val = (torch.randn(6, 1, 8, 8, generator=g, dtype=torch.float64), torch.randint(0, 3, (6,), generator=g))
    opt.zero_grad()
    ce_loss(model, train).backward()
    opt.step()  # fills the momentum buffers the virtual step uses
    opt.zero_grad()
    names, weights = zip(*model.named_weights())
    with frozen_batchnorm_stats(model):
        grads = torch.autograd.grad(ce_loss(model, train), weights, create_graph=True)
        w_prime = [w - 0.05 * (0.9 * opt.state[w]["momentum_buffer"] + gi + 3e-4 * w) for w, gi in zip(weights, grads)]
        val_loss = ce_loss(lambda x: functional_call(model, dict(zip(names, w_prime)), (x,)), val)
        expected = torch.autograd.grad(val_loss, model.alphas())[0]
    got, _ = Architect(model, ce_loss, opt, unrolled=True, hessian="exact").hypergradient(train, val)
    assert float((got[0] - expected).norm() / expected.norm()) < 1e-8
    fd, _ = Architect(model, ce_loss, opt, unrolled=True, fd_radius=1e-6).hypergradient(train, val)
    assert float((fd[0] - expected).norm() / expected.norm()) < 1e-4
    first, _ = Architect(model, ce_loss, opt).hypergradient(train, val)
    assert float((first[0] - expected).norm() / expected.norm()) > 1e-3  # genuinely second order
