"""Options that a space or a strategy declares once, with its default, help and bounds.

The command lines turn every declared option into a flag (grouped by the space or strategy that owns
it) and the library takes the same names as keyword arguments; both resolve values through
`resolve_options`, so a default is written in exactly one place: its declaration.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from darts.errors import InvalidArgument, UserError


@dataclass(frozen=True)
class Option:
    """One setting: `name` (also the flag `--name`), its default, a help line and checks."""
    name: str
    default: Any
    help: str = ""
    type: Callable | None = None          # parses a flag's text; default: the default's type
    choices: tuple | None = None
    aliases: tuple[str, ...] = ()         # other flag spellings, e.g. the original code's ("--lr",)
    minimum: float | None = None          # inclusive lower bound
    above: float | None = None            # exclusive lower bound (positive: above=0)
    maximum: float | None = None          # inclusive upper bound
    below: float | None = None            # exclusive upper bound (probabilities, fractions)
    flag: bool = False                    # a switch (store_true) whose default is False
    key: str | None = None                # the keyword / config field it sets, when not `name`
    metavar: str | None = None            # the value's name in --help (default: N, X or TEXT by type)

    @property
    def field(self) -> str:
        return self.key or self.name

    def parse_type(self) -> Callable | None:
        if self.type is not None:
            return self.type
        if self.flag or self.default is None or isinstance(self.default, bool):
            return None
        return type(self.default)

    def check(self, value: Any, prefix: str = "--") -> Any:
        """The value, converted and checked; a one-line InvalidArgument naming `prefix + name` (the flag, or
        the keyword argument with prefix="") and the values it takes otherwise."""
        if value is None or self.flag:
            return value
        name = f"{prefix}{self.name}"
        kind = self.parse_type()
        if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InvalidArgument(f"{name} must be a number, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidArgument(f"{name} must be a finite number, got {value}")
        if kind is int and isinstance(value, float):
            if not value.is_integer():
                raise InvalidArgument(f"{name} must be a whole number, got {value!r}")
            value = int(value)
        if self.choices is not None and value not in self.choices:
            raise InvalidArgument(f"{name} {value!r} is not one of: {', '.join(map(str, self.choices))}")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and not self.in_range(value):
            raise InvalidArgument(f"{name} {value}: must be {self.range_text()}")
        return value

    def in_range(self, value: float) -> bool:
        return ((self.minimum is None or value >= self.minimum) and (self.above is None or value > self.above)
                and (self.maximum is None or value <= self.maximum) and (self.below is None or value < self.below))

    def range_text(self) -> str:
        """The valid range in words, e.g. "at least 1", "above 0 and below 1"."""
        parts = [f"{word} {bound:g}" if isinstance(bound, float) else f"{word} {bound}"
                 for word, bound in (("at least", self.minimum), ("above", self.above),
                                     ("at most", self.maximum), ("below", self.below)) if bound is not None]
        return " and ".join(parts) or "a finite number"


def check_values(options: Sequence[Option], values: dict, prefix: str = "") -> dict:
    """`values` (name -> value, None: not given) checked against the options declaring them, by name or by
    the field they set; names no option declares pass unchecked. The library's argument check."""
    by_name = {o.name: o for o in options} | {o.field: o for o in options}
    return {k: by_name[k].check(v, prefix) if k in by_name else v for k, v in values.items()}


def resolve_options(options: Sequence[Option], given: dict, defaults: dict | None = None,
                    owner: str = "") -> dict:
    """{name: value} for `options`: given values (None = not given) else `defaults` else the declared
    default, each checked. Names in `given` that no option declares are ignored (they belong to others)."""
    defaults = defaults or {}
    out = {}
    for opt in options:
        value = given.get(opt.name)
        if value is None:
            value = defaults.get(opt.name, opt.default)
        out[opt.name] = opt.check(value)
    return out


def check_applicable(explicit: Iterable[str], owners: dict[str, list[str]], applicable: set[str]) -> None:
    """Refuse typed flags that belong to no part of this run (e.g. a recurrent-model flag in an image search);
    `owners`: flag name -> the titles of the groups declaring it, `applicable`: the groups this run uses."""
    for name in sorted(explicit):
        if name in owners and not set(owners[name]) & applicable:
            raise UserError(f"--{name} belongs to {' / '.join(owners[name])}, which this run does not use; "
                            f"leave it out or choose that space / strategy")


def merge_saved(saved: dict, given: dict, explicit: Iterable[str], may_change: set | None, what: str) -> dict:
    """The saved settings of a run (its args.json) with the settings typed now (`explicit`, values in `given`).
    Resuming (`may_change`: the command's RESUME_MAY_CHANGE), a typed setting that contradicts the saved run
    is an error unless it may change; starting from a --config (may_change=None), typed settings win."""
    merged = dict(saved)
    for name in sorted(explicit):
        value = given.get(name)
        if may_change is not None and name not in may_change and name in saved and saved[name] != value:
            raise UserError(f"{what} continues a run with its own settings; --{name} {value!r} contradicts "
                            f"it (the run has {saved[name]!r})")
        merged[name] = value
    return merged


def check_known(given: dict, options: Sequence[Option], owner: str) -> None:
    """Refuse keyword arguments that `owner` does not declare (library calls; the CLI checks flags)."""
    known = {o.name for o in options}
    unknown = sorted(k for k in given if k not in known)
    if unknown:
        raise UserError(f"{owner} takes no option(s) {', '.join(unknown)}; it takes: {', '.join(sorted(known))}")


def dataclass_options(cls, help: dict[str, str] | None = None, skip: Iterable[str] = (),
                      **extra: dict) -> tuple[Option, ...]:
    """Options declared by a config dataclass's fields: the dataclass holds the defaults, `help` the help
    lines and `extra[name]` any further Option fields (aliases, bounds)."""
    help = help or {}
    out = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        out.append(Option(f.name, default, help.get(f.name, ""), **extra.get(f.name, {})))
    return tuple(out)


def config_from(cls, values: dict, **fixed):
    """An instance of dataclass `cls` from the entries of `values` it has fields for, plus `fixed`."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{**{k: v for k, v in values.items() if k in names and v is not None}, **fixed})


class OneLineParser(argparse.ArgumentParser):
    """argparse, whose errors (an unknown flag, a value not among the choices) are one line and exit status 2,
    as every other error of the commands (the search, retraining, language model, drawing and export commands)."""

    def error(self, message: str):
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def save_option(prefix: str) -> Option:
    """--save of a command whose default folder is PREFIX-EXP-<time> (search, eval)."""
    return Option("save", None, f"output folder (default: {prefix}-EXP-<time>)", type=str, metavar="DIR")


# Flags every command declares alike; each command's option module takes them from here.
RESUME = Option("resume", None, "continue the run saved in this folder from its last checkpoint", type=str,
                metavar="DIR")
DEVICE = Option("device", "auto", "auto, cpu, cuda or cuda:N")
NO_PROGRESS = Option("no_progress", False, "no progress bar, only the log lines", flag=True)
GPU = Option("gpu", None, "(original flag) CUDA device index; same as --device cuda:N", type=int, minimum=0)
ORIGINAL_RUN_FLAGS = (  # the original code's, kept so that its command lines run
    Option("continue_train", False, "(original flag) same as --resume on the --save folder", flag=True),
    Option("cuda", False, "(original flag, unused: see --device)", flag=True),
    Option("single_gpu", False, "(original flag, unused)", flag=True))
