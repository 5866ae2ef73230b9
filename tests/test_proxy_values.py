"""Zero-cost proxies against numbers derived by hand on a network small enough to do the arithmetic on paper,
the invariances their papers state, determinism of every registered proxy, and the correlation harness against
scipy.stats. The expected values are computed here with plain numpy / torch, never through darts.proxies."""
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy import stats

from darts.proxies import proxies, score
from darts.spaces.common.nb201_arch import Nb201Arch

ROOT = Path(__file__).resolve().parent.parent

W1 = [[1.0, -1.0], [2.0, 1.0]]  # hidden = W1 x   (2 inputs -> 2 hidden units)
W2 = [[1.0, 2.0], [-1.0, 1.0]]  # logits = W2 relu(hidden)   (2 classes)
X = [[1.0, 0.0], [0.0, 1.0]]    # two images, of classes 0 and 1
Y = [0, 1]


def sigmoid(t):
    return 1.0 / (1.0 + math.exp(-t))


def tiny():
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.ReLU(), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(W1))
        net[2].weight.copy_(torch.tensor(W2))
    return net


def data():
    return torch.tensor(X), torch.tensor(Y)


# The forward pass, by hand:
#   image 1, x = (1, 0): h = W1 x = (1, 2), both units on, a = (1, 2), z = W2 a = (5, 1)
#   image 2, x = (0, 1): h = (-1, 1), unit 0 off,       a = (0, 1), z = W2 a = (2, 1)
# Mean cross-entropy over the two images; dL/dz_n = (softmax(z_n) - onehot(y_n)) / 2:
#   softmax(5, 1) = (s, 1 - s), s = sigmoid(4); class 0: dz1 = (s - 1, 1 - s) / 2 = (-u, u),  u = (1 - s) / 2
#   softmax(2, 1) = (t, 1 - t), t = sigmoid(1); class 1: dz2 = (t, -t) / 2        = (v, -v),  v = t / 2
# Backward: dL/dW2 = sum_n dz_n a_n^T = [[-u, -2u + v], [u, 2u - v]]
#   dL/da_n = W2^T dz_n: (-2u, -u) for image 1; (2v, v) for image 2, masked by h_2 > 0 to dh_2 = (0, v)
#   dL/dW1 = sum_n dh_n x_n^T = [[-2u, 0], [-u, v]]
U = (1 - sigmoid(4)) / 2
V = sigmoid(1) / 2


def test_the_hand_derivation_matches_plain_autograd():
    """The derivation above, checked once with plain torch (no darts code), so the tests below rest on it."""
    net = tiny()
    x, y = data()
    nn.functional.cross_entropy(net(x), y).backward()
    assert torch.allclose(net[2].weight.grad, torch.tensor([[-U, -2 * U + V], [U, 2 * U - V]]), atol=1e-7)
    assert torch.allclose(net[0].weight.grad, torch.tensor([[-2 * U, 0.0], [-U, V]]), atol=1e-7)


def test_synflow_by_hand():
    """|W1| = [[1, 1], [2, 1]], |W2| = [[1, 2], [1, 1]], input (1, 1): h = (2, 3), z = (1*2 + 2*3, 2 + 3) = (8, 5),
    R = 13. dR/dW2 = [[2, 3], [2, 3]]: sum |w dR/dw| = 2 + 6 + 2 + 3 = 13. dR/da = |W2|^T 1 = (2, 3), both on:
    dR/dW1 = [[2, 2], [3, 3]]: 2 + 2 + 6 + 3 = 13. synflow = 26 (= 2R: each layer of a bias-free chain gives R)."""
    assert score(tiny(), data(), ["synflow"])["synflow"] == 26.0


def test_snip_by_hand():
    """sum |w dL/dw|: W1's part |1 * -2u| + |-1 * 0| + |2 * -u| + |1 * v| = 4u + v; W2's part
    |-u| + |2(v - 2u)| + |-u| + |2u - v| = 2u + 3(v - 2u) (v > 2u) = 3v - 4u. snip = 4v = 2 sigmoid(1)."""
    assert score(tiny(), data(), ["snip"], batch_size=2)["snip"] == pytest.approx(2 * sigmoid(1), rel=1e-6)
    assert 4 * V == pytest.approx(4 * U + V + 3 * V - 4 * U)


def test_grad_norm_by_hand():
    """||dL/dW1|| + ||dL/dW2|| = sqrt(4u^2 + u^2 + v^2) + sqrt(u^2 + (v - 2u)^2 + u^2 + (2u - v)^2)."""
    expected = math.sqrt(5 * U ** 2 + V ** 2) + math.sqrt(2 * U ** 2 + 2 * (V - 2 * U) ** 2)
    assert score(tiny(), data(), ["grad_norm"], batch_size=2)["grad_norm"] == pytest.approx(expected, rel=1e-6)


