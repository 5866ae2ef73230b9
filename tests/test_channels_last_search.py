"""channels_last, the image searches' default memory layout on CPU too, computes the search step NCHW computes:
the same hypergradient (first order, finite difference, exact) and the same weights after a step, up to float
rounding (float64 here, so any difference beyond rounding is a layout bug, not noise)."""
import pytest
import torch

from tests.test_memory_saving import search_step


@pytest.mark.parametrize("architect", [{}, {"unrolled": True}, {"unrolled": True, "hessian": "exact"}],
                         ids=["first-order", "finite-difference", "exact"])
def test_channels_last_search_step_equals_nchw(architect):
    nchw, last = search_step(False, **architect), search_step(False, channels_last=True, **architect)
    for a, b in zip(nchw, last, strict=True):  # logits, hypergradient, weight gradients, BN stats, alphas, weights
        for x, y in zip((a,) if torch.is_tensor(a) else a, (b,) if torch.is_tensor(b) else b, strict=True):
            assert torch.allclose(x, y, rtol=1e-9, atol=1e-12)
    assert any(w.dim() == 4 and w.is_contiguous(memory_format=torch.channels_last)
               and not w.is_contiguous() for w in last[-1])  # the layout was in use
