"""The base of every search space (`Space`, `DataShape`) and the table the spaces register into.

The space packages import this module only; looking spaces up by name or by genotype, with the built-in
spaces loaded first, is darts.spaces.registry's job, which sits above them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from darts.options import Option, resolve_options


@dataclass(frozen=True)
class DataShape:
    """What a space needs to know about the data: image channels / size and classes, or a vocabulary."""
    in_channels: int = 3
    height: int = 32
    width: int = 32
    num_classes: int = 10
    ntokens: int | None = None   # text: vocabulary size


class Space:
    """Base of every search space. Subclasses set the class attributes and implement what they support;
    a method left unimplemented means the capability is absent (see `supports`)."""

    name: str = ""
    modality: str = "image"                  # "image" or "text": which data and training loops apply
    description: str = ""
    options: tuple[Option, ...] = ()         # the space's own settings (sizes of supernet and network)
    strategy_defaults: dict[str, dict] = {}  # per strategy, defaults that differ for this space
    legacy_keys: frozenset = frozenset()     # keys that identify this space's genotype JSON without "space"
    aliases: tuple[str, ...] = ()            # other names found in older files' "space" key

    # -- genotypes ---------------------------------------------------------------------------------
    def genotype_from_dict(self, data: dict, opts: dict | None = None) -> Any:
        """A validated genotype from its JSON object (without the "space" key)."""
        raise NotImplementedError

    def genotype_to_dict(self, genotype: Any) -> dict:
        raise NotImplementedError

    def owns(self, genotype: Any) -> bool:
        """Whether `genotype` is one of this space's (used to find a genotype's space)."""
        return False

    # -- capabilities --------------------------------------------------------------------------------
    def arch_space(self, opts: dict):
        """The `ArchSpace` the sample-based strategies search (darts.strategies.base)."""
        raise NotImplementedError

    def build_supernet(self, opts: dict, shape: DataShape):
        """A supernet with alphas() apart from weights(), genotype(), alpha_summary() and, for weight
        sharing, forward_path(inputs, genotype)."""
        raise NotImplementedError

    def build_network(self, genotype: Any, opts: dict, shape: DataShape):
        """The final network of `genotype` (opts: the space's options and final-training settings)."""
        raise NotImplementedError

    def diagrams(self, genotype: Any) -> dict:
        """Part name -> graphviz.Digraph of `genotype` (e.g. {'normal': ..., 'reduce': ...})."""
        raise NotImplementedError

    def table(self, path: str, dataset: str, reward: str, opts: dict | None = None):
        """(evaluator, report) of a tabular benchmark of this space: the evaluator gives rewards, the report
        function arch -> dict gives the figures to log beside the reward (never the reward itself). `opts`:
        the run's settings (the space's own options among them)."""
        raise NotImplementedError

    def check_options(self, opts: dict, shape: DataShape | None = None) -> None:
        """Refuse option combinations the space cannot build (one-line UserError)."""

    def supports(self, capability: str) -> bool:
        """Whether this space implements `capability` (a method name above)."""
        return getattr(type(self), capability) is not getattr(Space, capability)

    def final_recipe(self, dataset: str) -> dict:
        """Settings of retraining a genotype of this space on `dataset` that differ from the defaults."""
        return {}

    def resolve(self, given: dict) -> dict:
        """The space's option values: those given (None = not given), else the declared defaults."""
        return resolve_options(self.options, given)


SPACES: dict[str, Space] = {}    # name -> space, in registration order
ALIASES: dict[str, str] = {}     # older name -> name


def register_space(space: Space) -> Space:
    """Add `space` to the registry (one name, never registered twice with another object)."""
    if not space.name or space.modality not in ("image", "text"):
        raise ValueError(f"a space needs a name and a modality of 'image' or 'text', got {space.name!r}, "
                         f"{space.modality!r}")
    old = SPACES.get(space.name)
    if old is not None and type(old) is not type(space):
        raise ValueError(f"a space named {space.name!r} is already registered ({type(old).__name__})")
    SPACES[space.name] = space
    for alias in space.aliases:
        ALIASES[alias] = space.name
    return space
