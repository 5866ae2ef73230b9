"""What every command line shares: flags built from declared options, grouped by owner; resolution of the
settings that apply to one run; resume and --config merging; plugins imported before parsing.

Every flag's argparse default is None, so "given" and "not given" stay apart; the value of a flag not
given comes from its owner's declaration (or the chosen space's default for it), resolved after parsing.
"""
from __future__ import annotations

import argparse
from typing import Iterable, Sequence

from darts.errors import UserError
from darts.options import Option
from darts.runs import read_settings_file  # noqa: F401  (the CLI reads saved settings with it)


def parse_bool(text: str) -> bool:
    value = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks; flag help texts say their defaults themselves."""


def add_options(parser: argparse.ArgumentParser, title: str, options: Iterable[Option], seen: dict,
                shown_defaults: dict | None = None) -> None:
    """Add each option as a flag in a group titled `title`; an option whose name an earlier group added
    only records its owner (one flag, several owners). `shown_defaults` overrides the defaults --help
    shows (a space's own defaults for a strategy)."""
    shown_defaults = shown_defaults or {}
    group = None
    for opt in options:
        if opt.name in seen:
            seen[opt.name].append(title)
            continue
        seen[opt.name] = [title]
        group = group or parser.add_argument_group(title)
        value = shown_defaults.get(opt.name, opt.default)
        default = "" if opt.flag or value is None else f" (default: {value})"
        hidden = title == "original flags" and "unused" in opt.help  # accepted, but not worth a line of --help
        kwargs = {"dest": opt.name, "default": None,
                  "help": argparse.SUPPRESS if hidden else (opt.help + default).strip() or None}
        if opt.flag:
            kwargs["action"] = "store_true"
        else:
            kind = opt.parse_type()
            kwargs["type"] = parse_bool if kind is bool or isinstance(opt.default, bool) else kind
            if opt.choices is not None:
                kwargs["choices"] = opt.choices
            kwargs["metavar"] = opt.name.upper() if opt.choices is None else None
        group.add_argument(f"--{opt.name}", *opt.aliases, **kwargs)


def add_plugin_flag(parser: argparse.ArgumentParser, owners: dict) -> None:
    """--ops_module FILE_OR_MODULE (repeatable): code imported before anything is parsed or built."""
    parser.add_argument_group("your own code").add_argument(
        "--ops_module", action="append", default=None, metavar="FILE_OR_MODULE",
        help="a .py file or module that registers operations, spaces or strategies (repeatable)")
    owners["ops_module"] = ["your own code"]


def new_parser(prog: str, description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog, description=description, formatter_class=HelpFormatter,
                                   allow_abbrev=False)


def explicit_flags(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set:
    """Names (dests) of the flags the user actually typed."""
    probe = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for action in parser._actions:
        if action.dest != "help" and action.option_strings:
            probe.add_argument(*action.option_strings, dest=action.dest, default=argparse.SUPPRESS,
                               **({"action": "store_true"} if action.nargs == 0 else {}))
    ns, _ = probe.parse_known_args(argv)
    return set(vars(ns))


def pre_parse(argv: Sequence[str], *names: str) -> argparse.Namespace:
    """The values of a few flags before the full parser exists (plugins, --resume, --dataset)."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for name in names:
        pre.add_argument(f"--{name}", action="append" if name == "ops_module" else "store", default=None)
    known, _ = pre.parse_known_args(argv)
    return known


def merge_saved(saved: dict, given: dict, explicit: set, may_change: set, what: str) -> dict:
    """Saved settings with the flags typed now: for a resume, a typed flag that contradicts the saved run
    is an error unless it is in `may_change`; for --config (may_change=None) typed flags win."""
    merged = dict(saved)
    for name in explicit:
        value = given.get(name)
        if may_change is not None and name not in may_change and name in saved and saved[name] != value:
            raise UserError(f"{what} continues a run with its own settings; --{name} {value!r} contradicts "
                            f"it (the run has {saved[name]!r})")
        merged[name] = value
    return merged


def check_applicable(explicit: Iterable[str], owners: dict[str, list[str]], applicable: set[str]) -> None:
    """Refuse typed flags that belong to no part of this run (e.g. a recurrent-model flag in an image search)."""
    for name in sorted(explicit):
        if name in owners and not set(owners[name]) & applicable:
            raise UserError(f"--{name} belongs to {' / '.join(owners[name])}, which this run does not use; "
                            f"leave it out or choose that space / strategy")


def check_ranges(args, non_negative, positive) -> None:
    """Numbers that must be >= 0 (learning rates, decays, the seed) or >= 1 (lengths, counts), and a seed
    that torch accepts."""
    for name in non_negative:
        value = getattr(args, name, None)
        if value is not None and not value >= 0:
            raise UserError(f"--{name} {value}: must be at least 0")
    for name in positive:
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise UserError(f"--{name} {value}: must be at least 1")
    if getattr(args, "seed", 0) > 2 ** 32 - 1:
        raise UserError(f"--seed {args.seed}: must be at most {2 ** 32 - 1}")
    if getattr(args, "momentum", 0) is not None and getattr(args, "momentum", 0) >= 1:
        raise UserError(f"--momentum {args.momentum}: must be below 1")
