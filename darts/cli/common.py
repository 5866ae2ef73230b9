"""What every command line shares: one way to turn declared options into flags (grouped by the part they
belong to), one way to tell which flags were typed, and one way to read a saved run's settings back.

Every flag's argparse default is None, so "given" and "not given" stay apart; the value of a flag not
given comes from its owner's declaration (or the chosen space's default for it), resolved after parsing.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Iterable, Sequence

from darts.errors import UserError
from darts.options import OneLineParser, Option
from darts.runs import read_settings_file  # noqa: F401  (the CLI reads saved settings with it)


def parse_bool(text: str) -> bool:
    value = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks, writes a flag and its aliases before one value name
    (`--learning_rate, --lr X`) and lays help out at least 120 columns wide, so most flags take one line;
    flag help texts say their defaults themselves."""

    def __init__(self, prog: str):
        width = max(shutil.get_terminal_size((120, 24)).columns - 2, 120)
        super().__init__(prog, max_help_position=30, width=width)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        names = ", ".join(action.option_strings)
        if not action.option_strings or action.nargs == 0:
            return names or super()._format_action_invocation(action)
        return f"{names} {action.metavar or action.dest.upper()}"


def new_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A parser whose usage line is short (the flags follow, grouped) and whose -h sits in the first group."""
    return OneLineParser(prog, usage="%(prog)s [flags]", description=description,
                         formatter_class=HelpFormatter, allow_abbrev=False, add_help=False)


def _metavar(opt: Option) -> str:
    if opt.metavar:
        return opt.metavar
    if opt.choices is not None:  # a long list: the help text names the choices
        listed = "|".join(map(str, opt.choices))
        return listed if len(listed) <= 16 else "NAME"
    kind = opt.parse_type()
    return {int: "N", float: "X", bool: "true|false"}.get(kind, "TEXT")


def add_options(parser: argparse.ArgumentParser, title: str, options: Iterable[Option], seen: dict,
                shown_defaults: dict | None = None, description: str | None = None) -> None:
    """Add each option as a flag in a group titled `title`; an option whose name an earlier group added
    only records its owner (one flag, several owners). `shown_defaults` overrides the defaults --help
    shows (a space's own defaults for a strategy; a text such as "96; imagenet: 128")."""
    shown_defaults = shown_defaults or {}
    group = None
    for opt in options:
        if opt.name in seen:
            seen[opt.name].append(title)
            continue
        seen[opt.name] = [title]
        if group is None:
            group = parser.add_argument_group(f"{title}: {description.rstrip('.')}" if description else title)
            if not any(a.dest == "help" for a in parser._actions):
                group.add_argument("-h", "--help", action="help", help="show this help and exit")
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
            kwargs["metavar"] = _metavar(opt)
        group.add_argument(f"--{opt.name}", *opt.aliases, **kwargs)


def add_plugin_flag(parser: argparse.ArgumentParser, owners: dict) -> None:
    """--ops_module FILE_OR_MODULE (repeatable): code imported before anything is parsed or built."""
    parser.add_argument_group("your own code").add_argument(
        "--ops_module", action="append", default=None, metavar="FILE",
        help="a .py file or module that registers operations, spaces or strategies (repeatable)")
    owners["ops_module"] = ["your own code"]


def declared_values(args: argparse.Namespace, options: Iterable[Option]) -> dict:
    """The parsed flags as {name: value}, a flag not typed taking its declared default (switches: False)."""
    values = dict(vars(args))
    for opt in options:
        if values.get(opt.name) is None:
            values[opt.name] = opt.default
    return values


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


def check_saved_types(parser: argparse.ArgumentParser, saved: dict, where) -> None:
    """Each saved setting has the type its flag parses to (args.json may have been edited by hand)."""
    for action in parser._actions:
        value = saved.get(action.dest)
        if value is None or action.dest == "help":
            continue
        if action.nargs == 0:
            wanted = (bool,)
        elif action.type in (int, float):
            wanted = (int,) if action.type is int else (int, float)
        else:
            continue
        if not isinstance(value, wanted) or (wanted != (bool,) and isinstance(value, bool)):
            raise UserError(f"{where}: {action.dest} is {value!r}, not a {wanted[-1].__name__}; the run folder "
                            f"is damaged")


def read_saved_run(parser: argparse.ArgumentParser, folder: str, command: str, marks: Iterable[str]) -> dict:
    """The settings saved in FOLDER/args.json for --resume, refused when damaged or when they lack the
    settings `marks` that `command` always saves (the folder of another command)."""
    where = Path(folder) / "args.json"
    saved = read_settings_file(where, f"--resume {folder} (is it a {command} --save folder?)")
    if not all(name in saved for name in marks):
        raise UserError(f"--resume {folder}: {where} was not written by {command}; resume it with the command "
                        f"that made it")
    check_saved_types(parser, saved, where)
    return saved


def check_saved_code(saved: dict, given: Sequence[str] | None, where) -> None:
    """A saved run's settings (--resume DIR, --config FILE) never import code by themselves: the --ops_module
    entries they name must be given on the command line too (a run folder or args.json from someone else is
    data, not code you chose to run); refused with the flags to add otherwise."""
    def same(a: str, b: str) -> bool:
        return a == b or (a.endswith(".py") and b.endswith(".py") and Path(a).resolve() == Path(b).resolve())
    missing = [m for m in saved.get("ops_module") or [] if not any(same(m, g) for g in given or [])]
    if missing:
        flags = " ".join(f"--ops_module {m}" for m in missing)
        raise UserError(f"{where} names code the run imported ({', '.join(missing)}), which is imported only when "
                        f"given on the command line: add {flags} if you trust it")
