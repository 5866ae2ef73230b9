"""Sampled relaxations: GDAS's hard Gumbel-softmax (Dong & Yang, CVPR 2019) and DrNAS's Dirichlet
(Chen et al., ICLR 2021). Both draw a fresh sample per forward pass in training mode and are deterministic
in evaluation mode.

Architect orders: both support the first-order architect and, through `frozen()`, the second-order one
(finite-difference or exact HVP). Inside `frozen()` every forward pass replays the random draw of the
first pass (per alphas tensor), so w, w', w+ and w- of one unrolled step see the same sample z and the
finite difference differentiates grad_w L_train(w, alpha, z) for one z. DartsSearch wraps each architect
step in it.
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from darts.spaces.relaxation import Relaxation, register_relaxation


def _generator(device: torch.device) -> torch.Generator:
    if device.type == "cuda":
        return torch.cuda.default_generators[device.index if device.index is not None else torch.cuda.current_device()]
    return torch.default_generator


class SampledRelaxation(Relaxation):
    """A relaxation drawing random mixing weights in training mode; `_sample(alphas)` draws one."""

    def __init__(self):
        super().__init__()
        self._replay: dict[int, torch.Tensor] | None = None  # alphas id -> generator state before its draw

    def _sample(self, alphas: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def mix(self, alphas: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return self.probabilities(alphas)
        if self._replay is None:
            return self._sample(alphas)
        gen = _generator(alphas.device)
        if id(alphas) not in self._replay:  # the first draw advances the generator, the replays do not
            self._replay[id(alphas)] = gen.get_state()
            return self._sample(alphas)
        now = gen.get_state()
        gen.set_state(self._replay[id(alphas)])
        try:
            return self._sample(alphas)
        finally:
            gen.set_state(now)

    @contextlib.contextmanager
    def frozen(self):
        """Every forward pass inside draws the sample of the first one (the generator advances once)."""
        self._replay = {}
        try:
            yield
        finally:
            self._replay = None


@register_relaxation
class GumbelSoftmax(SampledRelaxation):
    """GDAS: h = one_hot(argmax(alpha + g)), g ~ Gumbel(0, 1), with the gradient of
    y = softmax((alpha + g) / tau) (straight-through); tau falls linearly from tau_max to tau_min over the
    epochs, tau_e = tau_max - (tau_max - tau_min) e / (E - 1). Evaluation mode: softmax(alpha)."""

    name = "gumbel"

    def __init__(self, tau_max: float = 10.0, tau_min: float = 0.1):
        super().__init__()
        self.tau_max, self.tau_min = tau_max, tau_min
        self.tau = tau_max

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """The temperature of `epoch` (a function of the epoch only, so a resumed run gets the same)."""
        self.tau = self.tau_max - (self.tau_max - self.tau_min) * epoch / max(epochs - 1, 1)

    def _sample(self, alphas: torch.Tensor) -> torch.Tensor:
        gumbel = -torch.empty_like(alphas).exponential_().log()
        soft = F.softmax((alphas + gumbel) / self.tau, dim=-1)
        hard = F.one_hot(soft.argmax(-1), alphas.shape[-1]).to(soft.dtype)
        return hard - soft.detach() + soft


@register_relaxation
class Dirichlet(SampledRelaxation):
    """DrNAS: mixing weights w ~ Dir(beta), beta = ELU(alpha) + 1, differentiated by the pathwise
    (implicit reparameterisation) gradient of torch's Dirichlet.rsample; evaluation mode and the
    discretizer use the mean beta / sum(beta). DrNAS's optional anchor regulariser is not included."""

    name = "dirichlet"

    @staticmethod
    def concentration(alphas: torch.Tensor) -> torch.Tensor:
        return F.elu(alphas) + 1

    def _sample(self, alphas: torch.Tensor) -> torch.Tensor:
        return torch.distributions.Dirichlet(self.concentration(alphas)).rsample()

    def probabilities(self, alphas: torch.Tensor) -> torch.Tensor:
        beta = self.concentration(alphas)
        return beta / beta.sum(-1, keepdim=True)
