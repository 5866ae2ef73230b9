"""The import contract (pyproject.toml's [tool.importlinter]; docs/DESIGN.md, "Layers"): layers point one way,
no space imports another, and the module graph of darts/ and visualize/ has no import cycles."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("darts", "visualize")


def strongly_connected_components(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's algorithm, iterative: the sets of modules that import each other, directly or not
    (every import counts, those inside functions included)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                components.append(component)
    return components


def import_cycles(graph: grimp.ImportGraph) -> list[set[str]]:
    return [c for c in strongly_connected_components(graph) if len(c) > 1]


def test_the_import_contract_is_kept():
    """In its own process: import-linter configures logging (dictConfig), which would silence the package's
    logger for the tests that run after it in this one."""
    code = ("import sys\nfrom importlinter.cli import lint_imports\n"
            "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT / "pyproject.toml")], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0, "lint-imports found imports that break the contract:\n" + done.stdout[-3000:]


def test_no_module_imports_itself_back():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = import_cycles(graph)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)


def test_the_cycle_check_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("a", "a.x", "a.y", "a.z", "a.w"):
        graph.add_module(module)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.z")
    graph.add_import(importer="a.z", imported="a.x")
    graph.add_import(importer="a.w", imported="a.x")
    assert import_cycles(graph) == [{"a.x", "a.y", "a.z"}]


def test_every_folder_of_code_is_a_package():
    """A folder without __init__.py is a namespace package, which the contract silently does not see."""
    missing = [str(d.relative_to(ROOT)) for name in PACKAGES for d in [ROOT / name, *(ROOT / name).rglob("*")]
               if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").exists()]
    assert not missing, f"folders of modules without __init__.py: {missing}"


def test_spaces_registered_before_the_registry_loads_come_after_the_built_in_ones():
    """A space registers into darts.spaces.base without loading the built-in list (that would be a cycle); the
    registry still lists the built-in spaces first, so the defaults stay the first image and text spaces."""
    code = ("from darts.spaces.base import Space, register_space\n"
            "class Early(Space):\n    name, modality = 'early', 'image'\n"
            "register_space(Early())\n"
            "from darts.spaces.registry import space_names\n"
            "print(','.join(space_names()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    names = out.stdout.strip().split(",")
    assert names[:2] == ["darts", "darts_rnn"] and names[-1] == "early" and len(names) == 10, names
