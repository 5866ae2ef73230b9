"""Search add-ons: what plugs into the DARTS loop without being part of it (an eigenvalue monitor, early
stopping, a regulariser of the alphas, a cost term, a rule deriving the final cell), each a registered class.

An add-on declares its own options (flags and api.search keywords, like a space's), says which capabilities it
needs of the supernet (`needs`; a supernet lists what it offers in its `capabilities`), refuses combinations
of settings that concern it (`check`), and plugs itself into a `DartsSearch` through the loop's extension
points in `attach`: epoch_start_hooks, epoch_end_hooks, extra_parts, extra_epochs, finish_hooks, the
architect's alpha_regularizer (`add_alpha_regularizer`), the derivation handed to the supernet's genotype(),
and the supernet's relaxation (`use_relaxation`). An add-on whose options are at their defaults is inactive
and changes nothing.

    @register_addon
    class L2(SearchAddon):
        name = "l2"
        options = (Option("l2", 0.0, "weight of ||alpha||^2 in the architecture loss", minimum=0.0),)
        def is_active(self, settings): return settings.get("l2", 0.0) > 0
        def attach(self, searcher, settings, context):
            add_alpha_regularizer(searcher, lambda alphas: settings["l2"] * sum((a ** 2).sum() for a in alphas))
"""
from __future__ import annotations

from darts.addons import base
from darts.addons.base import _ADDONS, AddonContext, SearchAddon, add_alpha_regularizer, capabilities  # noqa: F401
from darts.errors import UserError


def register_addon(cls: type[SearchAddon]) -> type[SearchAddon]:
    """Add an add-on class from outside the package (a unique `name`, options no other add-on has); usable as
    a decorator. The built-in add-ons are registered first, so a clash with one of them is refused here."""
    import darts.addons.builtin  # noqa: F401
    return base.register_addon(cls)



def addons() -> dict[str, SearchAddon]:
    """Name -> add-on in attachment order: the built-in ones in darts/addons/builtin.py's order, then the others
    in the order they were registered."""
    from darts.addons.builtin import BUILTIN
    first = [cls.name for cls in BUILTIN]
    return {name: _ADDONS[name] for name in first + [n for n in _ADDONS if n not in first]}


def get_addon(name: str) -> SearchAddon:
    table = addons()
    if name not in table:
        raise UserError(f"unknown add-on {name!r}; registered: {', '.join(table)}")
    return table[name]


def active_addons(settings: dict) -> list[SearchAddon]:
    return [a for a in addons().values() if a.is_active(settings)]
