"""The DARTS architect: gradient steps on the architecture weights (alphas), eqs. (3)-(8) of the paper.

Bilevel problem:  min_alpha L_val(w*(alpha), alpha)  s.t.  w*(alpha) = argmin_w L_train(w, alpha).

First order (xi = 0):  grad_alpha L_val(w, alpha).
Second order: one virtual SGD step  w' = w - xi * (momentum * buf + grad_w L_train(w, alpha) + wd * w)
and the chain rule through it:

    grad_alpha L_val(w', alpha) - xi * grad^2_{alpha,w} L_train(w, alpha) . v,   v = grad_w' L_val(w', alpha)

The Hessian-vector product is a central finite difference (the paper's eq. 8),

    (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps),  w+- = w +- eps v,
    eps = radius / ||v||  (radius 0.01 in the paper),

or exact by double backward (`hessian="exact"`).

When the weight step clips the gradient norm (`grad_clip`, the recurrent search), the virtual step
clips it the same way, w' = w - xi * (s * g + ...), s = min(1, clip / ||g||), and the implicit term is
scaled by s (the clip factor is held constant in the chain rule).

The architect works on any supernet exposing `named_weights()` and `alphas()`; a `loss_fn(forward,
batch)` says how a batch becomes a scalar loss, with `forward(*inputs)` calling the supernet. The
virtual weights are passed with `torch.func.functional_call`, so the network is never copied, and
passes that need only the alpha gradient never compute weight gradients. Every gradient is averaged
across ranks when running distributed. BatchNorm running statistics are left untouched by the
architect's passes: only the real weight step updates them.

Mixed precision: `autocast` (a context-manager factory, e.g. bf16 autocast on CUDA) wraps the forward
passes, except the two finite-difference passes, which run in float32: they differ by weights moved
eps = 0.01 / ||v|| along v, a change below bfloat16's resolution (8 mantissa bits), so in bf16 the
difference of their gradients would be rounding noise rather than a Hessian-vector product.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable

import torch
import torch.nn as nn
from torch.func import functional_call

from darts.distributed import all_reduce_mean
from darts.training import frozen_batchnorm_stats

LossFn = Callable[[Callable[..., Any], Any], torch.Tensor]

HESSIAN_METHODS = ("finite-difference", "exact")


class Architect:
    def __init__(self, model: nn.Module, loss_fn: LossFn, weight_optimizer: torch.optim.Optimizer,
                 arch_learning_rate: float = 3e-4, arch_weight_decay: float = 1e-3, unrolled: bool = False,
                 hessian: str = "finite-difference", fd_radius: float = 0.01, arch_betas=(0.5, 0.999),
                 grad_clip: float | None = None, autocast: Callable[[], Any] | None = None):
        if hessian not in HESSIAN_METHODS:
            raise ValueError(f"hessian must be one of {HESSIAN_METHODS}, got {hessian!r}")
        self.model = model
        self.loss_fn = loss_fn
        self.weight_optimizer = weight_optimizer
        self.unrolled = unrolled
        self.hessian = hessian
        self.fd_radius = fd_radius
        self.grad_clip = grad_clip
        self.autocast = autocast or contextlib.nullcontext
        self.alphas = list(model.alphas())
        # optional R(alphas) added to the validation loss of every architect pass (e.g. beta-DARTS)
        self.alpha_regularizer: Callable[[list[torch.Tensor]], torch.Tensor] | None = None
        self.weight_names, self.weights = zip(*model.named_weights())
        self.optimizer = torch.optim.Adam(self.alphas, lr=arch_learning_rate, betas=arch_betas,
                                          weight_decay=arch_weight_decay)

    # -- forward helpers ---------------------------------------------------------------------------
    def _forward(self, weights=None):
        if weights is None:
            return self.model
        params = dict(zip(self.weight_names, weights))
        return lambda *args, **kwargs: functional_call(self.model, params, args, kwargs)

    def _loss(self, batch, weights=None, full_precision: bool = False) -> torch.Tensor:
        with contextlib.nullcontext() if full_precision else self.autocast():
            return self.loss_fn(self._forward(weights), batch)

    def _val_loss(self, batch, weights=None) -> torch.Tensor:
        """L_val(w, alpha) (+ R(alpha) when a regulariser is set): the objective of the alphas."""
        loss = self._loss(batch, weights)
        return loss if self.alpha_regularizer is None else loss + self.alpha_regularizer(self.alphas)

    # -- public API ------------------------------------------------------------------------------------
    def step(self, train_batch, val_batch) -> torch.Tensor:
        """One Adam step on the alphas; returns the validation loss it was computed from."""
        grads, val_loss = self.hypergradient(train_batch, val_batch)
        for a, g in zip(self.alphas, grads):
            a.grad = g
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return val_loss

    def hypergradient(self, train_batch, val_batch) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The alpha gradient of the bilevel objective (first or second order), averaged across ranks."""
        with frozen_batchnorm_stats(self.model):
            if not self.unrolled:
                loss = self._val_loss(val_batch)
                grads = list(torch.autograd.grad(loss, self.alphas))
                all_reduce_mean(grads)
                return grads, loss.detach()
            return self._second_order(train_batch, val_batch)

    def virtual_step(self, train_grads) -> list[torch.Tensor]:
        """w' = w - xi * (momentum * buf + g + wd * w), exactly the weight optimizer's next SGD step."""
        group = self.weight_optimizer.param_groups[0]
        xi, momentum, wd = group["lr"], group.get("momentum", 0.0), group.get("weight_decay", 0.0)
        new = []
        for w, g in zip(self.weights, train_grads):
            d = g + wd * w.detach()
            buf = self.weight_optimizer.state.get(w, {}).get("momentum_buffer")
            if momentum and buf is not None:
                d = d + momentum * buf
            new.append(w.detach() - xi * d)
        return new

    def _second_order(self, train_batch, val_batch):
        xi = self.weight_optimizer.param_groups[0]["lr"]
        exact = self.hessian == "exact"
        # 1. grad_w L_train(w, alpha) for the virtual step (kept differentiable for the exact HVP).
        train_loss = self._loss(train_batch)
        g_train = torch.autograd.grad(train_loss, self.weights, create_graph=exact)
        g_flat = [g.detach() for g in g_train]
        all_reduce_mean(g_flat)
        clip = self.clip_factor(g_flat)
        if self.grad_clip:
            g_flat = [g * clip for g in g_flat]
        # 2. w' and the validation loss there: gradients w.r.t. w' (v) and alpha.
        w_prime = [w.requires_grad_() for w in self.virtual_step(g_flat)]
        val_loss = self._val_loss(val_batch, w_prime)
        grads = torch.autograd.grad(val_loss, self.alphas + w_prime)
        d_alpha, v = list(grads[: len(self.alphas)]), list(grads[len(self.alphas):])
        all_reduce_mean(d_alpha + v)
        # 3. The mixed second derivative times v.
        if exact:
            # Each rank differentiates its own gradient; averaging the products equals the product
            # of the averaged gradient because v is already shared.
            dot = sum((g * vi).sum() for g, vi in zip(g_train, v))
            hvp = list(torch.autograd.grad(dot, self.alphas))
        else:
            hvp = self._finite_difference_hvp(train_batch, v)
        all_reduce_mean(hvp)
        return [da - xi * clip * h for da, h in zip(d_alpha, hvp)], val_loss.detach()

    def clip_factor(self, grads) -> torch.Tensor | float:
        """min(1, grad_clip / ||grads||) as torch.nn.utils.clip_grad_norm_ computes it; 1 without clipping."""
        if not self.grad_clip:
            return 1.0
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        return (self.grad_clip / (norm + 1e-6)).clamp(max=1.0)

    def _finite_difference_hvp(self, train_batch, v) -> list[torch.Tensor]:
        norm = torch.sqrt(sum((vi.float() ** 2).sum() for vi in v))
        eps = self.fd_radius / norm.clamp_min(1e-30)
        w = [p.detach() for p in self.weights]
        plus = [wi + eps * vi for wi, vi in zip(w, v)]
        g_plus = torch.autograd.grad(self._loss(train_batch, plus, full_precision=True), self.alphas)
        minus = [wi - eps * vi for wi, vi in zip(w, v)]
        g_minus = torch.autograd.grad(self._loss(train_batch, minus, full_precision=True), self.alphas)
        return [(gp - gm) / (2 * eps) for gp, gm in zip(g_plus, g_minus)]
