"""Candidate operations of the DARTS recurrent cell: the activation applied on an edge.

Every edge computes a highway step  s = s_prev + sigmoid(c) * (f(h) - s_prev), where (c, h) is a
linear map of s_prev split in two; the search chooses the activation f. 'none' removes the edge.
"""
from __future__ import annotations

import torch
import torch.nn as nn

RNN_PRIMITIVES = ["none", "tanh", "relu", "sigmoid", "identity"]


class Zero(nn.Module):
    """The 'none' op: contributes nothing (MixedOp skips it; kept so indices match RNN_PRIMITIVES)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


RNN_OPS = {"none": Zero, "tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "identity": nn.Identity}


def build_activation(name: str) -> nn.Module:
    if name not in RNN_OPS:
        raise ValueError(f"unknown recurrent operation {name!r}; known: {', '.join(RNN_OPS)}")
    return RNN_OPS[name]()


def highway(s_prev: torch.Tensor, c: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """s_prev + sigmoid(c) * (h - s_prev), h already activated: the gated update of every node."""
    return s_prev + c.sigmoid() * (h - s_prev)
