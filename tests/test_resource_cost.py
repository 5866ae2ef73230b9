"""Resource-aware search (darts/resource_cost.py): the expected-cost term, its table (measured, given,
kept for a resumed run) and its wiring into the architect."""
import json

import pytest
import torch
import torch.nn.functional as F

from darts import api
from darts.errors import UserError
from darts.ops import PRIMITIVES
from darts.spaces.darts_cnn.resource_cost import COST_FILE, ExpectedCost, check_op_costs, measure_op_costs, op_cost_table
from darts.runs import RunDir
from tests.test_bad_input import TINY, refused
from tests.test_relaxations import resumes_exactly

CHEAP = {"none", "skip_connect"}


def table(normal=None):
    """Every op costs 1 except the free ones (or the given normal row); reading a cell input is free."""
    row = {p: 0.0 if p in CHEAP else 1.0 for p in PRIMITIVES}
    return {"normal": normal or row, "reduce": dict(row), "reduce_inner": dict(row),
            "inputs": {"normal": [0.0, 0.0], "reduce": [0.0, 0.0]}}


def test_expected_cost_weighs_each_edge_by_its_own_row_over_the_most_expensive_cells():
    t = {"normal": {p: float(i) for i, p in enumerate(PRIMITIVES)},
         "reduce": {p: float(2 * i + 1) for i, p in enumerate(PRIMITIVES)},
         "reduce_inner": {p: float(7 - i) for i, p in enumerate(PRIMITIVES)}}
    a = torch.randn(5, len(PRIMITIVES), dtype=torch.float64, requires_grad=True)  # steps=2: edges 0-1, 0-1-2
    b = torch.randn(5, len(PRIMITIVES), dtype=torch.float64, requires_grad=True)
    cost = ExpectedCost(0.5, t, PRIMITIVES, lambda x: F.softmax(x, -1), steps=2)
    rows = {k: torch.tensor(list(v.values()), dtype=torch.float64) for k, v in t.items()}
    normal_rows = [rows["normal"]] * 5
    reduce_rows = [rows["reduce"], rows["reduce"], rows["reduce"], rows["reduce"], rows["reduce_inner"]]
    peak = sum(float(r.max()) for r in normal_rows + reduce_rows)
    by_hand = sum(float(F.softmax(x[e].detach(), -1) @ r) for x, rs in ((a, normal_rows), (b, reduce_rows))
                  for e, r in enumerate(rs)) / peak
    assert cost.expected([a, b]).item() == pytest.approx(by_hand)
    assert cost([a, b]).item() == pytest.approx(0.5 * by_hand)
    assert torch.autograd.gradcheck(lambda x, y: cost([x, y]), (a, b))
    # the gradient pushes every op against its cost relative to the edge's expected cost
    ga, = torch.autograd.grad(cost([a, b]), [a])
    p = F.softmax(a, -1)
    c = rows["normal"]
    assert torch.allclose(ga, 0.5 * p * (c - (p @ c)[:, None]) / peak)
    # all mass on the last op: the normal and the input edges' most expensive, the inner edge's cheapest
    last = torch.full((5, len(PRIMITIVES)), -50.0, dtype=torch.float64)
    last[:, -1] = 50.0
    assert cost.expected([last, last]).item() == pytest.approx((5 * 7 + 4 * 15 + 0) / (5 * 7 + 4 * 15 + 7))


def test_measured_costs_cover_every_op_and_charge_convolutions_more_than_the_identity():
    torch.manual_seed(0)
    measured = measure_op_costs(PRIMITIVES, channels=4, height=8, width=8, batch=4, repeats=3, warmup=1, layers=5)
    after = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after, torch.rand(3))  # the search's random stream is untouched
    assert check_op_costs(measured, PRIMITIVES, "measured") == measured
    assert measured["normal"]["none"] == 0.0 and measured["reduce"]["none"] == 0.0
    assert measured["normal"]["sep_conv_5x5"] > measured["normal"]["skip_connect"]
    # a stride-2 skip connection is a factorized reduction (two 1x1 convolutions), between nodes the identity
    assert measured["reduce"]["skip_connect"] > measured["reduce_inner"]["skip_connect"]
    # what reading each cell input costs, timed as differences of whole networks (noisy at these sizes)
    assert all(len(measured["inputs"][kind]) == 2 and min(measured["inputs"][kind]) >= 0 for kind in ("normal", "reduce"))


