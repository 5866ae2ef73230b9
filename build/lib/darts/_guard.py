"""Refuse to run when `darts` is not this package (imported by darts.errors, which every module imports).

PyPI's time-series `darts` (also shipped as `u8darts`) installs into the same site-packages/darts/;
pip merges the two folders, so `from darts import api` runs the other package's __init__ and would
fail later in confusing ways. We raise ImportError (the right type for a library import: a caller may
catch it, a notebook shows it) and, for scripts, make the uncaught error print as one line.
"""
from __future__ import annotations

import sys

MESSAGE = ("the installed `darts` package is not darts-nas (PyPI's time-series `darts`/`u8darts` shares its "
           "folder): run `pip uninstall -y darts u8darts darts-nas`, then reinstall darts-nas from its "
           "repository with `pip install .` (or `pip install git+<repository URL>`)")


class ForeignDartsError(ImportError):
    """Another distribution's darts/__init__.py was imported in place of darts-nas's."""


def _one_line_hook(previous):
    def hook(kind, value, tb):
        if issubclass(kind, ForeignDartsError):
            print(f"error: {value}", file=sys.stderr)
        else:
            previous(kind, value, tb)
    return hook


def check_package() -> None:
    """Raise ForeignDartsError unless sys.modules['darts'] carries darts-nas's marker."""
    package = sys.modules.get("darts")
    if package is not None and getattr(package, "__darts_nas__", False):
        return
    if not getattr(sys.excepthook, "_darts_guard", False):
        sys.excepthook = _one_line_hook(sys.excepthook)
        sys.excepthook._darts_guard = True
    raise ForeignDartsError(MESSAGE)


check_package()
