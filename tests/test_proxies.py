"""Zero-cost proxies (darts.proxies): each against a value derived by hand on a two-layer network, the invariances
their papers state, determinism, every proxy on the final network of every image space, the proxy evaluator,
and the correlation harness's figures against their definitions."""
import importlib.util
import itertools
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy import stats

from darts import api
from darts.errors import UserError
from darts.evaluators.base import arch_seed
from darts.evaluators.proxy import ProxyEvaluator
from darts.proxies import Proxy, get_proxy, network_of, proxies, register_proxy, score
from darts.proxies.activation import jacobian_score, relu_codes_kernel
from darts.proxies.zico import zico_from_gradients
from darts.spaces.common.nb201_arch import Nb201Arch
from darts.spaces.registry import DataShape, get_space

ROOT = Path(__file__).resolve().parent.parent
D, H, K, N = 5, 8, 3, 6  # inputs, hidden units, classes, images


def two_layer(seed=0):
    """x -> W1 x -> ReLU -> W2 (.) : no biases, so every score has a closed form."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(D, H, bias=False), nn.ReLU(), nn.Linear(H, K, bias=False))


def batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, D, generator=g), torch.randint(0, K, (N,), generator=g)


def by_hand(net, x, y):
    """The forward and backward pass of the mean cross-entropy written out in numpy (float64)."""
    w1, w2 = (net[0].weight.detach().double().numpy(), net[2].weight.detach().double().numpy())
    X = x.double().numpy()
    h = X @ w1.T
    a = np.maximum(h, 0)
    z = a @ w2.T
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(K)[y.numpy()]) / len(X)
    dh = (dz @ w2) * (h > 0)
    return dict(w1=w1, w2=w2, h=h, z=z, dz=dz, dh=dh, g1=dh.T @ X, g2=dz.T @ a)


def close(a, b, rel=1e-5):
    return a == pytest.approx(b, rel=rel, abs=1e-9)


def test_synflow_is_twice_the_output_of_the_absolute_network_on_ones():
    """With |W| and an all-ones input, R = 1'|W2||W1|1 and each of the two layers contributes sum |w dR/dw| = R."""
    net = two_layer()
    x, y = batch()
    w1, w2 = net[0].weight.detach().double().abs().numpy(), net[2].weight.detach().double().abs().numpy()
    assert close(score(net, (x, y), ["synflow"])["synflow"], 2 * np.ones(K) @ w2 @ w1 @ np.ones(D), rel=1e-12)


def test_snip_grad_norm_and_fisher_by_hand():
    net = two_layer()
    x, y = batch()
    m = by_hand(net, x, y)
    got = score(net, (x, y), ["snip", "grad_norm", "fisher"], batch_size=N)
    assert close(got["snip"], np.abs(m["w1"] * m["g1"]).sum() + np.abs(m["w2"] * m["g2"]).sum())
    assert close(got["grad_norm"], np.linalg.norm(m["g1"]) + np.linalg.norm(m["g2"]))
    fisher = sum(0.5 * ((act * grad) ** 2).mean(0).sum() for act, grad in ((m["h"], m["dh"]), (m["z"], m["dz"])))
    assert close(got["fisher"], fisher)


def test_grasp_is_minus_w_times_the_hessian_gradient_product():
    """H g by central differences of the hand-written gradient along g."""
    net = two_layer()
    x, y = batch()
    m = by_hand(net, x, y)
    eps = 1e-6
    shifted = []
    for sign in (1, -1):
        moved = two_layer().double()
        with torch.no_grad():
            moved[0].weight.copy_(torch.from_numpy(m["w1"] + sign * eps * m["g1"]))
            moved[2].weight.copy_(torch.from_numpy(m["w2"] + sign * eps * m["g2"]))
        shifted.append(by_hand(moved, x, y))
    hg1 = (shifted[0]["g1"] - shifted[1]["g1"]) / (2 * eps)
    hg2 = (shifted[0]["g2"] - shifted[1]["g2"]) / (2 * eps)
    expected = -(m["w1"] * hg1).sum() - (m["w2"] * hg2).sum()
    assert close(score(net.double(), (x.double(), y), ["grasp"], batch_size=N)["grasp"], expected, rel=1e-4)


