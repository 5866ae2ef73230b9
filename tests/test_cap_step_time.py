"""--cost_cap_by step_time: after the search the cost cap's budgets are scaled by the largest factor whose
derived cells' retrained network steps no slower than the cap cell's, measured (darts/resource_cost.py)."""
import json

import pytest
import torch
import torch.nn.functional as F

from darts import api
from darts.spaces.darts_cnn import resource_cost
from darts.spaces.genotype_io import load_genotype
from darts.ops import PRIMITIVES
from darts.spaces.darts_cnn.resource_cost import (CAP_FIT_FILE, cell_cost, cost_cap, fit_cap_to_step_time, network_step_ms,
                                 scaled_cap)
from darts.spaces.darts_cnn.discretize import derive_genotype
from darts.spaces.derivation import Derivation
from tests.test_bad_input import TINY, refused
from tests.test_relaxations import resumes_exactly
from tests.test_resource_cost import CHEAP, SMALL, digits, table

FACTOR = 0.7  # the fake device: a network steps in 0.7x the summed op costs of its cells (as same-input cells did)


def dear(genes):
    return sum(op not in CHEAP for op, _ in genes)


def fake_step_ms(genotypes):
    """A deterministic stand-in for network_step_ms: the cap cell costs its summed op costs, any other cell
    FACTOR times its own."""
    t = table()
    summed = {k: cell_cost(g.normal, t, False) + cell_cost(g.reduce, t, True) for k, g in genotypes.items()}
    return {"cap": summed["cap"], "derived": FACTOR * summed["derived"]}


@pytest.mark.parametrize("seed", range(3))
def test_the_fitted_factor_is_the_largest_that_fits_to_the_bisections_resolution(seed):
    g = torch.Generator().manual_seed(seed)
    w = [F.softmax(torch.randn(14, len(PRIMITIVES), generator=g), -1) for _ in range(2)]
    cell = load_genotype("ResidualSepConv", PRIMITIVES)
    cap = cost_cap(table(), PRIMITIVES, cell)
    calls = []

    def step_ms(genotypes):
        calls.append(str(genotypes["derived"]))
        return fake_step_ms(genotypes)
    derive = lambda c: derive_genotype(*w, PRIMITIVES, derivation=Derivation(cost_cap=c))
    best, trials = fit_cap_to_step_time(cap, derive, step_ms, cell, rounds=6)
    # every factor up to 1 / FACTOR fits (the cells never cost more than their budget), so the bisection
    # ends within its last step of it or above it; the cells it keeps fit
    assert best >= (1 / FACTOR) / 4 ** (1 / 64)
    kept = fake_step_ms({"cap": cell, "derived": derive(scaled_cap(cap, best))})
    assert kept["derived"] <= kept["cap"]
    assert trials[0]["scale"] == pytest.approx(1.0) and len(trials) == 6
    assert all(t["fits"] == (t["step_ms"] <= t["cap_step_ms"]) for t in trials)
    assert all(t["scale"] <= best or not t["fits"] for t in trials)
    assert len(calls) == len(set(calls))  # a cell is measured once
    # the summed-cost cap (factor 1) leaves cells that step in 0.7x the cap's time; the fitted one spends more
    assert dear(derive(scaled_cap(cap, best)).normal) > dear(derive(cap).normal)


def test_no_fitting_factor_gives_none():
    cell = load_genotype("ResidualSepConv", PRIMITIVES)
    cap = cost_cap(table(), PRIMITIVES, cell)
    w = F.softmax(torch.randn(14, len(PRIMITIVES)), -1)
    derive = lambda c: derive_genotype(w, w, PRIMITIVES, derivation=Derivation(cost_cap=c))
    best, trials = fit_cap_to_step_time(cap, derive,
                                        lambda gs: {"cap": 1.0, "derived": 2.0}, cell, rounds=4)
    assert best is None and trials and not any(t["fits"] for t in trials)
    scales = [t["scale"] for t in trials]
    assert scales == sorted(scales, reverse=True) and scales[0] == pytest.approx(1.0)  # it looked lower each time


def test_network_step_ms_times_each_genotypes_training_step():
    cells = {"residual": load_genotype("ResidualSepConv"), "darts": load_genotype("DARTS_V2")}
    state = torch.random.get_rng_state()
    ms = network_step_ms(cells, 3, 4, 1, 8, 8, batch=4, repeats=2, warmup=1)
    assert set(ms) == set(cells) and all(v > 0 for v in ms.values())
    assert torch.equal(torch.random.get_rng_state(), state)  # the search's random streams are left as they were


def test_a_search_fitted_to_step_time_derives_under_the_scaled_cap_and_resumes_exactly(tmp_path, monkeypatch):
    monkeypatch.setattr(resource_cost, "network_step_ms", lambda genotypes, *a, **k: fake_step_ms(genotypes))
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps(table()))
    data = digits()
    summed = api.search(data, cost_cap="ResidualSepConv", op_costs=str(costs), **SMALL)
    run = api.search(data, save=tmp_path / "run", cost_cap="ResidualSepConv", cost_cap_by="step_time",
                     op_costs=str(costs), **SMALL)
    fit = json.loads((tmp_path / "run" / CAP_FIT_FILE).read_text())
    assert fit["scale"] >= (1 / FACTOR) / 4 ** (1 / 64) and len(fit["trials"]) == 6
    model = run.model
    cap = scaled_cap(cost_cap(table(), PRIMITIVES, load_genotype("ResidualSepConv", PRIMITIVES)), fit["scale"])
    probs = [model.relaxation.probabilities(a.detach()) for a in (model.alphas_normal, model.alphas_reduce)]
    assert run.genotype == derive_genotype(*probs, model.primitives, derivation=Derivation(cost_cap=cap))
    saved = json.loads((tmp_path / "run" / "genotype.json").read_text())
    assert [tuple(g) for g in saved["normal"]] == list(run.genotype.normal)
    assert dear(summed.genotype.normal) <= 4 < dear(run.genotype.normal)  # same alphas: the fit spent more
    monkeypatch.setattr(resource_cost, "measure_op_costs", lambda *a, **k: table())
    whole = resumes_exactly(tmp_path / "resume", monkeypatch, ["--cost_cap", "ResidualSepConv", "--cost_cap_by",
                                                              "step_time"])
    assert (whole / CAP_FIT_FILE).exists()


@pytest.mark.parametrize("flags, needle", [
    (["--cost_cap_by", "step_time"], "add --cost_cap"),
    (["--cost_cap", "ResidualSepConv", "--cost_cap_by", "step_time", "--early_stop"], "use one")])
def test_cost_cap_by_where_it_cannot_apply_is_refused(tmp_path, capsys, flags, needle):
    import train_search
    refused(train_search.main, TINY + flags + ["--save", str(tmp_path / "run")], capsys, tmp_path, needle)
    assert not (tmp_path / "run").exists()
