"""Memory-saving mode (per-cell checkpointing) computes what the default mode computes (float64, tiny nets),
and the memory estimate is within 20% of a measured whole-process peak."""
import pytest
import torch
import torch.nn.functional as F

from darts.errors import UserError
from darts.spaces.darts_cnn import SearchNetwork
from darts.strategies.architect import Architect


def ce_loss(forward, batch):
    x, y = batch
    return F.cross_entropy(forward(x), y)


def setup(memory_saving: bool, channels_last: bool = False):
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = SearchNetwork(C=4, num_classes=3, layers=3, memory_saving=memory_saving).double().to(memory_format=fmt)
    with torch.no_grad():  # alphas away from uniform so their gradients are not degenerate
        for a in model.alphas():
            a.normal_(0, 0.5)
    opt = torch.optim.SGD(model.weights(), lr=0.05, momentum=0.9, weight_decay=3e-4)
    g = torch.Generator().manual_seed(1)
    batch = lambda: (torch.randn(4, 3, 8, 8, generator=g, dtype=torch.float64).contiguous(memory_format=fmt),
                     torch.randint(0, 3, (4,), generator=g))
    train, val = batch(), batch()
    opt.zero_grad()
    ce_loss(model, train).backward()  # a first weight step fills the momentum buffers the virtual step uses
    opt.step()
    opt.zero_grad()
    return model, opt, train, val


def search_step(memory_saving: bool, channels_last: bool = False, **architect):
    """One architect step and one weight step; (logits, alpha gradients, weight gradients, buffers, alphas,
    weights after the step)."""
    model, opt, train, val = setup(memory_saving, channels_last)
    arch = Architect(model, ce_loss, opt, **architect)
    grads, _ = arch.hypergradient(train, val)
    arch.step(train, val)
    logits = model(train[0])
    F.cross_entropy(logits, train[1]).backward()
    weight_grads = [p.grad.clone() for p in model.weights()]
    opt.step()
    return (logits.detach(), grads, weight_grads, [b.clone() for b in model.buffers()],
            [a.detach().clone() for a in model.alphas()], [w.detach().clone() for w in model.weights()])


@pytest.mark.parametrize("architect", [{}, {"unrolled": True}, {"unrolled": True, "hessian": "exact"}],
                         ids=["first-order", "finite-difference", "exact"])
def test_memory_saving_gives_the_default_results(architect):
    default, saving = search_step(False, **architect), search_step(True, **architect)
    for name, a, b in zip(("logits", "alpha gradients", "weight gradients", "BN running stats", "alphas",
                           "weights"), default, saving, strict=True):
        a, b = (a,) if torch.is_tensor(a) else a, (b,) if torch.is_tensor(b) else b
        assert len(a) == len(b)
        for x, y in zip(a, b):
            torch.testing.assert_close(y, x, rtol=1e-12, atol=1e-14, msg=name)


def test_recomputation_leaves_running_stats_alone():
    """The backward pass recomputes every cell in training mode; BN statistics move once per forward."""
    stats = []
    for memory_saving in (False, True):
        model, _, train, _ = setup(memory_saving)
        ce_loss(model, train).backward()
        stats.append([b.clone() for b in model.buffers()])
    assert all(torch.equal(a, b) for a, b in zip(*stats))
    assert any(b.dtype == torch.long for b in stats[0])  # num_batches_tracked is among them


def test_checkpointing_only_when_a_graph_is_recorded():
    model, _, train, _ = setup(True)
    with torch.no_grad():
        out = model(train[0])
    assert out.grad_fn is None
    model_default, _, _, _ = setup(False)
    with torch.no_grad():
        assert torch.equal(model_default(train[0]), out)


def test_flag_builds_a_memory_saving_supernet_and_is_refused_elsewhere():
    from darts.cli.search import settings_from_argv
    from darts.experiment import check_combination
    from darts.spaces.registry import DataShape
    space, settings, _ = settings_from_argv(["--memory_saving", "--layers", "3", "--init_channels", "4"])
    assert space.build_supernet(settings, DataShape(3, num_classes=10)).memory_saving
    space, settings, _ = settings_from_argv(["--layers", "3", "--init_channels", "4"])
    assert not space.build_supernet(settings, DataShape(3, num_classes=10)).memory_saving
    space, settings, _ = settings_from_argv(["--memory_saving", "--strategy", "enas"])
    with pytest.raises(UserError, match="memory_saving"):
        check_combination(space, "enas", settings)


# --- the estimate -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size,order,memory_saving", [(8, "second", False), (16, "first", True)])
def test_estimate_within_a_fifth_of_the_measured_peak(batch_size, order, memory_saving):
    """The estimate against the VmHWM of a fresh process running one such step (C=8, 5 layers, 32x32)."""
    from darts.memory_estimate import estimate_search_memory, measure_step
    measured = measure_step(8, 5, batch_size, order, memory_saving, steps=0, timeout=120)["peak_gb"]
    model = SearchNetwork(8, 10, 5, memory_saving=memory_saving)
    estimate = estimate_search_memory(model, 3, 32, 32, batch_size, order).peak_gb
    print(f"batch {batch_size} {order} memory_saving={memory_saving}: estimate {estimate:.3f} GB, "
          f"measured {measured:.3f} GB")
    assert abs(estimate - measured) <= 0.2 * measured


def test_largest_batch_inverts_the_estimate():
    from darts.memory_estimate import activation_profile, estimate_from_profile, largest_batch
    profile = activation_profile(SearchNetwork(4, 10, 3), 3, 16, 16)
    for order in ("first", "second", "exact"):
        for memory_saving in (False, True):
            b = largest_batch(profile, 1.0, order, memory_saving)
            assert b > 0 and estimate_from_profile(profile, b, order, memory_saving).peak_gb <= 1.0
            assert estimate_from_profile(profile, b + 1, order, memory_saving).peak_gb > 1.0
    assert largest_batch(profile, 0.01) == 0


def test_summary_prints_the_estimate_and_the_largest_batch(capsys):
    import train_search
    train_search.main(["--summary", "--layers", "3", "--init_channels", "4", "--unrolled", "--memory_budget", "4",
                       "--device", "cpu"])
    out = capsys.readouterr().out
    assert "search step estimate (second order, batch 64" in out and "with --memory_saving" in out
    assert "largest batch within 4 GB:" in out
    with pytest.raises(UserError, match="--summary"):
        train_search.main(["--memory_budget", "4", "--layers", "3"])