def test_naswot_is_the_log_determinant_of_agreements_between_relu_codes():
    net = two_layer()
    x, y = batch()
    codes = by_hand(net, x, y)["h"] > 0  # the ReLU's input decides each unit's on/off state
    kernel = np.array([[H - np.sum(codes[i] != codes[j]) for j in range(N)] for i in range(N)], dtype=float)
    assert close(score(net, (x, y), ["naswot"], batch_size=N)["naswot"], np.linalg.slogdet(kernel)[1], rel=1e-9)


def test_the_naswot_kernel_is_code_length_minus_hamming_distance():
    codes = torch.from_numpy(np.random.default_rng(0).integers(0, 2, (7, 40)))
    hamming = np.array([[np.sum(a != b) for b in codes.numpy()] for a in codes.numpy()])
    assert np.array_equal(relu_codes_kernel(codes).numpy(), 40 - hamming)


def test_jacob_cov_from_the_eigenvalues_of_two_correlated_rows():
    """Two rows with correlation r: the eigenvalues are 1 - r and 1 + r."""
    rows = torch.tensor([[1.0, 2.0, 3.0, 5.0], [1.0, 2.0, 4.0, 4.0]])
    r = np.corrcoef(rows.numpy())[0, 1]
    k = 1e-5
    assert close(jacobian_score(rows), -sum(math.log(v + k) + 1 / (v + k) for v in (1 - r, 1 + r)), rel=1e-9)
    assert math.isnan(jacobian_score(torch.tensor([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]])))  # a constant row


def test_jacob_cov_uses_the_input_jacobian_of_the_logit_sum():
    """For the two-layer network, d(sum of logits)/dx_i = W1' diag(h_i > 0) W2' 1."""
    net = two_layer()
    x, y = batch()
    m = by_hand(net, x, y)
    jac = np.stack([m["w1"].T @ ((m["h"][i] > 0) * (m["w2"].T @ np.ones(K))) for i in range(N)])
    assert close(score(net, (x, y), ["jacob_cov"], batch_size=N)["jacob_cov"],
                 jacobian_score(torch.from_numpy(jac)), rel=1e-4)


def test_zico_sums_log_inverse_coefficients_of_variation_over_layers():
    layer1 = torch.tensor([[1.0, 2.0, 0.0], [3.0, 2.0, 0.0]])  # mean|g| 2, 2, 0; sigma 1, 0, 0: only the first
    layer2 = torch.tensor([[-1.0], [1.0]])                     # mean|g| 1, sigma 1: log 1 = 0
    assert close(zico_from_gradients([layer1, layer2]), math.log(2.0), rel=1e-12)
    net = two_layer()
    x, y = batch()
    halves = [by_hand(net, xs, ys) for xs, ys in zip(x.tensor_split(2), y.tensor_split(2))]
    expected = 0.0
    for key in ("g1", "g2"):
        g = np.stack([h[key].ravel() for h in halves])
        varies = g.std(0) > 0  # weights of a unit off on every image have no gradient in either half
        expected += math.log(np.sum(np.abs(g).mean(0)[varies] / g.std(0)[varies]))
    assert close(score(net, (x, y), ["zico"], batch_size=N)["zico"], expected, rel=1e-4)


def test_synflow_ignores_the_images_and_labels_but_not_their_shape():
    net = two_layer()
    x, y = batch(1)
    x2, y2 = batch(2)
    assert score(net, (x, y), ["synflow"]) == score(net, (x2 * 10, y2), ["synflow"])
    assert score(net, (x, y), ["snip"]) != score(net, (x2, y2), ["snip"])


def test_params_and_flops_baselines():
    net = two_layer()
    got = score(net, batch(), ["params", "flops"])
    assert got == {"params": D * H + H * K, "flops": D * H + H * K}


def test_scores_leave_the_network_as_it_was():
    net = nn.Sequential(nn.Linear(D, H), nn.BatchNorm1d(H), nn.ReLU(), nn.Linear(H, K))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    score(net, batch())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert net[0].weight.dtype == torch.float32 and net[0].weight.grad is None


