"""Whether a network's weights fit in memory, told before it is built: a network built on PyTorch's meta
device has every shape but no storage, so counting its weights allocates nothing.

A width or depth far beyond the usual (--init_channels 100000) would otherwise attempt an allocation of
hundreds of gigabytes and fail with the allocator's traceback, or be killed by the system. The count is
only made when a size is well past its default, from builds near the default sizes (building on the meta
device costs as much time as a real build, and grows with the network), as a lower bound: it refuses
only sizes that cannot fit.
"""
from __future__ import annotations

import os
from typing import Callable, Iterable

import torch
import torch.nn as nn

from darts.errors import InvalidArgument
from darts.options import Option

BYTES_PER_WEIGHT = 4 * 4  # float32 weights, their gradients and two optimizer buffers (momentum, Adam's)
GROWTH = 4  # an option this many times its default triggers the count


def _grown(options: Iterable[Option], values: dict, defaults: dict) -> dict[str, int]:
    """{name: default} of the whole-number options in `values` past GROWTH times their default."""
    out = {}
    for o in options:
        value, default = values.get(o.name), defaults.get(o.name, o.default)
        if type(value) is int and type(default) is int and default >= 1 and value > GROWTH * default:
            out[o.name] = default
    return out


def meta_parameter_count(build: Callable[[], nn.Module]) -> int | None:
    """Weights of the network `build()` makes, built on the meta device; None when the builder refuses the
    sizes or needs real values (then no estimate is made)."""
    try:
        with torch.device("meta"):
            model = build()
    except Exception:  # noqa: BLE001  (a builder that reads a tensor's values cannot run on meta)
        return None
    return sum(p.numel() for p in model.parameters())


def parameter_lower_bound(build: Callable[[dict], nn.Module], options: Iterable[Option], values: dict,
                          defaults: dict | None = None) -> float | None:
    """The weights of `build(values)` for sizes far past their defaults, without building it: counted with those
    sizes at their defaults and, one at a time, at two and four times its default, each extended along the
    parabola through those three counts to the size asked (weights grow linearly with depth or classes and
    quadratically with a width: exact for both; a negative curvature is taken as none, so the count stays a
    lower bound). None: nothing grown, or no count."""
    grown = _grown(options, values, defaults or {})
    if not grown:
        return None
    at_defaults = {**values, **grown}
    base = meta_parameter_count(lambda: build(at_defaults))
    total = base
    for name, default in grown.items():
        f2, f4 = (meta_parameter_count(lambda k=k: build({**at_defaults, name: k * default})) for k in (2, 4))
        if base is None or f2 is None or f4 is None:
            return None
        curve = max((f4 - 3 * f2 + 2 * base) / 6, 0.0)  # f(t) = a + b t + c t^2 through t = 1, 2, 4
        slope = max(f2 - base - 3 * curve, 0.0)
        t = values[name] / default
        total += slope * (t - 1) + curve * (t * t - 1)
    return total


def memory_bytes() -> int | None:
    """This machine's physical memory, or None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_weights_fit(build: Callable[[dict], nn.Module], options: Iterable[Option], values: dict, what: str,
                      defaults: dict | None = None, prefix: str = "--") -> None:
    """Refuse (one line) sizes whose network's weights, gradients and optimizer state would exceed this
    machine's memory: `build(values)` makes the network, `options` declare its sizes (checked when one is
    far past its default, in `defaults` or declared); the message names them `prefix` + name."""
    options = tuple(options)
    n, have = parameter_lower_bound(build, options, values, defaults), memory_bytes()
    if n is None or have is None or n * BYTES_PER_WEIGHT <= have:
        return
    sizes = ", ".join(f"{prefix}{o.name} {values[o.name]}" for o in options if type(values.get(o.name)) is int)
    raise InvalidArgument(f"{what} with {sizes} would have at least {n:,.0f} weights, {n * BYTES_PER_WEIGHT / 2 ** 30:,.0f} "
                          f"GiB with their gradients and optimizer state, more than this machine's "
                          f"{have / 2 ** 30:,.0f} GiB; choose smaller sizes")
