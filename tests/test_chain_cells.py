"""--chain_cells: each node of a derived DARTS cell takes two ops of the node before it (the first node of the
newer cell input), ResidualSepConv's topology, with and without a cost cap."""
from itertools import combinations, product

import pytest
import torch
import torch.nn.functional as F

from darts.spaces.genotype_io import load_genotype
from darts.ops import PRIMITIVES
from darts.spaces.common.cell_discretize import CHAIN, SAME_INPUT, derive_cell, derive_cell_within
from darts.spaces.darts_cnn.discretize import derive_genotype
from darts.spaces.derivation import Derivation
from tests.test_bad_input import TINY, refused
from tests.test_resource_cost import SMALL_OPS, table
from tests.test_same_input import capped_search_derives_and_resumes, random_cells, starts_of


@pytest.mark.parametrize("seed", range(3))
def test_each_node_keeps_the_two_strongest_ops_of_the_node_before_it(seed):
    for w, edge_scale, s, real in random_cells(seed):
        gene = derive_cell(w, PRIMITIVES, 4, edge_scale=edge_scale, rule=CHAIN)
        for i, start in enumerate(starts_of(4)):
            row = start + i + 1  # node i reads node i - 1; node 0 the newer input (index 1)
            ops = sorted(((float(w[row, j] * s[row]), PRIMITIVES[j]) for j in real), reverse=True)
            assert gene[2 * i: 2 * i + 2] == [(op, i + 1) for _, op in ops[:2]]


def all_chain_cells(steps):
    """Every chain cell of `steps` nodes over SMALL_OPS: node i keeps two distinct ops of row start_i + i + 1."""
    starts = starts_of(steps)
    nodes = [list(combinations([(starts[i] + i + 1, j) for j in (1, 2, 3)], 2)) for i in range(steps)]
    return [sum((list(c) for c in choice), []) for choice in product(*nodes)]


