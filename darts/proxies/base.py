"""The pieces a zero-cost proxy is written with: its base class, the table it registers into, and the
helpers every proxy shares (a working copy of the network in the mode the papers score it in, its logits, the
layers whose weights count). darts/proxies/registry.py lists the proxies, the built-in ones first.

A proxy scores an untrained network on one minibatch of real data: `compute(network, inputs, targets,
loss_fn) -> float`, higher meaning better as its paper uses it (targets may be None for a proxy that declares
needs_labels = False). It never changes the network it is given
(it works on a copy) and uses no randomness of its own, so a score is fixed by the network's initial weights
and the minibatch (darts.proxies.score seeds both).
"""
from __future__ import annotations

import copy
from typing import Callable

import torch
import torch.nn as nn

WEIGHT_LAYERS = (nn.Conv2d, nn.Linear)  # the layers whose weights the pruning-at-initialisation scores sum over

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Proxy:
    """Base of a zero-cost proxy; subclasses set the class attributes and implement `compute`."""

    name: str = ""
    description: str = ""         # one line: what it measures and its paper
    batch_size: int = 64          # the minibatch its paper scores with
    needs_gradients: bool = True  # a backward pass through the network
    needs_labels: bool = True     # the minibatch's targets (a loss)
    needs_data: bool = True       # False: the score does not depend on the images (synflow, #params)
    double_precision: bool = False  # computed in float64 as its paper's code does

    def compute(self, network: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: LossFn) -> float:
        raise NotImplementedError


_PROXIES: dict[str, Proxy] = {}


def register_proxy(cls: type[Proxy]) -> type[Proxy]:
    """Add a proxy class (a unique `name`); usable as a decorator. Proxies are listed in registration order."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a name")
    old = _PROXIES.get(cls.name)
    if old is not None and type(old) is not cls:
        raise ValueError(f"a proxy named {cls.name!r} is already registered ({type(old).__name__})")
    _PROXIES[cls.name] = cls()
    return cls


def logits(output) -> torch.Tensor:
    """The class scores of a forward pass: networks with an auxiliary head return (logits, aux)."""
    return output[0] if isinstance(output, (tuple, list)) else output


def working_copy(network: nn.Module) -> nn.Module:
    """A copy of `network` in training mode (batch-norm on the minibatch's statistics, as the papers' code scores
    a freshly built network) with dropout and drop path off, gradients cleared; the original is untouched."""
    net = copy.deepcopy(network)
    net.train()
    for m in net.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.eval()
    if hasattr(net, "drop_path_prob"):
        net.drop_path_prob = 0.0
    for p in net.parameters():
        p.grad = None
    return net


def weight_layers(network: nn.Module) -> list[nn.Module]:
    """The convolutions and linear layers that own a weight, in module order."""
    return [m for m in network.modules() if isinstance(m, WEIGHT_LAYERS) and m.weight is not None]


def loss_gradients(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: LossFn) -> torch.Tensor:
    """One forward and backward pass of the loss on the minibatch; the weights' .grad hold dL/dw. The loss."""
    loss = loss_fn(logits(net(inputs)), targets)
    loss.backward()
    return loss.detach()
