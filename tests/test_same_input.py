"""--allow_same_input: a node of a derived DARTS cell may keep two ops of one input (a residual block, as in
ResidualSepConv), with and without a cost cap."""
import json
from itertools import combinations

import pytest
import torch
import torch.nn.functional as F

from darts import api
from darts.spaces.genotype_io import load_genotype
from darts.ops import PRIMITIVES
from darts.spaces.darts_cnn.resource_cost import cost_cap
from darts.spaces.common.cell_discretize import SAME_INPUT, derive_cell, derive_cell_within
from darts.spaces.darts_cnn.discretize import derive_genotype
from darts.spaces.derivation import Derivation
from tests.test_bad_input import TINY, refused
from tests.test_relaxations import resumes_exactly
from tests.test_resource_cost import CHEAP, SMALL, SMALL_OPS, digits, table


def starts_of(steps):
    return [sum(2 + j for j in range(i)) for i in range(steps)]


def random_cells(seed):
    """(weights, edge_scale, the scale as applied, the non-'none' op indices) of a random 4-node cell, without and
    with an edge scale."""
    g = torch.Generator().manual_seed(seed)
    w = F.softmax(torch.randn(14, len(PRIMITIVES), generator=g), -1)
    scale = torch.rand(14, generator=g)
    real = [j for j, p in enumerate(PRIMITIVES) if p != "none"]
    for edge_scale in (None, scale):
        yield w, edge_scale, torch.ones(14) if edge_scale is None else edge_scale, real


@pytest.mark.parametrize("seed", range(3))
def test_each_node_keeps_its_two_strongest_input_op_pairs(seed):
    for w, edge_scale, s, real in random_cells(seed):
        gene = derive_cell(w, PRIMITIVES, 4, edge_scale=edge_scale, rule=SAME_INPUT)
        for i, start in enumerate(starts_of(4)):
            pairs = sorted(((float(w[r, j] * s[r]), r - start, PRIMITIVES[j])
                            for r in range(start, start + i + 2) for j in real), reverse=True)
            assert gene[2 * i: 2 * i + 2] == [(op, e) for _, e, op in pairs[:2]]


def test_two_ops_of_one_input_are_kept_where_darts_takes_the_other_input():
    w = torch.full((14, len(PRIMITIVES)), 0.01)
    conv, skip = PRIMITIVES.index("sep_conv_3x3"), PRIMITIVES.index("skip_connect")
    w[1, conv], w[1, skip], w[0, skip] = 0.5, 0.4, 0.3  # node 0: input 1's convolution and identity lead
    assert derive_cell(w, PRIMITIVES, 4)[:2] == [("sep_conv_3x3", 1), ("skip_connect", 0)]
    assert derive_cell(w, PRIMITIVES, 4, rule=SAME_INPUT)[:2] == [("sep_conv_3x3", 1), ("skip_connect", 1)]


def all_pair_cells(steps):
    """Every cell of `steps` nodes over SMALL_OPS whose nodes keep any two distinct (row, op) pairs."""
    from itertools import product
    nodes, start = [], 0
    for i in range(steps):
        nodes.append(list(combinations([(start + e, j) for e in range(i + 2) for j in (1, 2, 3)], 2)))
        start += i + 2
    return [sum((list(c) for c in choice), []) for choice in product(*nodes)]