def test_a_genotype_scores_the_same_twice_and_its_seed_sets_the_weights():
    arch = Nb201Arch.from_index(6111)
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 3])
    opts = {"init_channels": 4, "layers": 3}
    first = score(arch, (x, y), ["synflow", "naswot", "zico"], seed=3, space_options=opts)
    assert first == score(arch, (x, y), ["synflow", "naswot", "zico"], seed=3, space_options=opts)
    assert first["synflow"] != score(arch, (x, y), ["synflow"], seed=4, space_options=opts)["synflow"]
    assert api.score is score


TINY = {"nb201": {"init_channels": 4, "layers": 3}, "nb101": {"init_channels": 4, "layers": 3},
        "nats_sss": {"channel_divisor": 8}, "darts": {"init_channels": 4, "layers": 3},
        "nasnet": {"init_channels": 4, "cells_per_stack": 1, "blocks": 2}, "nasrl_cnn": {"width_divisor": 8}}


@pytest.mark.parametrize("space_name", list(TINY))
def test_every_proxy_runs_on_the_final_network_of_every_image_space(space_name):
    space = get_space(space_name)
    opts = TINY[space_name]
    genotype = space.arch_space(space.resolve(opts)).sample_random(random.Random(0))
    network = network_of(genotype, DataShape(3, 8, 8, 10), 0, opts)
    assert any(isinstance(m, nn.ReLU) for m in network.modules())
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    got = score(network, (x, torch.tensor([0, 1, 2, 3])), batch_size=4)
    assert list(got) == list(proxies())
    assert all(math.isfinite(v) for v in got.values()), got


def test_the_registry_refuses_unknown_and_clashing_names():
    with pytest.raises(UserError, match="unknown proxy 'nope'; registered: synflow"):
        get_proxy("nope")

    class Clash(Proxy):
        name = "snip"
    with pytest.raises(ValueError, match="already registered"):
        register_proxy(Clash)
    assert get_proxy("synflow").double_precision and not get_proxy("synflow").needs_data
    assert get_proxy("naswot").batch_size == 128 and not get_proxy("naswot").needs_gradients


def test_the_proxy_evaluator_scores_each_architecture_from_its_own_seed():
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 3])
    space = get_space("nb201")
    opts = space.resolve({"init_channels": 4, "layers": 3})
    build = lambda arch, c, k: space.build_network(arch, opts, DataShape(c, 8, 8, k))  # noqa: E731
    evaluator = ProxyEvaluator(build, x, y, proxy="naswot", num_classes=10, seed=5, arch_key=str)
    arch = Nb201Arch.from_index(1234)
    torch.manual_seed(arch_seed(5, str(arch)))
    expected = get_proxy("naswot").compute(build(arch, 3, 10), x, y, torch.nn.functional.cross_entropy)
    assert evaluator.evaluate(arch) == expected
    assert ProxyEvaluator(build, x, y, proxy="naswot", num_classes=10, seed=5, arch_key=str).evaluate(arch) == expected
    assert evaluator.name == "proxy:naswot:data:4images"


def _harness():
    spec = importlib.util.spec_from_file_location("proxy_correlation", ROOT / "benchmarks" / "proxy_correlation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_harness_correlations_match_their_definitions():
    scores = [0.3, 1.2, float("nan"), 0.7, 2.5, 1.9, -0.4, float("inf")]
    accs = [61.0, 80.0, 99.0, 72.0, 93.0, 85.0, 90.0, 10.0]
    got = _harness().correlations(scores, accs, boot=200, seed=0)
    s = np.array([0.3, 1.2, 0.7, 2.5, 1.9, -0.4])
    a = np.array([61.0, 80.0, 72.0, 93.0, 85.0, 90.0])
    n = len(s)
    d = stats.rankdata(s) - stats.rankdata(a)
    pairs = [np.sign(s[i] - s[j]) * np.sign(a[i] - a[j]) for i, j in itertools.combinations(range(n), 2)]
    assert got["undefined"] == 2 and got["n"] == n
    assert close(got["spearman"][0], 1 - 6 * np.sum(d ** 2) / (n * (n ** 2 - 1)), rel=1e-12)
    assert close(got["kendall"][0], sum(pairs) / len(pairs), rel=1e-12)
    for key in ("spearman", "kendall"):
        point, low, high = got[key]
        assert low <= point <= high
    assert got == _harness().correlations(scores, accs, boot=200, seed=0)


def test_the_proxy_evaluator_of_a_dataset_reads_only_the_training_portion():
    from darts.data.arrays import make_image_dataset
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (20, 3, 8, 8), dtype=torch.uint8, generator=g)
    data = make_image_dataset("toy", x, torch.arange(20) % 4, x[:4], torch.arange(4))
    space = get_space("nb201")
    opts = space.resolve({"init_channels": 4, "layers": 3})
    build = lambda arch, c, k: space.build_network(arch, opts, DataShape(c, 8, 8, k))  # noqa: E731
    evaluator = ProxyEvaluator.from_dataset(build, data, "snip", portion=0.5, seed=1, arch_key=str)
    assert len(evaluator.inputs) == 10 and evaluator.num_classes == 4
    train_half = {tuple(t.flatten().tolist()) for t in data.train_x[:10]}
    mean = torch.tensor(data.mean).view(3, 1, 1)
    std = torch.tensor(data.std).view(3, 1, 1)
    drawn = {tuple(torch.round((t * std + mean) * 255).to(torch.uint8).flatten().tolist()) for t in evaluator.inputs}
    assert drawn == train_half


