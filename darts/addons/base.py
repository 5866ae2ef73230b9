"""The pieces a search add-on is written with (its base class, the context it is attached with, the table it
registers into); darts/addons/registry.py lists them, the built-in ones first. See registry.py for what an
add-on is."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from darts.errors import UserError
from darts.options import Option


@dataclass(frozen=True)
class AddonContext:
    """What an add-on may need beside the searcher and the settings: the space, the data's shape, the memory
    format of the search's tensors."""
    space: Any
    shape: Any
    channels_last: bool = False


def capabilities(supernet) -> frozenset:
    """What `supernet` says it offers (its `capabilities`; none when it declares none)."""
    return frozenset(getattr(supernet, "capabilities", ()))


class SearchAddon:
    """Base of a search add-on; subclasses set the class attributes and override what they use."""

    name: str = ""
    description: str = ""
    options: tuple[Option, ...] = ()
    needs: frozenset = frozenset()   # capabilities the supernet must offer when the add-on is active
    refusal: str = ""                # the line given when it does not; {space} is the space's name

    @classmethod
    def value(cls, settings: dict, name: str):
        """This add-on's setting `name`: as given, else the default its option declares (written only there)."""
        if settings.get(name) is not None:
            return settings[name]
        return next(o.default for o in cls.options if o.name == name)

    def is_active(self, settings: dict) -> bool:
        """Whether the settings ask for this add-on (off by default)."""
        return False

    def check(self, settings: dict) -> None:
        """Refuse combinations of settings that concern this add-on (one-line UserError); run for every
        search, active or not (e.g. a setting of this add-on given without the one it qualifies)."""

    def requires(self, supernet, space, settings: dict) -> None:
        """Refuse a supernet that lacks a capability this add-on needs, and any input that can be read before
        the search (a file named by an option): before anything is written."""
        missing = self.needs - capabilities(supernet)
        if missing:
            raise UserError(self.refusal.format(space=space.name) if self.refusal else
                            f"add-on {self.name} needs {', '.join(sorted(missing))}, which the {space.name} space's "
                            f"supernet does not offer")

    def attach(self, searcher, settings: dict, context: AddonContext) -> None:
        """Plug into `searcher` (a DartsSearch) through its extension points."""
        raise NotImplementedError


_ADDONS: dict[str, SearchAddon] = {}


def register_addon(cls: type[SearchAddon]) -> type[SearchAddon]:
    """Add an add-on class (a unique `name`; its options' names unused by the others); usable as a decorator.
    Add-ons attach in the order they are registered."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a name")
    old = _ADDONS.get(cls.name)
    if old is not None and type(old) is not cls:
        raise ValueError(f"an add-on named {cls.name!r} is already registered ({type(old).__name__})")
    if old is None:
        taken = {o.name for a in _ADDONS.values() for o in a.options}
        clash = sorted(taken & {o.name for o in cls.options})
        if clash:
            raise ValueError(f"add-on {cls.name!r}: option(s) {', '.join(clash)} already belong to another add-on")
    _ADDONS[cls.name] = cls()
    return cls


def add_alpha_regularizer(searcher, term: Callable) -> None:
    """Add `term(alphas)` to the architecture loss, beside any regulariser already there."""
    other = searcher.architect.alpha_regularizer
    searcher.architect.alpha_regularizer = term if other is None else lambda alphas: other(alphas) + term(alphas)