def test_the_cost_layout_is_the_retrained_networks():
    from darts.spaces.genotype_io import load_genotype
    from darts.spaces.darts_cnn.resource_cost import cell_shapes, network_cells
    from darts.spaces.darts_cnn.network import NetworkCIFAR
    net = NetworkCIFAR(load_genotype("DARTS_V2"), 4, 10, 8, auxiliary=False, in_channels=1)
    cells = network_cells(8, 4, 9, 9)
    assert [c["reduction"] for c in cells] == [cell.reduction for cell in net.cells]
    for cell, layout in zip(net.cells, cells):
        first = [m for m in cell.preprocess0.modules() if isinstance(m, torch.nn.Conv2d)]
        assert sum(m.in_channels for m in first) // len(first) == layout["inputs"][0][0]
        assert sum(m.out_channels for m in first) == layout["C"]
        assert next(m for m in cell.preprocess1.modules() if isinstance(m, torch.nn.Conv2d)).in_channels == \
            layout["inputs"][1][0]
    sizes, x = [], torch.randn(2, 1, 9, 9)
    s0 = s1 = net.stem(x)
    for cell, layout in zip(net.cells, cells):
        assert (tuple(s0.shape[2:]), tuple(s1.shape[2:])) == (layout["inputs"][0][1:], layout["inputs"][1][1:])
        s0, s1 = s1, cell(s0, s1, 0.0)
        assert tuple(s1.shape[2:]) == layout["out"]
    assert cell_shapes(8, 4, 9, 9)[:3] == [("normal", 1, 4, 9, 9), ("normal", 1, 4, 9, 9), ("reduce", 2, 8, 9, 9)]
    assert cell_shapes(8, 4, 9, 9)[3] == ("reduce_inner", 1, 8, 5, 5)

def test_a_resumed_search_reads_the_run_folders_table_and_a_given_one_is_checked(tmp_path):
    run = RunDir(tmp_path / "run")
    first = op_cost_table(run, PRIMITIVES, None, lambda: table())
    assert json.loads((tmp_path / "run" / COST_FILE).read_text()) == first
    older = {k: v for k, v in table().items() if k != "inputs"}  # older tables had no "inputs"
    assert check_op_costs(older, PRIMITIVES, "t")["inputs"] == table()["inputs"]
    with pytest.raises(UserError, match="inputs"):
        check_op_costs({**table(), "inputs": {"normal": [1.0], "reduce": [0.0, 0.0]}}, PRIMITIVES, "t")

    def never():
        raise AssertionError("measured again")
    assert op_cost_table(run, PRIMITIVES, None, never) == first  # the run's own table wins over measuring
    given = tmp_path / "given.json"
    given.write_text(json.dumps(table(normal={**table()["normal"], "sep_conv_3x3": 7.0})))
    assert op_cost_table(RunDir(tmp_path / "other"), PRIMITIVES, str(given), never)["normal"]["sep_conv_3x3"] == 7.0
    with pytest.raises(UserError, match="lack"):
        check_op_costs({"normal": {"none": 0.0}, "reduce": {}, "reduce_inner": {}}, PRIMITIVES, "t")
    with pytest.raises(UserError, match="finite"):
        check_op_costs(table(normal={**table()["normal"], "avg_pool_3x3": -1.0}), PRIMITIVES, "t")
    with pytest.raises(UserError, match="0/0"):
        check_op_costs({t: {p: 0.0 for p in PRIMITIVES} for t in table()}, PRIMITIVES, "t")


def digits():
    full = api.load_data("digits")
    return api.as_image_dataset((full.train_x[:64], full.train_y[:64]))


SMALL = dict(layers=3, init_channels=4, batch_size=8, max_batches=2, progress=False, device="cpu", no_plots=True,
             log_to_console=False, epochs=2, arch_learning_rate=0.02)


