"""The robust-search add-ons: the Hessian eigenvalue (RobustDARTS), DARTS-ES early stopping, beta-DARTS's
Beta-Decay regulariser, and their wiring into a tiny search (off by default)."""
import json

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from darts import api
from darts.genotype import Genotype
from darts.robust.beta import BetaDecay, beta_decay
from darts.robust.early_stop import EarlyStop, should_stop
from darts.robust.eigen import dominant_eigenvalue, param_free_ops
from darts.spaces.darts_cnn import SearchNetwork
from darts.strategies.architect import Architect


def ce_loss(forward, batch):
    x, y = batch
    return F.cross_entropy(forward(x), y)


def tiny(seed=0):
    torch.manual_seed(seed)
    model = SearchNetwork(C=2, num_classes=3, layers=3, steps=2, multiplier=2, in_channels=1).double()
    with torch.no_grad():
        for a in model.alphas():
            a.normal_(0, 0.5)
    g = torch.Generator().manual_seed(seed + 1)
    batch = (torch.randn(6, 1, 8, 8, generator=g, dtype=torch.float64), torch.randint(0, 3, (6,), generator=g))
    return model, batch


def test_power_iteration_finds_the_dominant_eigenvalue_of_the_full_hessian():
    model, batch = tiny()
    names = ["alphas_normal", "alphas_reduce"]
    alphas = [getattr(model, n) for n in names]
    shapes = [a.shape for a in alphas]
    sizes = [a.numel() for a in alphas]

    def loss_of(flat):
        parts = [p.reshape(s) for p, s in zip(flat.split(sizes), shapes)]
        return ce_loss(lambda x: functional_call(model, dict(zip(names, parts)), (x,)), batch)

    flat = torch.cat([a.detach().reshape(-1) for a in alphas])
    hessian = torch.autograd.functional.hessian(loss_of, flat)
    eigenvalues = torch.linalg.eigvalsh((hessian + hessian.T) / 2)
    expected = eigenvalues[eigenvalues.abs().argmax()].item()
    # the two largest |eigenvalues| are 0.1294 and 0.1200: the Rayleigh quotient converges as (0.1200/0.1294)^(2k),
    # about 1e-5 after 80 iterations
    found = dominant_eigenvalue(ce_loss(model, batch), alphas, iterations=80, seed=0)
    assert found == pytest.approx(expected, rel=1e-3)


def test_power_iteration_is_seeded_and_leaves_the_global_generator_alone():
    model, batch = tiny()
    state = torch.get_rng_state()
    a = dominant_eigenvalue(ce_loss(model, batch), model.alphas(), iterations=5, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert a == dominant_eigenvalue(ce_loss(model, batch), model.alphas(), iterations=5, seed=3)


def test_param_free_ops_counts_skips_pools_and_none_of_the_normal_cell():
    g = Genotype(normal=[("skip_connect", 0), ("sep_conv_3x3", 1), ("max_pool_3x3", 0), ("avg_pool_3x3", 2)],
                 normal_concat=[2, 3], reduce=[("skip_connect", 0)] * 4, reduce_concat=[2, 3])
    assert param_free_ops(g) == 3
    assert param_free_ops(["none", "nor_conv_3x3", "skip_connect"]) == 2


def test_should_stop_compares_window_means_k_epochs_apart():
    flat = [1.0] * 12
    assert not any(should_stop(flat[:i + 1], k=5, window=5) for i in range(12))
    growing = [1.0] * 5 + [2.0] * 5
    # epoch 6: mean(e0..e1) / mean(e2..e6) = 1 / 1.4 < 0.75; epoch 5: 1 / 1.2 is not
    assert [i for i in range(10) if should_stop(growing[:i + 1], k=5, window=5)][0] == 6
    assert not should_stop(growing[:5], k=5, window=5)  # before epoch k: never
    assert should_stop([1.0, 2.0], k=1, window=1) and not should_stop([1.0, 1.2], k=1, window=1)


class FakeSearch:
    stop_requested, stop_genotype = False, None


def genotype_of(epoch):
    op = ["skip_connect", "sep_conv_3x3", "max_pool_3x3", "dil_conv_3x3", "avg_pool_3x3", "sep_conv_5x5"][epoch]
    return Genotype(normal=[(op, 0), (op, 1)], normal_concat=[2], reduce=[(op, 0), (op, 1)], reduce_concat=[2])


def test_early_stop_on_a_fake_eigenvalue_sequence_keeps_the_window_start_genotype():
    search = FakeSearch()
    stopper = EarlyStop(search, k=2, window=1, ratio=0.75)
    for epoch, eig in enumerate([1.0, 1.0, 1.1, 1.2, 1.7, 3.0]):
        metrics = {"hessian_eigenvalue": eig}
        stopper(epoch, genotype_of(epoch), metrics)
        if search.stop_requested:
            break
    assert epoch == 4 and metrics["early_stopped"] == 1  # 1.1 / 1.7 < 0.75; 1.0 / 1.2 is not
    assert search.stop_genotype == genotype_of(2)
    again = FakeSearch()
    EarlyStop(again, k=2, window=1).load_state_dict(stopper.state_dict())  # a resumed stopped run stops too
    assert again.stop_requested and again.stop_genotype == genotype_of(2)


def test_beta_decay_is_the_mean_logsumexp_and_its_gradient_the_softmax_over_edges():
    a = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
    term = beta_decay([a, b])
    assert term.item() == pytest.approx(torch.cat([a.logsumexp(-1), b.logsumexp(-1)]).mean().item())
    ga, gb = torch.autograd.grad(term, [a, b])
    assert torch.allclose(ga, F.softmax(a, -1) / 6) and torch.allclose(gb, F.softmax(b, -1) / 6)
    assert torch.autograd.gradcheck(lambda x, y: beta_decay([x, y]), (a, b))
    epoch = [0]
    reg = BetaDecay(2.0, 5, lambda: epoch[0])
    assert reg.current_weight() == 0.0
    epoch[0] = 4
    assert reg.current_weight() == 2.0 and reg([a, b]).item() == pytest.approx(2 * term.item())


@pytest.mark.parametrize("unrolled,hessian", [(False, "finite-difference"), (True, "finite-difference"),
                                              (True, "exact")])
def test_the_architect_adds_the_regulariser_gradient_in_every_order(unrolled, hessian):
    model, batch = tiny()
    opt = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9)
    arch = Architect(model, ce_loss, opt, unrolled=unrolled, hessian=hessian)
    plain, _ = arch.hypergradient(batch, batch)
    arch.alpha_regularizer = lambda alphas: 0.3 * beta_decay(alphas)
    regularised, _ = arch.hypergradient(batch, batch)
    extra = torch.autograd.grad(0.3 * beta_decay(model.alphas()), model.alphas())
    for p, r, e in zip(plain, regularised, extra):
        assert torch.allclose(r - p, e, atol=1e-10 if hessian == "exact" or not unrolled else 1e-6)


