"""FactorizedReduce over few channels: oneDNN's CPU backward of a stride-2 1x1 conv over 2-6 input channels
corrupts the heap on some CPUs, so the op takes another kernel there; it must still compute the same sums."""
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from darts.ops import FactorizedReduce


def _reference(op: FactorizedReduce, x: torch.Tensor) -> torch.Tensor:
    """The op's two strided convolutions in float64 (a kernel path that does not crash), before BatchNorm."""
    x = torch.relu(x.double())
    shifted = F.pad(x[:, :, 1:, 1:], (0, x.size(3) % 2, 0, x.size(2) % 2))
    return torch.cat([F.conv2d(x, op.conv_1.weight.double(), stride=2),
                      F.conv2d(shifted, op.conv_2.weight.double(), stride=2)], dim=1)


@pytest.mark.parametrize("channels", [2, 4, 6, 8])
@pytest.mark.parametrize("size", [8, 7])
def test_sums_equal_the_strided_convolutions(channels, size):
    torch.manual_seed(channels + size)
    op = FactorizedReduce(channels, channels, affine=False).to(memory_format=torch.channels_last)
    x = torch.randn(4, channels, size, size).to(memory_format=torch.channels_last).requires_grad_()
    captured = {}
    op.bn.register_forward_hook(lambda m, args, out: captured.setdefault("pre_bn", args[0]))
    op(x).square().sum().backward()
    assert torch.allclose(captured["pre_bn"].double(), _reference(op, x.detach()), atol=1e-5)
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_backward_over_few_channels_does_not_crash():
    """In a fresh process (a corrupted heap kills it): forward and backward at 2-6 channels, channels_last."""
    code = ("import torch\nfrom darts.ops import FactorizedReduce\n"
            "for c in range(2, 7):\n"
            "    op = FactorizedReduce(c, 2 * (c // 2 + 1)).to(memory_format=torch.channels_last)\n"
            "    for _ in range(30):\n"
            "        x = torch.randn(16, c, 8, 8).to(memory_format=torch.channels_last).requires_grad_()\n"
            "        op(x).square().sum().backward()\n"
            "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