def test_a_heavy_cost_weight_leaves_the_normal_cell_only_free_ops_and_the_term_is_logged(tmp_path):
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps(table()))
    data = digits()
    plain = api.search(data, **SMALL)
    frugal = api.search(data, save=tmp_path / "run", cost_weight=100.0, op_costs=str(costs), **SMALL)
    assert {op for op, _ in plain.genotype.normal} - CHEAP  # else the test would not tell them apart
    assert {op for op, _ in frugal.genotype.normal} <= CHEAP
    assert frugal.history[0]["expected_cost"] > frugal.history[1]["expected_cost"]
    assert json.loads((tmp_path / "run" / COST_FILE).read_text()) == table()


def test_cost_and_beta_decay_add_up(tmp_path):
    from darts.robust.beta import beta_decay
    from darts.addons.registry import AddonContext, get_addon
    from darts.spaces.registry import DataShape
    from tests.test_robust import ce_loss, tiny
    from darts.strategies.architect import Architect
    model, batch = tiny()

    class Searcher:  # what the cost add-on touches
        run_dir = RunDir(None)
        epoch_end_hooks = []
    s = Searcher()
    s.model = model
    s.architect = Architect(model, ce_loss, torch.optim.SGD(model.weights(), lr=0.05))
    s.architect.alpha_regularizer = beta_decay
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps(table()))
    get_addon("cost").attach(s, {"cost_weight": 3.0, "op_costs": str(costs)}, AddonContext(None, DataShape(1, 8, 8, 3)))
    alphas = model.alphas()
    expected = beta_decay(alphas) + ExpectedCost(3.0, table(), model.primitives, model.relaxation.probabilities,
                                                 model.steps)(alphas)
    assert s.architect.alpha_regularizer(alphas).item() == pytest.approx(expected.item())


def test_measured_costs_are_kept_so_a_killed_search_resumes_exactly(tmp_path, monkeypatch):
    from darts.spaces.darts_cnn import resource_cost
    calls = []
    monkeypatch.setattr(resource_cost, "measure_op_costs", lambda *a, **k: calls.append(1) or table())
    resumes_exactly(tmp_path, monkeypatch, ["--cost_weight", "5"])
    assert len(calls) == 2  # the uninterrupted run and the killed one; the resumed run read op_costs.json


@pytest.mark.parametrize("flags,needle", [
    (["--op_costs", "{folder}/costs.json"], "add one of them"),
    (["--cost_cap", "Nope"], "unknown architecture"),
    (["--cost_cap", "DARTS_V2_RNN"], "not a convolutional"),
    (["--cost_cap", "ResidualSepConv", "--max_skip", "2"], "use one"),
    (["--space", "nb201", "--cost_cap", "ResidualSepConv"], "no such cells"),
    (["--cost_weight", "1", "--op_costs", "{folder}/missing.json"], "no such file"),
    (["--cost_weight", "1", "--op_costs", "{folder}/broken.json"], "not a readable JSON"),
    (["--cost_weight", "1", "--op_costs", "{folder}/short.json"], "lack"),
    (["--cost_weight", "-1"], "cost_weight"),
    (["--space", "nb201", "--cost_weight", "1"], "no such cells")])
def test_bad_cost_flags_are_refused_before_anything_is_written(tmp_path, capsys, flags, needle):
    import train_search
    (tmp_path / "costs.json").write_text(json.dumps(table()))
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "short.json").write_text(json.dumps({t: {"none": 0} for t in table()}))
    argv = TINY + [f.format(folder=tmp_path) for f in flags] + ["--save", str(tmp_path / "run")]
    refused(train_search.main, argv, capsys, tmp_path, needle)
    assert not (tmp_path / "run").exists()


# --- the cost cap: the strongest derived cells that cost no more than a given cell's -----------------------
SMALL_OPS = ["none", "skip_connect", "max_pool_3x3", "sep_conv_3x3"]


def all_cells(steps, inputs_per_node=2):
    """Every discrete cell of `steps` nodes over SMALL_OPS: [(row, op index), ...] per cell."""
    from itertools import combinations, product
    nodes, start = [], 0
    for i in range(steps):
        nodes.append([[(start + e, j) for e, j in zip(edges, ops)]
                      for edges in combinations(range(i + 2), inputs_per_node) for ops in product((1, 2, 3), repeat=2)])
        start += i + 2
    return [sum(choice, []) for choice in product(*nodes)]


