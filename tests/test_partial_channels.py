"""Partial channel connections (PC-DARTS): the edge computation, edge normalisation, genotype, gradients."""
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from darts.spaces.darts_cnn import SearchNetwork
from darts.spaces.darts_cnn.search import edge_normalization, search_op
from darts.spaces.mixed_op import MixedOp, channel_shuffle
from darts.strategies.architect import Architect
from darts.training import frozen_batchnorm_stats


def shuffle_by_reshape(x, groups):
    """ShuffleNet's definition: split channels into groups, transpose, flatten."""
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


@pytest.mark.parametrize("groups", [2, 4])
def test_channel_shuffle_is_the_reshape_transpose_permutation(groups):
    x = torch.randn(2, 8, 3, 3)
    assert torch.equal(channel_shuffle(x, groups), shuffle_by_reshape(x, groups))
    assert not torch.equal(channel_shuffle(x, groups), x)


@pytest.mark.parametrize("stride,size", [(1, 6), (2, 8), (2, 7)])
def test_partial_mixed_op_equals_explicit_pc_darts_edge(stride, size):
    """ops on the first C/K channels, the rest passed on (max-pooled 2x2 when strided), shuffled in K groups."""
    torch.manual_seed(0)
    C, K = 8, 4
    names = ["none", "max_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_3x3"]
    ops = [search_op(n, C // K, stride) for n in names]
    edge = MixedOp(ops, names, partial_channels=K, stride=stride).double()
    x = torch.randn(3, C, size, size, dtype=torch.float64)
    w = torch.softmax(torch.randn(len(names), dtype=torch.float64), 0)
    part, rest = x[:, :C // K], x[:, C // K:]
    mixed = sum(wi * op(part) for wi, op in zip(w, edge._ops))
    if stride == 2:  # ceil mode: an odd 7x7 map gives 4x4, as the strided convolutions do
        rest = F.max_pool2d(rest, 2, 2, ceil_mode=True)
    expected = shuffle_by_reshape(torch.cat([mixed, rest], 1), K)
    out = edge(x, w)
    assert out.shape == (3, C, -(-size // stride), -(-size // stride))
    torch.testing.assert_close(out, expected)
    # edge normalisation, folded into the edge, scales its whole output
    torch.testing.assert_close(edge(x, w, torch.tensor(0.3, dtype=torch.float64)), 0.3 * expected)
    # a sampled path (ENAS) goes through the same partial connection
    torch.testing.assert_close(edge.path(x, 3), shuffle_by_reshape(torch.cat([edge._ops[3](part), rest], 1), K))


def test_edge_normalisation_is_a_softmax_per_node():
    betas = torch.randn(14)
    e = edge_normalization(betas, steps=4)
    start = 0
    for n in (2, 3, 4, 5):
        torch.testing.assert_close(e[start:start + n], torch.softmax(betas[start:start + n], 0))
        start += n


def test_supernet_with_partial_channels_shapes_and_parameters():
    full = SearchNetwork(C=8, num_classes=5, layers=3, in_channels=1)
    pc = SearchNetwork(C=8, num_classes=5, layers=3, in_channels=1, partial_channels=4)
    # 14x14 input: the reduction cells see 14 -> 7 -> 4, odd maps included
    assert pc(torch.randn(2, 1, 14, 14)).shape == (2, 5)
    assert len(full.alphas()) == 2 and not hasattr(full, "betas_normal")
    assert [tuple(a.shape) for a in pc.alphas()] == [(14, 8), (14, 8), (14,), (14,)]
    assert not {id(a) for a in pc.alphas()} & {id(w) for w in pc.weights()}
    assert len(list(pc.parameters())) == len(pc.weights()) + 4
    # every edge's ops are built for a quarter of the cell's channels
    sep = pc.cells[0].edges[0]._ops[pc.primitives.index("sep_conv_3x3")]
    assert sep[1].in_channels == 8 // 4
    assert sum(w.numel() for w in pc.weights()) < sum(w.numel() for w in full.weights()) / 3
    with pytest.raises(ValueError, match="divide"):
        SearchNetwork(C=6, layers=3, partial_channels=4)


def test_betas_receive_gradients():
    torch.manual_seed(0)
    m = SearchNetwork(C=4, num_classes=3, layers=3, in_channels=1, partial_channels=2)
    loss = F.cross_entropy(m(torch.randn(4, 1, 8, 8)), torch.tensor([0, 1, 2, 0]))
    grads = torch.autograd.grad(loss, m.alphas())
    assert all(g.abs().sum() > 0 for g in grads)


def test_edge_normalisation_decides_which_edges_the_genotype_keeps():
    m = SearchNetwork(C=4, num_classes=3, layers=3, partial_channels=2)
    with torch.no_grad():
        for a in (m.alphas_normal, m.alphas_reduce):  # every edge equally strong, sep_conv_3x3 its best op
            a.zero_()
            a[:, m.primitives.index("sep_conv_3x3")] = 2.0
        m.betas_reduce.zero_()
        m.betas_normal.zero_()
        m.betas_normal[[2, 5, 9]] = 3.0    # node 1 prefers input 0, node 2 input 0, node 3 input 0
        m.betas_normal[[3, 4, 7, 8, 12, 13]] = torch.tensor([1.0, 2.0, 1.0, 2.0, 1.0, 2.0])
    g = m.genotype()
    inputs = [j for _, j in g.normal]
    # node 0 ties (two inputs, both kept); later nodes keep their two most normalised edges
    assert inputs == [0, 1, 0, 2, 0, 3, 0, 4]  # without the betas every tie would keep inputs 0 and 1
    assert {op for op, _ in g.normal} == {"sep_conv_3x3"}
    assert m.alpha_summary()["edges_normal"][2] > m.alpha_summary()["edges_normal"][3]


def test_second_order_gradient_with_partial_channels_matches_autograd():
    """Alphas and betas through the unrolled step (exact Hessian-vector product), float64."""
    torch.manual_seed(0)
    model = SearchNetwork(C=4, num_classes=3, layers=3, in_channels=1, partial_channels=2).double()
    with torch.no_grad():
        for a in model.alphas():
            a.normal_(0, 0.5)
    opt = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    g = torch.Generator().manual_seed(1)
    train = (torch.randn(6, 1, 8, 8, generator=g, dtype=torch.float64), torch.randint(0, 3, (6,), generator=g))
    val = (torch.randn(6, 1, 8, 8, generator=g, dtype=torch.float64), torch.randint(0, 3, (6,), generator=g))

    def loss_fn(forward, batch):
        return F.cross_entropy(forward(batch[0]), batch[1])

    names, weights = zip(*model.named_weights())
    xi, wd = 0.05, 3e-4
    with frozen_batchnorm_stats(model):
        gw = torch.autograd.grad(loss_fn(model, train), weights, create_graph=True)
        w_prime = [w - xi * (gi + wd * w) for w, gi in zip(weights, gw)]
        expected = torch.autograd.grad(
            loss_fn(lambda x: functional_call(model, dict(zip(names, w_prime)), (x,)), val), model.alphas())
    got, _ = Architect(model, loss_fn, opt, unrolled=True, hessian="exact").hypergradient(train, val)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-10)
    assert len(got) == 4 and got[2].abs().sum() > 0
