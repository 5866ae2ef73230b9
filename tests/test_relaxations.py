"""GDAS's hard Gumbel-softmax and DrNAS's Dirichlet relaxations: sample statistics, reparameterisation
gradients, evaluation mode, the frozen sample of one architect step, and a tiny search that resumes exactly."""
import json

import pytest
import torch
import torch.nn.functional as F

from darts import api
from darts.robust.relaxations import Dirichlet, GumbelSoftmax
from darts.spaces.relaxation import RELAXATIONS, make_relaxation


def test_the_sampled_relaxations_are_registered():
    assert isinstance(make_relaxation("gumbel"), GumbelSoftmax)
    assert isinstance(make_relaxation("dirichlet"), Dirichlet)
    assert {"softmax", "gumbel", "dirichlet"} <= set(RELAXATIONS)


def test_gumbel_one_hot_frequencies_match_the_softmax():
    torch.manual_seed(0)
    alphas = torch.tensor([[0.5, -1.0, 1.2, 0.0], [2.0, 0.0, 0.0, -2.0]])
    relax = GumbelSoftmax().train()
    relax.set_epoch(5, 10)
    n = 20000
    draws = torch.stack([relax.mix(alphas) for _ in range(n)])
    assert torch.all((draws == 0) | (draws == 1)) and torch.all(draws.sum(-1) == 1)  # one-hot forward
    assert torch.allclose(draws.mean(0), F.softmax(alphas, -1), atol=0.015)


def test_gumbel_gradient_is_the_soft_samples():
    """Straight-through: the gradient of the hard sample is that of softmax((alpha + g) / tau), same g."""
    alphas = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    relax = GumbelSoftmax().train()
    relax.set_epoch(3, 4)
    w = torch.randn(3, 5, dtype=torch.float64)
    state = torch.get_rng_state()
    (grad,) = torch.autograd.grad((relax.mix(alphas) * w).sum(), alphas)
    torch.set_rng_state(state)
    g = -torch.empty_like(alphas).exponential_().log()
    soft = F.softmax((alphas + g) / relax.tau, -1)
    (expected,) = torch.autograd.grad((soft * w).sum(), alphas)
    assert torch.allclose(grad, expected)


def test_gumbel_temperature_falls_linearly_from_10_to_0_1():
    relax = GumbelSoftmax()
    taus = []
    for e in range(5):
        relax.set_epoch(e, 5)
        taus.append(relax.tau)
    assert taus == pytest.approx([10.0, 7.525, 5.05, 2.575, 0.1])


def test_dirichlet_sample_mean_is_beta_over_its_sum():
    torch.manual_seed(0)
    alphas = torch.tensor([[0.5, -0.5, 1.5], [0.0, 2.0, -0.9]])
    relax = Dirichlet().train()
    draws = torch.stack([relax.mix(alphas) for _ in range(20000)])
    beta = F.elu(alphas) + 1
    assert torch.allclose(draws.sum(-1), torch.ones(2), atol=1e-5)
    assert torch.allclose(draws.mean(0), beta / beta.sum(-1, keepdim=True), atol=0.01)
    assert torch.allclose(relax.probabilities(alphas), beta / beta.sum(-1, keepdim=True))


def test_dirichlet_pathwise_gradient_matches_finite_differences_of_the_expectation():
    """d/d alpha E[w . c] = d/d alpha (mean . c): the average pathwise gradient against the exact one."""
    torch.manual_seed(1)
    alphas = torch.tensor([0.3, -0.4, 0.8], dtype=torch.float64, requires_grad=True)
    c = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    relax = Dirichlet().train()
    n = 20000
    (grad,) = torch.autograd.grad((relax.mix(alphas.expand(n, 3)) * c).sum() / n, alphas)
    eps = 1e-6
    mean = lambda a: (relax.probabilities(a) * c).sum()  # noqa: E731
    fd = torch.stack([(mean(alphas.detach() + eps * e) - mean(alphas.detach() - eps * e)) / (2 * eps)
                      for e in torch.eye(3, dtype=torch.float64)])
    assert torch.allclose(grad, fd, atol=0.02)