TINY = dict(layers=3, init_channels=4, batch_size=8, max_batches=2, progress=False, device="cpu", no_plots=True,
            log_to_console=False)


def digits():
    full = api.load_data("digits")
    return api.as_image_dataset((full.train_x[:64], full.train_y[:64]))


def rows_of(folder):
    return [json.loads(line) for line in (folder / "alphas.jsonl").read_text().splitlines()]


def test_the_eigen_monitor_logs_without_changing_the_search(tmp_path):
    data = digits()
    plain = api.search(data, save=tmp_path / "plain", epochs=2, **TINY)
    watched = api.search(data, save=tmp_path / "watched", epochs=2, hessian_eigen=True, hessian_eigen_iterations=5,
                         **TINY)
    for a, b in zip(plain.model.alphas(), watched.model.alphas()):
        assert torch.equal(a, b)
    rows = rows_of(tmp_path / "watched")
    assert all(isinstance(r["metrics"]["hessian_eigenvalue"], float) for r in rows)
    assert all(0 <= r["metrics"]["param_free_ops"] <= 8 for r in rows)
    assert "hessian_eigenvalue" not in rows_of(tmp_path / "plain")[0]["metrics"]


def test_early_stop_ends_the_search_writes_the_window_start_genotype_and_resumes_stopped(tmp_path, monkeypatch):
    from darts.robust import eigen
    from tests.test_relaxations import CLI_TINY, cli
    values = iter([1.0, 5.0])  # 1 / 5 < 0.75 at epoch 1; a third call would raise StopIteration
    monkeypatch.setattr(eigen.EigenMonitor, "eigenvalue", lambda self: next(values))
    out = tmp_path / "es"
    flags = ["--early_stop", "--early_stop_window", "1", "--epochs", "4"]
    assert cli(CLI_TINY + flags + ["--save", str(out)]) == 0
    rows = rows_of(out)
    assert [r["epoch"] for r in rows] == [0, 1] and rows[1]["metrics"]["early_stopped"] == 1
    assert rows[0]["genotype"] != rows[1]["genotype"]  # else the test would not tell them apart
    assert json.loads((out / "genotype.json").read_text()) == rows[0]["genotype"]
    assert cli(["--resume", str(out), "--no_progress"]) == 0  # stopped: nothing more runs
    assert len(rows_of(out)) == 2 and json.loads((out / "genotype.json").read_text()) == rows[0]["genotype"]


# beta-DARTS through the second-order architect (the first-order pass is a subset), and early stopping, which
# runs the eigenvalue monitor too
@pytest.mark.parametrize("flags", [["--beta_decay", "1.0", "--unrolled"],
                                   ["--early_stop", "--hessian_eigen_iterations", "3"]])
def test_every_plugin_resumes_exactly(tmp_path, monkeypatch, flags):
    from tests.test_relaxations import resumes_exactly
    resumes_exactly(tmp_path, monkeypatch, flags)


def test_beta_decay_changes_the_search():
    data = digits()
    plain, regularised = (api.search(data, epochs=2, beta_decay=b, **TINY) for b in (0.0, 1.0))
    assert not torch.equal(plain.model.alphas()[0], regularised.model.alphas()[0])


def test_the_eigen_monitor_leaves_a_text_search_with_dropout_unchanged(tmp_path):
    from tests.test_relaxations import cli
    from tests.test_rnn import TINY_TEXT, write_corpus
    argv = TINY_TEXT + ["--data", str(write_corpus(tmp_path / "corpus")), "--epochs", "2", "--max_batches", "3",
                        "--no_plots"]
    assert cli(argv + ["--save", str(tmp_path / "plain")]) == 0
    assert cli(argv + ["--hessian_eigen", "--hessian_eigen_iterations", "3", "--save", str(tmp_path / "eig")]) == 0
    plain, eig = rows_of(tmp_path / "plain"), rows_of(tmp_path / "eig")
    assert [r["recurrent"] for r in plain] == [r["recurrent"] for r in eig]
    assert all(isinstance(r["metrics"]["hessian_eigenvalue"], float) for r in eig)
