"""The discretisation-side add-ons: P-DARTS's skip cap, DARTS-'s auxiliary skip connection and DARTS-PT's
perturbation-based selection (on a hand-built supernet whose answer is known, and wired into a search)."""
import json
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from darts.ops import PRIMITIVES, Identity
from darts.robust.aux_skip import AuxiliarySkipDecay, aux_skip_weight
from darts.robust.perturbation import PerturbationSelection
from darts.spaces.darts_cnn import SearchNetwork
from darts.spaces.common.cell_discretize import derive_cell
from darts.spaces.darts_cnn.discretize import derive_genotype
from darts.spaces.derivation import Derivation
from darts.spaces.mixed_op import MixedOp
from darts.spaces.relaxation import Relaxation
from darts.training import ImageClassification
from tests.test_relaxations import CLI_TINY, cli, resumes_exactly, rows_of

SKIP = PRIMITIVES.index("skip_connect")
CONV = PRIMITIVES.index("sep_conv_3x3")


# -- P-DARTS ---------------------------------------------------------------------------------------------------
def skip_heavy_cell():
    """Softmax-like weights of a 4-node cell whose derived cell holds 4 skip connections, of strengths
    0.9, 0.8, 0.7, 0.6 (on edges 0, 2, 5, 9), each with a sep_conv_3x3 runner-up of 0.05 + row / 100."""
    w = torch.full((14, len(PRIMITIVES)), 0.01)
    for row, strength in zip((0, 2, 5, 9), (0.9, 0.8, 0.7, 0.6)):
        w[row, SKIP] = strength
    for row in range(14):
        w[row, CONV] = 0.05 + row / 100
    return w


def test_the_skip_cap_drops_the_weakest_skip_connections_first():
    w = skip_heavy_cell()
    free = derive_cell(w, PRIMITIVES, 4)
    assert sum(op == "skip_connect" for op, _ in free) == 4
    capped = derive_genotype(w, w, PRIMITIVES, derivation=Derivation(max_skip=2))
    skips = [(k, j) for k, (op, j) in enumerate(capped.normal) if op == "skip_connect"]
    assert len(skips) == 2 and skips == [(0, 0), (2, 0)]  # the 0.9 and 0.8 ones stay
    assert capped.reduce == free  # the cap is the normal cell's
    assert derive_genotype(w, w, PRIMITIVES) == derive_genotype(w, w, PRIMITIVES,
                                                                derivation=Derivation(max_skip=None))
    no_skip = derive_genotype(w, w, PRIMITIVES, derivation=Derivation(max_skip=0)).normal
    assert sum(op == "skip_connect" for op, _ in no_skip) == 0


# -- DARTS- ----------------------------------------------------------------------------------------------------
def test_the_auxiliary_skip_adds_beta_x_outside_the_mixture_and_decays_to_zero():
    torch.manual_seed(0)
    ops = [nn.Conv2d(2, 2, 3, padding=1, bias=False), nn.Identity()]
    edge = MixedOp(ops, ["conv", "skip_connect"], aux=nn.Identity())
    x, w = torch.randn(2, 2, 5, 5), torch.tensor([0.3, 0.7])
    plain = w[0] * ops[0](x) + w[1] * x
    assert torch.equal(edge(x, w), plain + 0 * x)
    edge.aux_weight = 0.4
    assert torch.allclose(edge(x, w), plain + 0.4 * x)
    assert [aux_skip_weight(1.0, e, 5) for e in range(7)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0, 0.0]


def test_the_auxiliary_skip_is_an_identity_on_normal_edges_and_a_reduction_of_its_own_on_stride_2_edges():
    plain = SearchNetwork(C=4, num_classes=3, layers=3, in_channels=1)
    aux = SearchNetwork(C=4, num_classes=3, layers=3, in_channels=1, aux_skip=True)
    edges = [m for m in aux.modules() if isinstance(m, MixedOp)]
    assert all(e.aux is not None for e in edges)
    strided = [e for e in edges if e.stride == 2]
    assert strided and all(sum(p.numel() for p in e.aux.parameters()) > 0 for e in strided)
    assert all(isinstance(e.aux, Identity) or e.stride == 2 for e in edges)
    assert sum(p.numel() for p in aux.weights()) > sum(p.numel() for p in plain.weights())
    hook = AuxiliarySkipDecay(aux, 1.0, 3)
    hook(1)
    assert all(e.aux_weight == 0.5 for e in edges)
    with pytest.raises(ValueError):
        AuxiliarySkipDecay(plain, 1.0, 3)


# -- DARTS-PT on a hand-built supernet -------------------------------------------------------------------------
class SourcesSupernet(nn.Module):
    """One node fed by three edges; edge r sees source r of the input (n, 3, 2) and chooses among
    identity, negation and zero. Sources 0 and 1 hold the class logits (source 1 at half strength), source 2
    their opposite, so the right cell is identity on edges 0 and 1, negation on edge 2, and keeps the two
    strong edges 0 and 2; the alphas favour negation on every edge, so that the whole supernet is wrong."""

    primitives = ["identity", "negate", "zero"]

    def __init__(self):
        super().__init__()
        self.relaxation = Relaxation()
        self.alphas_edges = nn.Parameter(torch.tensor([[0.0, 0.5, 0.0]] * 3))
        self.bn = nn.BatchNorm1d(2, affine=False)  # its running statistics must stay untouched

    def forward(self, x):
        w = self.relaxation.mix(self.alphas_edges)
        out = sum(w[r, 0] * x[:, r] - w[r, 1] * x[:, r] for r in range(3))
        return out + 0 * self.bn(out)

    capabilities = frozenset({"selection"})  # it offers selection_groups() and use_relaxation()

    def selection_groups(self):
        return {"alphas_edges": {"nodes": [[0, 1, 2]], "keep": 2, "ops": [0, 1, 2]}}

    def use_relaxation(self, relaxation):
        self.relaxation = relaxation