@pytest.mark.parametrize("seed", range(3))
def test_capped_chain_derivation_is_the_best_chain_cell_by_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    steps, starts = 3, starts_of(3)
    w = F.softmax(torch.randn(9, 4, generator=g), -1)
    costs = torch.rand(9, 4, generator=g) * torch.tensor([0.0, 0.1, 0.5, 1.0])
    inputs = (0.6, 0.2) if seed % 2 else (0.0, 0.0)

    def cost(cell):  # a chain cell reads input 1 only
        return sum(float(costs[r, j]) for r, j in cell) + inputs[1]
    cells = [(c, cost(c)) for c in all_chain_cells(steps)]
    for budget in (0.3, 1.0, 1.6, 3.5):
        fitting = [c for c, price in cells if price <= budget]
        if not fitting:
            with pytest.raises(ValueError, match="cheapest"):
                derive_cell_within(w, SMALL_OPS, steps, costs, budget, input_costs=inputs, rule=CHAIN)
            continue
        best = max(sum(float(w[r, j]) for r, j in c) for c in fitting)
        gene = derive_cell_within(w, SMALL_OPS, steps, costs, budget, input_costs=inputs, rule=CHAIN)
        rows = [(starts[k // 2] + e, SMALL_OPS.index(op)) for k, (op, e) in enumerate(gene)]
        assert [e for _, e in gene] == [1, 1, 2, 2, 3, 3]
        assert len(set(rows)) == len(rows) and cost(rows) <= budget + 1e-9
        assert sum(float(w[r, j]) for r, j in rows) == pytest.approx(best)
    assert derive_cell_within(w, SMALL_OPS, steps, costs, float("inf"), rule=CHAIN) == \
        derive_cell(w, SMALL_OPS, steps, rule=CHAIN)


def test_alphas_favouring_other_inputs_still_give_a_chain_and_residual_sepconv_is_derivable():
    """Alphas strongest on edges from the cell inputs: DARTS reads them, the chain rule reads the node before.
    Alphas that favour ResidualSepConv's pairs under its own cost give its normal cell."""
    from darts.spaces.darts_cnn.resource_cost import cost_cap
    w = torch.full((14, len(PRIMITIVES)), 0.01)
    for start in starts_of(4):
        w[start, PRIMITIVES.index("sep_conv_5x5")] = 0.9  # every node's edge from input 0
    assert all(e == 0 for _, e in derive_cell(w, PRIMITIVES, 4, rule=SAME_INPUT))
    assert [e for _, e in derive_cell(w, PRIMITIVES, 4, rule=CHAIN)] == [1, 1, 2, 2, 3, 3, 4, 4]
    t = table()
    t["inputs"] = {"normal": [0.5, 0.5], "reduce": [0.0, 0.0]}
    cell = load_genotype("ResidualSepConv", PRIMITIVES)
    for k, (op, e) in enumerate(cell.normal):
        w[starts_of(4)[k // 2] + e, PRIMITIVES.index(op)] = 0.5 if op == "sep_conv_3x3" else 0.4
    cap = cost_cap(t, PRIMITIVES, cell, node_rule="chain")
    assert derive_genotype(w, w, PRIMITIVES, derivation=Derivation("chain", cost_cap=cap)).normal == cell.normal


def test_a_chain_search_derives_from_its_alphas_and_resumes_exactly(tmp_path, monkeypatch):
    genotype = capped_search_derives_and_resumes(tmp_path, monkeypatch, "chain_cells", "chain")
    for cell in (genotype.normal, genotype.reduce):
        assert [e for _, e in cell] == [1, 1, 2, 2, 3, 3, 4, 4]


@pytest.mark.parametrize("flags, needle", [
    (["--chain_cells", "--selection", "pt"], "use one"),
    (["--space", "nb201", "--chain_cells"], "offers no such choice")])
def test_chain_cells_where_they_cannot_apply_are_refused(tmp_path, capsys, flags, needle):
    import train_search
    refused(train_search.main, TINY + flags + ["--save", str(tmp_path / "run")], capsys, tmp_path, needle)
    assert not (tmp_path / "run").exists()


def test_a_cap_cell_cheaper_than_any_chain_cell_is_refused_unless_the_fit_rescales_it():
    """A pool-less chain's reduction cell must read the newer input with two stride-2 ops; ResidualSepConv's
    takes a max pool there, so it can be cheaper than every chain cell. Summed op costs refuse it; with
    --cost_cap_by step_time (raise_to_cheapest) that budget starts at the cheapest chain cell."""
    from darts.errors import UserError
    from darts.spaces.darts_cnn.resource_cost import cost_cap
    ops = ["none", "skip_connect", "sep_conv_3x3"]
    t = table()
    t["reduce"]["max_pool_3x3"], t["reduce"]["skip_connect"] = 0.01, 1.0  # a factorized reduction costs
    cell = load_genotype("ResidualSepConv", PRIMITIVES)
    with pytest.raises(UserError, match="reduction cell costs .* give a dearer cell"):
        cost_cap(t, ops, cell, node_rule="chain")
    cap = cost_cap(t, ops, cell, node_rule="chain", raise_to_cheapest=True)
    w = torch.ones(14, len(ops))
    reduce = derive_cell_within(w, ops, 4, cap[1][0], cap[1][1], input_costs=cap[1][2], rule=CHAIN)
    assert cap[1][1] > cost_cap(t, PRIMITIVES, cell)[1][1]
    with pytest.raises(ValueError):
        derive_cell_within(w, ops, 4, cap[1][0], cap[1][1] * 0.999, input_costs=cap[1][2], rule=CHAIN)
    assert [e for _, e in reduce] == [1, 1, 2, 2, 3, 3, 4, 4]
    assert cap[0][1] == cost_cap(t, PRIMITIVES, cell)[0][1]  # the normal budget is the cell's own
