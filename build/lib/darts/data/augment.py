"""Batched augmentation on the model's device: random crop with zero padding, horizontal flip, cutout.

The random draws come from a CPU `torch.Generator` owned by the caller, so results are identical on
every device and a checkpointed generator state resumes them exactly.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop(x: torch.Tensor, padding: int, gen: torch.Generator) -> torch.Tensor:
    """Zero-pad by `padding` and crop back to the original size at a random offset per image."""
    if padding <= 0:
        return x
    n, c, h, w = x.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=gen).to(x.device)
    padded = F.pad(x, (padding, padding, padding, padding))
    rows = (offsets[0][:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (offsets[1][:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chans = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, chans, rows, cols]


def random_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    flip = (torch.rand(x.shape[0], generator=gen) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def cutout(x: torch.Tensor, length: int, gen: torch.Generator) -> torch.Tensor:
    """Zero a length x length square (clipped at the border) centred at a random pixel of each image."""
    if length <= 0:
        return x
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n,), generator=gen).to(x.device)
    cx = torch.randint(0, w, (n,), generator=gen).to(x.device)
    r = torch.arange(h, device=x.device)[None, :]
    c = torch.arange(w, device=x.device)[None, :]
    in_rows = (r >= (cy[:, None] - length // 2)) & (r < (cy[:, None] + length // 2))
    in_cols = (c >= (cx[:, None] - length // 2)) & (c < (cx[:, None] + length // 2))
    mask = ~(in_rows[:, :, None] & in_cols[:, None, :])
    return x * mask[:, None].to(x.dtype)


def normalize(x_uint8: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    return (x_uint8.to(dtype) / 255.0 - mean) / std
