"""Cell diagrams drawn with graphviz, laid out like the DARTS paper's figures.

Inputs on the left, intermediate nodes in the middle, the cell output on the right; every edge is
labelled with its operation and drawn in that operation's colour (darts.drawing draws the cells of every
space; its `OP_COLORS` are shared with the plots, so a colour means the same op in a diagram and in an
alpha plot). Images are made by graphviz's `dot` program; where it is missing the .dot source is written
instead, so nothing is lost.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Sequence

import graphviz

from darts.checkpoint import atomic_write_bytes
from darts.errors import UserError

FORMATS = ("png", "pdf", "svg")

PNG_DPI = 150

INSTALL_HINT = ("graphviz's `dot` program was not found, so .dot sources were written instead of images; "
                "install it (apt-get install graphviz, brew install graphviz or conda install graphviz) "
                "and run again")


def write_graph(g: graphviz.Digraph, base: str | Path, fmt: str) -> Path:
    """Render `g` to BASE.<fmt> atomically; without `dot`, write BASE.dot instead. Returns the file written."""
    if fmt not in FORMATS:
        raise UserError(f"fmt {fmt!r}: unknown image format; choose one of: {', '.join(FORMATS)}")
    base = Path(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    target = base.parent / f"{base.name}.{fmt}"
    if shutil.which("dot") is None:
        target, data = base.parent / f"{base.name}.dot", g.source.encode()
    else:
        if fmt == "png":
            g = g.copy()
            g.attr(dpi=str(PNG_DPI))
        try:
            data = g.pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            target, data = base.parent / f"{base.name}.dot", g.source.encode()
    atomic_write_bytes(target, data)
    return target


def report_missing_dot(paths: Sequence[Path]) -> None:
    """Print the one-line install hint when some of `paths` are .dot sources written for lack of `dot`."""
    if any(p.suffix == ".dot" for p in paths):
        print(INSTALL_HINT, file=sys.stderr)


def genotype_graphs(genotype) -> dict[str, graphviz.Digraph]:
    """Part name -> diagram of any registered space's genotype (e.g. {'normal', 'reduce'} for DARTS cells)."""
    from darts.spaces.registry import require, space_of
    space = space_of(genotype)
    require(space, "diagrams", "drawing")
    return space.diagrams(genotype)


def render_genotype(genotype, out_dir: str | Path, stem: str,
                    fmt: str = "png") -> list[Path]:
    """Draw each cell of `genotype` to OUT_DIR/STEM_<cell>.<fmt>; returns the files written."""
    paths = write_genotype_graphs(genotype, out_dir, stem, fmt)
    report_missing_dot(paths)
    return paths


def write_genotype_graphs(genotype, out_dir: str | Path, stem: str,
                          fmt: str = "png") -> list[Path]:
    """`render_genotype` without the install hint, for callers that draw many genotypes and hint once."""
    return [write_graph(g, Path(out_dir) / f"{stem}_{cell}", fmt) for cell, g in genotype_graphs(genotype).items()]


def draw_graph_file(g: graphviz.Digraph, path: str | Path, format: str | None = None) -> Path:
    """Draw one diagram to `path` (format from its suffix, png when it has none); returns the file written."""
    path = Path(path)
    suffix = path.suffix.lstrip(".")
    fmt = format or suffix or "png"
    base = path.with_suffix("") if suffix in FORMATS + ("dot",) else path
    written = write_graph(g, base, fmt)
    report_missing_dot([written])
    return written