def sources_batches():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (64,), generator=g)
    logits = F.one_hot(y, 2).float() * 2 - 1 + 0.1 * torch.randn(64, 2, generator=g)
    x = torch.stack([logits, 0.5 * logits, -logits], dim=1)
    return [(x[:32], y[:32]), (x[32:], y[32:])]


def test_perturbation_selection_finds_the_cell_the_alphas_get_wrong():
    model = SourcesSupernet()
    batches = sources_batches()
    searcher = SimpleNamespace(model=model, config=SimpleNamespace(epochs=1), valid_batches=lambda: batches,
                               task=ImageClassification(), extra_epochs=0)
    selection = PerturbationSelection(searcher, interval=1, seed=0)
    assert selection.decisions == 4 and searcher.extra_epochs == 4  # 3 edges' ops, then the node
    assert model.alphas_edges.argmax(-1).tolist() == [1, 1, 1]  # what argmax selection would take
    stats = model.bn.running_mean.clone()
    for k in range(3):
        decision = selection.decide_op("alphas_edges", k)
        expected = "negate" if decision["edge"] == 2 else "identity"  # the 3rd source needs negating
        assert decision["op"] == expected, decision
    node = selection.decide_node("alphas_edges", 3)
    assert sorted(node["keeps"]) == [0, 2] and selection.relaxation.dropped["alphas_edges"] == [1]
    assert torch.equal(model.bn.running_mean, stats)
    weights = model.relaxation.probabilities(model.alphas_edges)
    assert all(weights[r].tolist() == [0.0, 0.0, 0.0] for r in selection.relaxation.dropped["alphas_edges"])
    x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    model.eval()
    assert (model(x).argmax(1) == y).float().mean() == 1.0  # the selected cell classifies every example


def test_a_trial_removal_is_undone_and_decided_rows_are_one_hot():
    model = SourcesSupernet()
    searcher = SimpleNamespace(model=model, config=SimpleNamespace(epochs=1), valid_batches=sources_batches,
                               task=ImageClassification(), extra_epochs=0)
    selection = PerturbationSelection(searcher, interval=2)
    assert searcher.extra_epochs == 2 * 3 + 1
    before = model.relaxation.mix(model.alphas_edges).detach().clone()
    with selection.relaxation.trying("alphas_edges", 1, 2):
        inside = model.relaxation.mix(model.alphas_edges).detach()
    assert inside[1, 2] == 0 and torch.equal(inside[0], before[0])
    assert torch.equal(model.relaxation.mix(model.alphas_edges).detach(), before)
    selection.relaxation.chosen["alphas_edges"] = {0: 1}
    mixed = model.relaxation.mix(model.alphas_edges)
    assert mixed[0].tolist() == [0.0, 1.0, 0.0]
    (mixed * torch.tensor([1.0, 2.0, 3.0])).sum().backward()  # decided rows pass no gradient to their alphas
    assert model.alphas_edges.grad[0].abs().sum() == 0 and model.alphas_edges.grad[1].abs().sum() > 0


# -- wired into a search -------------------------------------------------------------------------------------------
PT = ["--selection", "pt", "--pt_interval", "1", "--pt_batches", "1", "--epochs", "1"]
FEW_OPS = ["--primitives", "none,skip_connect,sep_conv_3x3,max_pool_3x3"]


def test_a_pt_search_returns_the_cell_its_decisions_describe(tmp_path):
    out = tmp_path / "pt"
    assert cli(CLI_TINY + PT + FEW_OPS + ["--save", str(out)]) == 0
    rows = rows_of(out)
    decisions = [d for r in rows for d in r["metrics"].get("selection", [])]
    assert len(rows) == 1 + 17 and len(decisions) == 2 * 17  # 14 edges + 3 nodes, normal and reduce
    genotype = json.loads((out / "genotype.json").read_text())
    for cell, name in (("normal", "alphas_normal"), ("reduce", "alphas_reduce")):
        ops = {d["edge"]: d["op"] for d in decisions if d["alphas"] == name and "edge" in d}
        keeps = {d["node"]: d["keeps"] for d in decisions if d["alphas"] == name and "node" in d}
        keeps[0] = [0, 1]
        starts = [0, 2, 5, 9]
        expected = [(ops[r], r - starts[node]) for node in range(4) for r in sorted(keeps[node])]
        assert sorted(map(tuple, genotype[cell])) == sorted(expected)


@pytest.mark.parametrize("flags", [PT + ["--space", "nb201", "--aux_skip", "1", "--layers", "3"],
                                   ["--aux_skip", "1", "--max_skip", "1", "--unrolled"] + FEW_OPS])
def test_the_selection_and_the_auxiliary_skip_resume_exactly(tmp_path, monkeypatch, flags):
    resumes_exactly(tmp_path, monkeypatch, flags)


@pytest.mark.parametrize("flags, message", [
    (["--early_stop", "--selection", "pt"], "use one"),
    (["--space", "nb201", "--max_skip", "2"], "--max_skip"),
])
def test_contradictory_or_unsupported_robust_flags_are_refused(tmp_path, capsys, flags, message):
    out = tmp_path / "refused"
    assert cli(CLI_TINY + flags + ["--save", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and not out.exists()
