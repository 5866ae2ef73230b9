"""A network's costs that need no timing: parameters, multiply-adds and peak activation memory.

Peak activation memory, as defined here: run one eval-mode forward pass under torch.inference_mode on the CPU
with a (batch, *input_shape) float32 input; after each operation (a leaf module, or a torch function called
outside one: see darts.latency.trace), add up the bytes of the distinct tensor storages then alive among the input
and the outputs of the operations so far; the peak is the largest such sum. At that moment the operation's inputs
and outputs are alive, as is every earlier output still referenced for a later operation (a skip connection's
tensor); freed tensors no longer count. Weights and buffers are not counted, nor temporaries inside one
operation. An in-place operation's output shares its input's storage and adds nothing.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from darts.latency.trace import LiveMemory, Tracer
from darts.summary import count_multiply_adds, count_parameters


def peak_activation_bytes(network: nn.Module, input_shape: tuple[int, ...], batch: int = 1) -> int:
    """The peak activation memory of one forward pass (module docstring), in bytes."""
    memory = LiveMemory()
    device = next((p.device for p in network.parameters()), torch.device("cpu"))
    was_training = network.training
    network.eval()
    try:
        with torch.inference_mode():
            x = torch.randn((batch, *input_shape), device=device)
            Tracer(network, memory).run(x)
    finally:
        network.train(was_training)
    return memory.peak


def network_costs(network: nn.Module, input_shape: tuple[int, ...], batch: int = 1) -> dict:
    """{"parameters": trainable weights (darts.summary.count_parameters), "multiply_adds": of one image
    (convolutions and linear layers, darts.summary.count_multiply_adds), "peak_activation_bytes": of a pass of
    `batch` images (module docstring)}."""
    device = next((p.device for p in network.parameters()), torch.device("cpu"))
    return {"parameters": count_parameters(network),
            "multiply_adds": count_multiply_adds(network, torch.zeros((1, *input_shape), device=device)),
            "peak_activation_bytes": peak_activation_bytes(network, input_shape, batch)}