@pytest.mark.parametrize("name", ["gumbel", "dirichlet"])
def test_evaluation_mode_is_deterministic_and_draws_nothing(name):
    relax = make_relaxation(name).eval()
    alphas = torch.randn(4, 6)
    state = torch.get_rng_state()
    assert torch.equal(relax.mix(alphas), relax.mix(alphas))
    assert torch.equal(relax.mix(alphas), relax.probabilities(alphas))
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("name", ["gumbel", "dirichlet"])
def test_frozen_replays_one_sample_per_alphas_and_advances_the_generator_once(name):
    relax = make_relaxation(name).train()
    a, b = torch.randn(3, 5, requires_grad=True), torch.randn(3, 5, requires_grad=True)
    torch.manual_seed(3)
    with relax.frozen():
        first_a, first_b = relax.mix(a), relax.mix(b)
        again_a, again_b = relax.mix(a), relax.mix(b)
        (ga,) = torch.autograd.grad((again_a * torch.arange(5.0)).sum(), a)  # the graph is a fresh one
    after = torch.get_rng_state()
    torch.manual_seed(3)
    assert torch.equal(first_a, again_a) and torch.equal(first_b, again_b)
    assert torch.equal(relax.mix(a), first_a) and torch.equal(relax.mix(b), first_b)
    assert torch.equal(torch.get_rng_state(), after)
    assert not torch.equal(relax.mix(a), first_a)  # outside: a fresh sample each time
    assert torch.isfinite(ga).all()


CLI_TINY = ["--dataset", "digits", "--layers", "3", "--init_channels", "4", "--batch_size", "16",
            "--max_batches", "2", "--no_progress", "--report_freq", "100", "--no_plots", "--epochs", "2"]


def cli(argv):
    import train_search
    return train_search.run_cli(train_search.main, argv)


def resumes_exactly(tmp_path, monkeypatch, flags):
    """A 2-epoch search against the same search killed in its second epoch and resumed with --resume: the
    same weights, alphas, rows and genotype.json. Returns the uninterrupted run's folder."""
    from darts.checkpoint import load_checkpoint
    from darts.search import DartsSearch
    assert cli(CLI_TINY + flags + ["--save", str(tmp_path / "whole")]) == 0
    original = DartsSearch.train_epoch

    def dies_in_second_epoch(self):
        if self.epoch == 1:
            raise KeyboardInterrupt
        return original(self)
    with monkeypatch.context() as m:
        m.setattr(DartsSearch, "train_epoch", dies_in_second_epoch)
        assert cli(CLI_TINY + flags + ["--save", str(tmp_path / "cut")]) == 130
    assert len(rows_of(tmp_path / "cut")) == 1
    assert cli(["--resume", str(tmp_path / "cut"), "--no_progress"]) == 0
    whole, cut = (load_checkpoint(tmp_path / d / "checkpoint.pt") for d in ("whole", "cut"))
    for k, v in whole["model"].items():
        assert torch.equal(v, cut["model"][k]), k
    assert rows_of(tmp_path / "whole") == [dict(r, metrics={**r["metrics"], "seconds": w["metrics"]["seconds"]})
                                           for r, w in zip(rows_of(tmp_path / "cut"), rows_of(tmp_path / "whole"))]
    assert (tmp_path / "whole" / "genotype.json").read_text() == (tmp_path / "cut" / "genotype.json").read_text()
    return tmp_path / "whole"


def rows_of(folder):
    return [json.loads(line) for line in (folder / "alphas.jsonl").read_text().splitlines()]


# one relaxation per architect order (the frozen-sample path is shared; the suite's time is kept under 10 min)
@pytest.mark.parametrize("name,unrolled", [("gumbel", True), ("dirichlet", False)])
def test_a_tiny_search_resumes_exactly(tmp_path, monkeypatch, name, unrolled):
    flags = ["--relaxation", name] + (["--unrolled"] if unrolled else [])
    resumes_exactly(tmp_path, monkeypatch, flags)


def test_the_relaxation_flag_reaches_the_search():
    full = api.load_data("digits")
    data = api.as_image_dataset((full.train_x[:64], full.train_y[:64]))
    kw = dict(layers=3, init_channels=4, batch_size=8, max_batches=2, progress=False, device="cpu", no_plots=True,
              log_to_console=False, epochs=1)
    softmax, sampled = (api.search(data, relaxation=name, **kw) for name in ("softmax", "gumbel"))
    assert isinstance(sampled.model.relaxation, GumbelSoftmax)
    assert not torch.equal(softmax.model.alphas()[0], sampled.model.alphas()[0])