def test_a_cell_of_none_edges_scores_undefined_where_the_papers_cannot_score_it():
    """Its output ignores the images: no input Jacobian (jacob_cov NaN), one ReLU code for all (NASWOT -inf);
    the evaluator ranks such a score below every defined one."""
    arch = Nb201Arch.from_string("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 3])
    got = score(arch, (x, y), ["jacob_cov", "naswot", "synflow"], space_options={"init_channels": 4, "layers": 3})
    assert math.isnan(got["jacob_cov"]) and got["naswot"] == float("-inf") and got["synflow"] == 0.0
    space = get_space("nb201")
    opts = space.resolve({"init_channels": 4, "layers": 3})
    build = lambda a, c, k: space.build_network(a, opts, DataShape(c, 8, 8, k))  # noqa: E731
    assert ProxyEvaluator(build, x, y, proxy="jacob_cov", num_classes=10).evaluate(arch) == float("-inf")


def test_proxies_that_need_no_labels_score_images_alone_and_the_others_say_what_is_missing():
    net = two_layer()
    x, y = batch()
    assert score(net, x, ["naswot", "synflow"], batch_size=N) == score(net, (x, y), ["naswot", "synflow"], batch_size=N)
    with pytest.raises(UserError, match="proxies snip, zico need labels"):
        score(net, x, ["naswot", "snip", "zico"])
    with pytest.raises(UserError, match="a number of classes"):
        score(Nb201Arch.from_index(0), torch.randn(4, 3, 8, 8), ["naswot"])


def test_a_sample_search_rewards_by_a_proxy_from_the_command_line(tmp_path, capsys):
    """--evaluator proxy: each sampled network's reward is its proxy score (the evaluator's own, for the same
    architecture), the same in a second run; a wrong combination is one line before any folder exists."""
    import json
    from darts.runs import run_cli
    from darts.cli.search import main
    from darts.spaces.registry import get_space
    base = ["--strategy", "random", "--space", "nb201", "--dataset", "digits", "--evaluator", "proxy", "--proxy",
            "params", "--budget", "3", "--no_progress", "--no_plots"]
    for run in ("a", "b"):
        assert run_cli(main, base + ["--save", str(tmp_path / run)]) == 0
    rows = [[json.loads(line) for line in (tmp_path / run / "history.jsonl").read_text().splitlines()]
            for run in ("a", "b")]
    assert rows[0] == [dict(r, time=a["time"]) for r, a in zip(rows[1], rows[0])]
    space = get_space("nb201")
    for row in rows[0]:
        arch = space.arch_space({}).decode(row["arch"])
        net = space.build_network(arch, space.resolve({}), DataShape(in_channels=1, height=8, width=8, num_classes=10))
        assert row["reward"] == sum(p.numel() for p in net.parameters() if p.requires_grad)
    capsys.readouterr()
    for extra, needle in ((["--proxy", "bogus"], "unknown proxy 'bogus'"),
                          (["--evaluator", "training", "--proxy", "snip"], "--evaluator proxy")):
        argv = base + extra + ["--save", str(tmp_path / "refused")]
        assert run_cli(main, argv) == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "refused").exists()