def test_fisher_by_hand():
    """Per output channel of each layer 0.5 * mean_n (a_n dL/da_n)^2, a the layer's output. Layer 1: h . dh =
    (-2u, -2u) and (0, v): channels u^2 and u^2 + v^2/4. Layer 2: z . dz = (-5u, u) and (2v, -v): channels
    (25u^2 + 4v^2)/4 and (u^2 + v^2)/4. Sum: 8.5 u^2 + 1.5 v^2."""
    expected = 8.5 * U ** 2 + 1.5 * V ** 2
    assert score(tiny(), data(), ["fisher"], batch_size=2)["fisher"] == pytest.approx(expected, rel=1e-5)


def test_naswot_by_hand():
    """Codes (hidden > 0) of (1, 0), (0, 1), (-1, -1): h = (1, 2), (-1, 1), (0, -3) -> 11, 01, 00 (a zero
    pre-activation is off). Agreements: K = [[2, 1, 0], [1, 2, 1], [0, 1, 2]], det = 2*3 - 1*2 = 4: log 4."""
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    assert score(tiny(), x, ["naswot"], batch_size=3)["naswot"] == pytest.approx(math.log(4.0), rel=1e-12)


def conv_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3),
                         nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 5))


def images(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 6, 6, generator=g), torch.randint(0, 5, (n,), generator=g)


def test_synflow_is_the_same_on_any_data_of_one_shape():
    """Tanaka et al.: synflow needs no data (an all-ones input to the |weights| network without batch norm):
    images, labels and batch size change nothing, and it equals that computation written out here."""
    net = conv_net()
    got = {score(net, images(n, seed), ["synflow"])["synflow"] for n, seed in ((8, 1), (3, 2), (8, 3))}
    got.add(score(net, torch.zeros(2, 3, 6, 6), ["synflow"])["synflow"])
    assert len(got) == 1
    plain = nn.Sequential(*[m for m in conv_net() if not isinstance(m, nn.BatchNorm2d)]).double()
    with torch.no_grad():
        for p in plain.parameters():
            p.abs_()
    plain(torch.ones(1, 3, 6, 6, dtype=torch.float64)).sum().backward()
    weights = [m.weight for m in plain if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert got.pop() == pytest.approx(float(sum((w.detach() * w.grad).abs().sum() for w in weights)), rel=1e-12)


def test_naswot_hamming_form_equals_the_code_products_form():
    """Mellor et al. write K_H[i, j] = N_A - d_H(c_i, c_j); the same kernel is c c^T + (1 - c)(1 - c)^T (both on
    plus both off). Codes collected here by our own hooks on every ReLU's input of a conv net."""
    net, (x, _) = conv_net(), images(6, 4)
    codes = []
    hooks = [m.register_forward_hook(lambda m, i, o: codes.append((i[0] > 0).reshape(len(x), -1).double()))
             for m in net if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    c = torch.cat(codes, dim=1).numpy()
    products = c @ c.T + (1 - c) @ (1 - c).T
    hamming = np.array([[c.shape[1] - np.sum(a != b) for b in c] for a in c])
    assert np.array_equal(products, hamming)
    expected = np.linalg.slogdet(products)[1]
    assert score(net, x, ["naswot"], batch_size=6)["naswot"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("name", list(proxies()))
def test_every_proxy_is_the_same_for_the_same_seed(name):
    """A genotype's score is fixed by the genotype, the data and the seed, whatever the global random state."""
    arch, opts = Nb201Arch.from_index(9371), {"init_channels": 4, "layers": 3}
    x, y = images(4, 5)
    x = torch.nn.functional.interpolate(x, size=8)
    torch.manual_seed(123)
    first = score(arch, (x, y % 4), [name], seed=2, batch_size=4, space_options=opts)[name]
    torch.manual_seed(456)
    torch.rand(10)
    again = score(arch, (x, y % 4), [name], seed=2, batch_size=4, space_options=opts)[name]
    assert first == again or (math.isnan(first) and math.isnan(again))


def _harness():
    spec = importlib.util.spec_from_file_location("proxy_correlation", ROOT / "benchmarks" / "proxy_correlation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_harness_correlations_equal_scipy_on_a_fixed_list_with_ties():
    scores = [3.0, 1.0, float("-inf"), 2.0, 2.0, 5.0, float("nan"), 4.0, 0.5, 2.0]
    accs = [70.1, 60.3, 99.0, 65.0, 66.0, 80.2, 10.0, 66.0, 50.0, 64.0]
    got = _harness().correlations(scores, accs, boot=50, seed=1)
    keep = [i for i, s in enumerate(scores) if math.isfinite(s)]
    s, a = [scores[i] for i in keep], [accs[i] for i in keep]
    assert got["n"] == 8 and got["undefined"] == 2
    assert got["spearman"][0] == pytest.approx(stats.spearmanr(s, a).statistic, rel=1e-12)
    assert got["kendall"][0] == pytest.approx(stats.kendalltau(s, a).statistic, rel=1e-12)  # tau-b (ties)
