"""Importing the user's own code - a .py file or a module name - so the operations it registers with
`darts.ops.register_op` exist before a search space, genotype or final network names them.

Each file is imported once per process (a second import would register its operations twice).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from darts.errors import UserError


def import_plugin(spec: str | Path) -> ModuleType:
    """Import `spec`: a path to a .py file (its `if __name__ == "__main__"` part does not run) or a
    dotted module name on sys.path."""
    spec = str(spec)
    path = Path(spec)
    if path.suffix == ".py" or path.exists():
        if not path.is_file():
            raise UserError(f"--ops_module {spec}: no such file; give a .py file that registers operations "
                            f"with darts.ops.register_op, or a module name")
        resolved = path.resolve()
        name = f"darts_plugin_{resolved.stem}_{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"
        if name in sys.modules:
            return sys.modules[name]
        module_spec = importlib.util.spec_from_file_location(name, resolved)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        try:
            module_spec.loader.exec_module(module)
        except SyntaxError as e:  # the file is not Python: one line (an error raised by running it keeps its traceback)
            del sys.modules[name]
            raise UserError(f"--ops_module {spec}: {e.msg} at line {e.lineno}; fix the file") from None
        except BaseException:
            del sys.modules[name]
            raise
        return module
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as e:
        if e.name and spec.startswith(e.name):
            raise UserError(f"--ops_module {spec}: no such file or module; give a .py path or an importable "
                            f"module name") from None
        raise


def import_plugins(specs) -> list[ModuleType]:
    """Import each of `specs` (None or empty: nothing)."""
    return [import_plugin(s) for s in (specs or [])]
