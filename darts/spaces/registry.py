"""The registry of search spaces: each space is one object, registered once by name.

A space says what it is (name, modality, its options and their defaults) and what it can do: turn
genotypes to and from JSON, give the sample-based strategies an `ArchSpace`, build a supernet for the
gradient and weight-sharing strategies, build the final network of a genotype (for low-fidelity
rewards and for retraining, with its own training recipe), and draw a genotype. Everything that
dispatches on a space asks this registry; a new space is a package that subclasses `Space` and calls
`register_space` (both from darts.spaces.base, which the space packages import instead of this module, so that
loading the built-in list from here makes no import cycle), plus its entry in darts/spaces/builtin.py (or a
plugin file named on the command line).

Every genotype JSON names its space: {"space": "nb201", ...}. Files without the key (written before it
existed) are matched by the keys each space recognises (`legacy_keys`).
"""
from __future__ import annotations

from typing import Any, Sequence

from darts.errors import UserError
from darts.genotype import GenotypeError
from darts.spaces.base import ALIASES as _ALIASES, SPACES as _SPACES
from darts.spaces.base import DataShape, Space, register_space  # noqa: F401  (what a space or plugin file needs)

_LOADED = False


def _load_builtin() -> None:
    """Register the built-in spaces, once, and put them first (the defaults are the first image and text
    spaces), before any registered earlier from a plugin file."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        from darts.spaces.builtin import BUILTIN_SPACES
        others = {name: s for name, s in _SPACES.items() if s not in BUILTIN_SPACES}
        _SPACES.clear()
        _SPACES.update({s.name: s for s in BUILTIN_SPACES})
        _SPACES.update(others)


def space_names(modality: str | None = None, capability: str | None = None) -> list[str]:
    """Names of the registered spaces, optionally only those of a modality / with a capability."""
    _load_builtin()
    return [n for n, s in _SPACES.items()
            if (modality is None or s.modality == modality) and (capability is None or s.supports(capability))]


def get_space(name: str) -> Space:
    _load_builtin()
    space = _SPACES.get(_ALIASES.get(name, name))
    if space is None:
        raise UserError(f"unknown search space {name!r}; registered spaces: {', '.join(space_names())}")
    return space


def space_of(genotype: Any) -> Space:
    """The space a genotype object belongs to."""
    _load_builtin()
    for space in _SPACES.values():
        if space.owns(genotype):
            return space
    raise UserError(f"no registered space owns a genotype of type {type(genotype).__name__}")


def genotype_record(genotype: Any) -> dict:
    """The JSON form of any genotype: {"space": name, ...the space's fields}."""
    space = space_of(genotype)
    return {"space": space.name, **space.genotype_to_dict(genotype)}


def genotype_from_record(data: Any, space: str | None = None, opts: dict | None = None) -> Any:
    """A validated genotype from its JSON form; `space` (if given) must match the record's own."""
    _load_builtin()
    if not isinstance(data, dict):
        raise UserError(f"a genotype must be a JSON object, got {type(data).__name__}")
    if isinstance(data.get("genotype"), dict):  # published cells wrap the genotype with provenance
        data = {"space": data.get("space"), **data["genotype"]}
    named = data.get("space")
    if named is not None and not isinstance(named, str):
        raise UserError(f'a genotype\'s "space" must be a name, got {named!r}')
    owner = get_space(named) if named is not None else _legacy_space(data)
    if space is not None and owner.name != get_space(space).name:
        raise UserError(f"this genotype belongs to the {owner.name} space, not {get_space(space).name}")
    fields = {k: v for k, v in data.items() if k not in ("space", "source", "name", "aliases")}
    return owner.genotype_from_dict(fields, opts)


def _legacy_space(data: dict) -> Space:
    """The space of a genotype without "space" (older files): the one whose keys it has (or shares most
    of, so that space's own check says which are missing)."""
    keys = set(data)
    overlap = {space: len(space.legacy_keys & keys) for space in _SPACES.values() if space.legacy_keys}
    best = max(overlap, key=overlap.get, default=None)
    if best is None or not overlap[best]:
        raise GenotypeError(f'genotype has no "space" key and its keys {sorted(keys)} match no space; add '
                            f'"space": one of {", ".join(space_names())}')
    return best


def require(space: Space, capability: str, what: str) -> None:
    """A one-line error when `space` lacks `capability` (e.g. a supernet for DARTS)."""
    if not space.supports(capability):
        able = ", ".join(space_names(capability=capability)) or "none"
        raise UserError(f"the {space.name} space cannot be used for {what}; spaces that can: {able}")


def spaces_summary(names: Sequence[str] | None = None) -> str:
    """One line per space: name, modality, description (for --help)."""
    names = names or space_names()
    return "\n".join(f"{n} ({get_space(n).modality}): {get_space(n).description}" for n in names)