@pytest.mark.parametrize("seed", range(4))
def test_capped_derivation_is_the_best_cell_within_the_budget_by_brute_force(seed):
    from darts.spaces.common.cell_discretize import derive_cell_within
    g = torch.Generator().manual_seed(seed)
    steps, n_edges, starts = 3, 2 + 3 + 4, [0, 2, 5]
    w = F.softmax(torch.randn(n_edges, 4, generator=g), -1)
    costs = torch.rand(n_edges, 4, generator=g) * torch.tensor([0.0, 0.1, 0.5, 1.0])
    inputs = (0.6, 0.2) if seed % 2 else (0.0, 0.0)  # what reading cell input 0 / 1 costs

    def cost(cell):
        reads = {r - starts[[s <= r for s in starts].count(True) - 1] for r, _ in cell} & {0, 1}
        return sum(float(costs[r, j]) for r, j in cell) + sum(inputs[k] for k in reads)
    cells = all_cells(steps)
    for budget in (0.3, 1.0, 2.0, 3.5):
        fitting = [c for c in cells if cost(c) <= budget]
        if not fitting:
            with pytest.raises(ValueError, match="cheapest"):
                derive_cell_within(w, SMALL_OPS, steps, costs, budget, input_costs=inputs)
            continue
        best = max(sum(float(w[r, j]) for r, j in c) for c in fitting)
        gene = derive_cell_within(w, SMALL_OPS, steps, costs, budget, input_costs=inputs)
        rows = [(starts[k // 2] + e, SMALL_OPS.index(op)) for k, (op, e) in enumerate(gene)]
        assert cost(rows) <= budget + 1e-9
        assert sum(float(w[r, j]) for r, j in rows) == pytest.approx(best)
    with pytest.raises(ValueError, match="cheapest"):
        derive_cell_within(w, SMALL_OPS, steps, costs + 1.0, 1.0)


@pytest.mark.parametrize("seed", range(3))
def test_a_cap_the_darts_cell_fits_changes_nothing(seed):
    from darts.spaces.common.cell_discretize import derive_cell, derive_cell_within
    g = torch.Generator().manual_seed(seed)
    w = F.softmax(torch.randn(14, len(PRIMITIVES), generator=g), -1)
    scale = torch.rand(14, generator=g)
    costs = torch.rand(14, len(PRIMITIVES), generator=g)
    for edge_scale in (None, scale):
        assert derive_cell_within(w, PRIMITIVES, 4, costs, float("inf"), edge_scale) == \
            derive_cell(w, PRIMITIVES, 4, edge_scale=edge_scale)


def test_cost_cap_budgets_are_the_given_cells_costs_and_an_impossible_one_is_refused():
    from darts.spaces.genotype_io import load_genotype
    from darts.spaces.darts_cnn.resource_cost import cell_cost, cost_cap
    t = table()
    t["reduce"]["skip_connect"] = 0.5  # a stride-2 skip connection is a factorized reduction
    cell = load_genotype("ResidualSepConv", PRIMITIVES)
    (c_normal, b_normal, _), (c_reduce, b_reduce, _) = cost_cap(t, PRIMITIVES, cell)
    assert (b_normal, b_reduce) == (4.0, 5.0)  # 4 sep convs; 4 sep convs + a stride-2 max pool
    assert cell_cost([("skip_connect", 0), ("skip_connect", 2)], t, True) == 0.5
    t["inputs"] = {"normal": [0.25, 0.5], "reduce": [2.0, 4.0]}  # ResidualSepConv reads only the newer input
    assert cost_cap(t, PRIMITIVES, cell)[0][1:] == (4.5, [0.25, 0.5])
    assert cell_cost([("skip_connect", 0), ("skip_connect", 0)], t, False) == 0.25
    assert float(c_reduce[0, PRIMITIVES.index("skip_connect")]) == 0.5  # edge 0 leaves input 0
    assert float(c_reduce[4, PRIMITIVES.index("skip_connect")]) == 0.0  # edge 4 leaves node 2 (edges 2, 3: the inputs)
    # a reduction cell's first node takes both inputs and its second at least one: 3 input edges at least,
    # where ResidualSepConv's reduction cell has 2
    inner_free = {"normal": t["normal"], "reduce": {p: 1.0 for p in PRIMITIVES},
                  "reduce_inner": {p: 0.0 for p in PRIMITIVES}}
    with pytest.raises(UserError, match="reduction cell costs 2.000 ms and the cheapest costs 3.000 ms"):
        cost_cap(inner_free, PRIMITIVES, cell)


def test_a_capped_search_derives_cells_no_dearer_than_the_cap_and_resumes_exactly(tmp_path, monkeypatch):
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps(table()))
    data = digits()
    plain = api.search(data, **SMALL)
    capped = api.search(data, save=tmp_path / "run", cost_cap="ResidualSepConv", op_costs=str(costs), **SMALL)
    dear = lambda genes: sum(op not in CHEAP for op, _ in genes)
    assert dear(plain.genotype.normal) > 4  # else the test would not tell them apart
    assert dear(capped.genotype.normal) <= 4 and dear(capped.genotype.reduce) <= 5
    assert "expected_cost" not in capped.history[-1]  # a cap alone adds no term to the architecture loss
    from darts.spaces.darts_cnn import resource_cost
    monkeypatch.setattr(resource_cost, "measure_op_costs", lambda *a, **k: table())
    resumes_exactly(tmp_path / "resume", monkeypatch, ["--cost_cap", "ResidualSepConv"])


def test_the_cost_prediction_benchmark_prices_the_probe_cells():
    """benchmarks/cost_prediction.py on tiny shapes: the probe that only moves an identity edge to the older
    input has the baseline's op costs and, with input costs, costs no less."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import cost_prediction
    probe = str(Path(__file__).resolve().parent.parent / "benchmarks" / "probe_cells" / "residual_normal_reads_older.json")
    out = cost_prediction.main(["--arch", "ResidualSepConv", probe, "--init_channels", "4", "--layers", "3",
                                "--image_size", "8", "--batch_size", "4", "--cost_batch", "4", "--cost_repeats", "1",
                                "--repeats", "1", "--warmup", "0"])
    base, moved = out["rows"]
    assert moved["every cell"] == pytest.approx(base["every cell"]) and moved["first cells"] == pytest.approx(base["first cells"])
    assert moved["every cell + inputs"] - base["every cell + inputs"] == pytest.approx(out["tables"]["every cell + inputs"]["inputs"]["normal"][0])
    assert moved["step_ms_per_image"] > 0


def test_a_search_without_the_cap_cells_ops_still_prices_them(tmp_path, monkeypatch):
    """A search space may leave out ops (here the pools) that the --cost_cap cell uses (ResidualSepConv's
    reduction cell has a max pool): the table prices them too, so the cap is that cell's full cost."""
    from darts.spaces.darts_cnn import resource_cost
    without_pools = [p for p in PRIMITIVES if "pool" not in p]
    priced = []
    t = table()
    t["reduce"]["max_pool_3x3"] = 3.0  # the cap's reduction cell: 4 sep convs + a stride-2 max pool
    monkeypatch.setattr(resource_cost, "measure_op_costs", lambda ops, *a, **k: priced.append(list(ops)) or t)
    run = api.search(digits(), save=tmp_path / "run", cost_cap="ResidualSepConv",
                     primitives=",".join(without_pools), **SMALL)
    assert priced == [without_pools + ["max_pool_3x3"]]
    kept = json.loads((tmp_path / "run" / COST_FILE).read_text())
    assert kept["reduce"]["max_pool_3x3"] == 3.0
    dear = lambda genes: sum(op not in CHEAP for op, _ in genes)
    assert all("pool" not in op for op, _ in run.genotype.normal + run.genotype.reduce)
    assert dear(run.genotype.normal) <= 4 and 5 <= dear(run.genotype.reduce) <= 7  # 4 + 3 ms of reduce budget
    # a given table must price the cap's op as well
    short = tmp_path / "short.json"
    short.write_text(json.dumps({k: row if k == "inputs" else {p: v for p, v in row.items() if p != "max_pool_3x3"}
                                 for k, row in t.items()}))
    with pytest.raises(UserError, match="lack max_pool_3x3"):
        api.search(digits(), save=tmp_path / "run2", cost_cap="ResidualSepConv", op_costs=str(short),
                   primitives=",".join(without_pools), **SMALL)
    assert not (tmp_path / "run2").exists()
