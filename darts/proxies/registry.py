"""Every zero-cost proxy by name, one table, so the library call, the proxy evaluator and the benchmark pick one
from one place. The built-in proxies come first (in the order of
`_builtin()`); a proxy from elsewhere is a `Proxy` subclass given to `register_proxy`:

    @register_proxy
    class WeightNorm(Proxy):
        name = "weight_norm"
        description = "sum of the weights' norms"
        needs_gradients = needs_labels = needs_data = False
        def compute(self, network, inputs, targets, loss_fn):
            return float(sum(p.norm() for p in network.parameters()))
"""
from __future__ import annotations

from darts.errors import UserError
from darts.proxies import base
from darts.proxies.base import _PROXIES, Proxy


def _builtin() -> tuple[type[Proxy], ...]:
    from darts.proxies.activation import JacobCov, Naswot
    from darts.proxies.saliency import Fisher, GradNorm, Grasp, Snip, Synflow
    from darts.proxies.size import Flops, Params
    from darts.proxies.zico import Zico
    return (Synflow, Snip, Grasp, Fisher, GradNorm, JacobCov, Naswot, Zico, Params, Flops)


def register_proxy(cls: type[Proxy]) -> type[Proxy]:
    """Add a proxy class from outside the package (a unique `name`); usable as a decorator. The built-in
    proxies are registered first, so a clash with one of them is refused here."""
    _builtin()
    return base.register_proxy(cls)


def proxies() -> dict[str, Proxy]:
    """Name -> proxy: the built-in ones first, then the others in the order they were registered."""
    first = [cls.name for cls in _builtin()]
    return {name: _PROXIES[name] for name in first + [n for n in _PROXIES if n not in first]}


def get_proxy(name: str) -> Proxy:
    table = proxies()
    if name not in table:
        raise UserError(f"unknown proxy {name!r}; registered: {', '.join(table)}")
    return table[name]
