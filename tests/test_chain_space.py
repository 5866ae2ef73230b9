"""The chain-structured DARTS space (--space darts_chain): its supernet holds only the edges a chain cell can
have (each node reads the node before it), every weight of it is trained, and its derived genotype keeps each
node's two strongest ops of that edge; with the cost term and cap it prices only those edges."""
import json

import pytest
import torch

from darts import api
from darts.spaces.darts_cnn.search import SearchCell, SearchNetwork, cell_edges
from darts.spaces.registry import get_space, space_of
from tests.test_bad_input import TINY, refused
from tests.test_relaxations import resumes_exactly
from tests.test_resource_cost import SMALL, digits, table

OPS = ["none", "skip_connect", "max_pool_3x3", "sep_conv_3x3"]


def test_a_chain_cell_computes_each_node_from_the_node_before_it_only():
    torch.manual_seed(0)
    cell = SearchCell(OPS, 4, 4, 12, 12, 6, reduction=False, reduction_prev=False, chain=True).eval()
    assert cell_edges(4, chain=True) == [(0, 1), (1, 2), (2, 3), (3, 4)] and len(cell.edges) == 4
    assert cell.preprocess0 is None  # a chain never reads the older input
    s0, s1 = torch.randn(2, 12, 8, 8), torch.randn(2, 12, 8, 8)
    w = torch.softmax(torch.randn(4, len(OPS)), -1)
    states = [None, cell.preprocess1(s1)]
    for i in range(4):
        states.append(sum(w[i, k] * op(states[i + 1]) for k, op in enumerate(cell.edges[i]._ops)))
    expected = torch.cat(states[2:], dim=1)
    assert torch.allclose(cell(s0 + 1.0, s1, w), expected, atol=1e-6)  # s0 changes nothing


def test_every_weight_of_the_chain_supernet_is_trained_and_it_is_smaller():
    torch.manual_seed(0)
    chain = SearchNetwork(8, 10, 5, primitives=OPS, chain=True)
    full = SearchNetwork(8, 10, 5, primitives=OPS)
    assert chain.alphas_normal.shape == (4, len(OPS)) and full.alphas_normal.shape == (14, len(OPS))
    assert sum(p.numel() for p in chain.weights()) < 0.4 * sum(p.numel() for p in full.weights())
    chain(torch.randn(4, 3, 16, 16)).logsumexp(-1).sum().backward()
    unused = [n for n, p in chain.named_parameters() if p.grad is None]
    assert not unused


def test_the_derived_chain_keeps_each_nodes_two_strongest_ops_and_runs_as_a_darts_genotype():
    torch.manual_seed(1)
    net = SearchNetwork(8, 10, 5, primitives=OPS, chain=True)
    with torch.no_grad():
        net.alphas_normal.copy_(torch.randn(4, len(OPS)))
        net.alphas_reduce.copy_(torch.randn(4, len(OPS)))
    genotype = net.genotype()
    for cell, alphas in ((genotype.normal, net.alphas_normal), (genotype.reduce, net.alphas_reduce)):
        for i in range(4):
            real = sorted(range(1, len(OPS)), key=lambda k: -float(alphas[i, k].detach()))[:2]
            assert cell[2 * i: 2 * i + 2] == [(OPS[k], i + 1) for k in real]
    assert space_of(genotype).name == "darts"  # retrained by the darts space
    x = torch.randn(2, 3, 16, 16)
    assert net.forward_path(x, genotype).shape == (2, 10)
    network = api.build_network(genotype, init_channels=8, layers=5)
    assert network(x)[0].shape == (2, 10)


def test_the_cost_term_weighs_only_the_chains_edges():
    net = SearchNetwork(8, 10, 5, primitives=OPS, chain=True)
    costs = net.cost_model()
    term = costs.expected_cost(1.0, table(), net.relaxation.probabilities)
    assert [c.shape for c in term.costs] == [(4, len(OPS))] * 2
    assert float(term.expected(net.alphas())) > 0


def test_a_chain_space_search_with_a_cost_cap_derives_chains_and_resumes_exactly(tmp_path, monkeypatch):
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps(table()))
    run = api.search(digits(), space="darts_chain", save=tmp_path / "run", cost_cap="ResidualSepConv",
                     op_costs=str(costs), **SMALL)
    for cell in (run.genotype.normal, run.genotype.reduce):
        assert [e for _, e in cell] == [1, 1, 2, 2, 3, 3, 4, 4]
    from darts.spaces.darts_cnn import resource_cost
    monkeypatch.setattr(resource_cost, "measure_op_costs", lambda *a, **k: table())
    resumes_exactly(tmp_path / "cli", monkeypatch, ["--space", "darts_chain", "--cost_weight", "0.5"])


@pytest.mark.parametrize("flags, needle", [
    (["--space", "darts_chain", "--strategy", "random"], "cannot be used for --strategy random"),
    (["--space", "darts_chain", "--chain_cells"], "offers no such choice"),
    (["--space", "darts_chain", "--partial_channels", "2"], "partial_channels")])
def test_what_the_chain_space_does_not_offer_is_refused(tmp_path, capsys, flags, needle):
    import train_search
    refused(train_search.main, TINY + flags + ["--save", str(tmp_path / "run")], capsys, tmp_path, needle)
    assert not (tmp_path / "run").exists()
    assert get_space("darts_chain").description