@pytest.mark.parametrize("seed", range(3))
def test_capped_derivation_with_same_input_is_the_best_cell_by_brute_force(seed):
    g = torch.Generator().manual_seed(seed)
    steps, starts = 3, starts_of(3)
    w = F.softmax(torch.randn(9, 4, generator=g), -1)
    costs = torch.rand(9, 4, generator=g) * torch.tensor([0.0, 0.1, 0.5, 1.0])
    inputs = (0.6, 0.2) if seed % 2 else (0.0, 0.0)

    def cost(cell):
        reads = {r - max(s for s in starts if s <= r) for r, _ in cell} & {0, 1}
        return sum(float(costs[r, j]) for r, j in cell) + sum(inputs[k] for k in reads)
    cells = [(c, cost(c)) for c in all_pair_cells(steps)]
    for budget in (0.3, 1.0, 2.0, 3.5):
        fitting = [c for c, price in cells if price <= budget]
        if not fitting:
            with pytest.raises(ValueError, match="cheapest"):
                derive_cell_within(w, SMALL_OPS, steps, costs, budget, input_costs=inputs, rule=SAME_INPUT)
            continue
        best = max(sum(float(w[r, j]) for r, j in c) for c in fitting)
        gene = derive_cell_within(w, SMALL_OPS, steps, costs, budget, input_costs=inputs, rule=SAME_INPUT)
        rows = [(starts[k // 2] + e, SMALL_OPS.index(op)) for k, (op, e) in enumerate(gene)]
        assert len(set(rows)) == len(rows) and cost(rows) <= budget + 1e-9
        assert sum(float(w[r, j]) for r, j in rows) == pytest.approx(best)
    # without a budget it is the uncapped rule
    assert derive_cell_within(w, SMALL_OPS, steps, costs, float("inf"), rule=SAME_INPUT) == \
        derive_cell(w, SMALL_OPS, steps, rule=SAME_INPUT)


def dear_normal(genes):
    return sum(op not in CHEAP for op, _ in genes)


def test_under_its_own_cost_the_residual_cell_is_derivable_only_with_same_input():
    """Alphas that favour ResidualSepConv's pairs, capped at its cost with reading an input priced: with
    --allow_same_input the derived normal cell is ResidualSepConv's; DARTS's distinct inputs cannot be."""
    from darts.spaces.darts_cnn.resource_cost import cost_cap
    t = table()
    t["inputs"] = {"normal": [0.5, 0.5], "reduce": [0.0, 0.0]}
    cell = load_genotype("ResidualSepConv", PRIMITIVES)
    w = torch.full((14, len(PRIMITIVES)), 0.01)
    for k, (op, e) in enumerate(cell.normal):
        w[starts_of(4)[k // 2] + e, PRIMITIVES.index(op)] = 0.5 if op == "sep_conv_3x3" else 0.4
    cap = cost_cap(t, PRIMITIVES, cell, node_rule="same_input")
    assert derive_genotype(w, w, PRIMITIVES, derivation=Derivation("same_input", cost_cap=cap)).normal == cell.normal
    darts = derive_genotype(w, w, PRIMITIVES, derivation=Derivation(cost_cap=cost_cap(t, PRIMITIVES, cell))).normal
    assert dear_normal(darts) < 4  # reading both inputs leaves room for fewer convolutions


def capped_search_derives_and_resumes(tmp_path, monkeypatch, setting: str, rule: str):
    """A search capped at ResidualSepConv with the derivation rule `setting` (a Derivation's node rule `rule`): its
    genotype is the one derived from its final alphas under its cap, saved as genotype.json, and a run killed
    and resumed ends as the uninterrupted one. Returns the genotype."""
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps(table()))
    run = api.search(digits(), save=tmp_path / "run", cost_cap="ResidualSepConv", op_costs=str(costs),
                     **{setting: True}, **SMALL)
    model = run.model
    probs = [model.relaxation.probabilities(a.detach()) for a in (model.alphas_normal, model.alphas_reduce)]
    assert run.genotype == derive_genotype(*probs, model.primitives, derivation=Derivation(rule, cost_cap=cost_cap(
        table(), model.primitives, load_genotype("ResidualSepConv"), node_rule=rule)))
    saved = json.loads((tmp_path / "run" / "genotype.json").read_text())
    assert [tuple(g) for g in saved["normal"]] == list(run.genotype.normal)
    from darts.spaces.darts_cnn import resource_cost
    monkeypatch.setattr(resource_cost, "measure_op_costs", lambda *a, **k: table())
    resumes_exactly(tmp_path / "capped", monkeypatch, [f"--{setting}", "--cost_cap", "ResidualSepConv"])
    return run.genotype


def test_a_search_with_same_input_derives_from_its_alphas_and_resumes_exactly(tmp_path, monkeypatch):
    genotype = capped_search_derives_and_resumes(tmp_path, monkeypatch, "allow_same_input", "same_input")
    assert dear_normal(genotype.normal) <= 4 and dear_normal(genotype.reduce) <= 5


@pytest.mark.parametrize("flags, needle", [
    (["--allow_same_input", "--selection", "pt"], "use one"),
    (["--space", "nb201", "--allow_same_input"], "offers no such choice")])
def test_same_input_where_it_cannot_apply_is_refused(tmp_path, capsys, flags, needle):
    import train_search
    refused(train_search.main, TINY + flags + ["--save", str(tmp_path / "run")], capsys, tmp_path, needle)
    assert not (tmp_path / "run").exists()
