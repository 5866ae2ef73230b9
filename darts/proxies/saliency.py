"""The pruning-at-initialisation saliencies summed over a network (Abdelfattah et al., "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021): snip, grasp, fisher, grad_norm and synflow.

As in that paper, each per-weight saliency is summed over the weights of every convolution and linear layer
(biases and batch-norm parameters do not count), the network keeps PyTorch's default initialisation, and the
minibatch is 64 training images. Batch norm uses the minibatch's statistics (training mode) except in synflow,
which the paper computes on the network without its batch-norm layers; dropout and drop path are off.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from darts.proxies.base import Proxy, logits, loss_gradients, register_proxy, weight_layers, working_copy


def _grad(w: torch.Tensor) -> torch.Tensor:
    """A weight's gradient; zeros for a weight the output does not reach (e.g. behind a 'none' edge)."""
    return torch.zeros_like(w) if w.grad is None else w.grad


@register_proxy
class Snip(Proxy):
    """snip (Lee et al., ICLR 2019): sum over weights of |w * dL/dw|, L the cross-entropy of the minibatch;
    one forward and backward pass, batch 64, training-mode batch norm, float32."""
    name = "snip"
    description = "sum of |w * dL/dw| (SNIP, Lee et al. 2019; as a NAS proxy: Abdelfattah et al. 2021)"

    def compute(self, network, inputs, targets, loss_fn) -> float:
        net = working_copy(network)
        loss_gradients(net, inputs, targets, loss_fn)
        return float(sum((m.weight.detach() * _grad(m.weight)).abs().sum() for m in weight_layers(net)))


@register_proxy
class GradNorm(Proxy):
    """grad_norm: sum over layers of the Euclidean norm of dL/dW (the layer's whole weight tensor); one
    forward and backward pass, batch 64, training-mode batch norm, float32."""
    name = "grad_norm"
    description = "sum over layers of ||dL/dW||_2 (Abdelfattah et al. 2021)"

    def compute(self, network, inputs, targets, loss_fn) -> float:
        net = working_copy(network)
        loss_gradients(net, inputs, targets, loss_fn)
        return float(sum(_grad(m.weight).norm() for m in weight_layers(net)))


@register_proxy
class Grasp(Proxy):
    """grasp (Wang et al., ICLR 2020): sum over weights of -w * (H g), g = dL/dw and H the Hessian of L, the
    Hessian-gradient product taken by differentiating g . stop_gradient(g) a second time; two forward passes,
    batch 64, training-mode batch norm, float32."""
    name = "grasp"
    description = "sum of -w * (Hessian x gradient) (GraSP, Wang et al. 2020; Abdelfattah et al. 2021)"

    def compute(self, network, inputs, targets, loss_fn) -> float:
        net = working_copy(network)
        weights = [m.weight for m in weight_layers(net)]
        first = torch.autograd.grad(loss_fn(logits(net(inputs)), targets), weights, allow_unused=True)
        fixed = [torch.zeros_like(w) if g is None else g.detach() for w, g in zip(weights, first)]
        second = torch.autograd.grad(loss_fn(logits(net(inputs)), targets), weights, create_graph=True,
                                     allow_unused=True)
        z = sum((g * f).sum() for g, f in zip(second, fixed) if g is not None)
        if not torch.is_tensor(z) or not z.requires_grad:
            return 0.0
        hg = torch.autograd.grad(z, weights, allow_unused=True)
        return float(sum((-w.detach() * h).sum() for w, h in zip(weights, hg) if h is not None))


@register_proxy
class Fisher(Proxy):
    """fisher (Theis et al. 2018; Turner et al. 2020): for every output channel of every convolution and linear
    layer, 0.5 * mean over the minibatch of (sum over positions of a * dL/da)^2, a the layer's output; summed
    over channels and layers (a layer called several times in one pass counts each call). Batch 64,
    training-mode batch norm, float32."""
    name = "fisher"
    description = "sum over channels of 0.5 E[(a . dL/da)^2] (Theis et al. 2018; Abdelfattah et al. 2021)"

    def compute(self, network, inputs, targets, loss_fn) -> float:
        net = working_copy(network)
        terms: list[torch.Tensor] = []

        def keep(module, inp, out):
            act = out.detach().clone()

            def on_grad(grad):
                prod = act * grad
                per_channel = prod.sum(dim=(2, 3)) if prod.dim() == 4 else prod
                terms.append(0.5 * per_channel.pow(2).mean(0).sum())
            out.register_hook(on_grad)

        hooks = [m.register_forward_hook(keep) for m in weight_layers(net)]
        try:
            loss_gradients(net, inputs, targets, loss_fn)
        finally:
            for h in hooks:
                h.remove()
        return float(sum(terms)) if terms else 0.0


def _without_batchnorm(net: nn.Module) -> nn.Module:
    """`net` with every batch-norm layer replaced by the identity (in place)."""
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
    return net


@register_proxy
class Synflow(Proxy):
    """synflow (Tanaka et al., NeurIPS 2020, as a NAS proxy by Abdelfattah et al. 2021): every parameter
    replaced by its absolute value, batch-norm layers removed, the network in float64 (the authors' code runs
    it in double precision, which keeps the product of many layers' weights from overflowing float32), one
    input of all ones in the data's shape; R = the sum of the logits; the score is the sum over weights of
    |w * dR/dw|. It never looks at the images or the labels (only their shape)."""
    name = "synflow"
    description = ("sum of |w * dR/dw|, R the output sum of the |weights| network on an all-ones input "
                   "(Tanaka et al. 2020)")
    needs_labels = False
    needs_data = False
    double_precision = True

    def compute(self, network, inputs, targets, loss_fn) -> float:
        net = _without_batchnorm(working_copy(network)).double()
        with torch.no_grad():
            for t in list(net.parameters()) + list(net.buffers()):
                if t.is_floating_point():
                    t.abs_()
        ones = torch.ones((1, *inputs.shape[1:]), dtype=torch.float64, device=inputs.device)
        logits(net(ones)).sum().backward()
        return float(sum((m.weight.detach() * _grad(m.weight)).abs().sum() for m in weight_layers(net)))
