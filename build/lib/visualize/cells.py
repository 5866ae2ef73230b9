"""Cell diagrams drawn with graphviz, laid out like the DARTS paper's figures.

Inputs on the left, intermediate nodes in the middle, the cell output on the right; every edge is
labelled with its operation and drawn in that operation's colour (`OP_COLORS`, shared with the plots,
so a colour means the same op in a diagram and in an alpha plot). Images are made by graphviz's `dot`
program; where it is missing the .dot source is written instead, so nothing is lost.
"""
from __future__ import annotations

import shutil
import sys
import zlib
from pathlib import Path
from typing import Sequence

import graphviz

from darts.checkpoint import atomic_write_bytes
from darts.errors import UserError

FORMATS = ("png", "pdf", "svg")

# One colour per operation, the only place colours are chosen (mostly Paul Tol's colour-blind safe
# palettes). The eight DARTS candidates get clearly different hues, since their alpha curves share a
# panel; ops of other spaces reuse hues, as they never appear beside the DARTS ones.
OP_COLORS: dict[str, str] = {
    # DARTS candidates
    "none": "#999999",
    "max_pool_3x3": "#EE7733",
    "avg_pool_3x3": "#CC3311",
    "skip_connect": "#555555",
    "sep_conv_3x3": "#0077BB",
    "sep_conv_5x5": "#882255",
    "dil_conv_3x3": "#228833",
    "dil_conv_5x5": "#AA4499",
    # NASNet / AmoebaNet extras
    "sep_conv_7x7": "#5566AA",
    "conv_7x1_1x7": "#009988",
    # recurrent activations
    "tanh": "#CC3311",
    "relu": "#0077BB",
    "sigmoid": "#228833",
    "identity": "#555555",
    # NAS-Bench-201
    "nor_conv_1x1": "#AA4499",
    "nor_conv_3x3": "#0077BB",
}
# Ops registered later by users get a stable colour picked from these by a hash of their name.
FALLBACK_COLORS = ("#999933", "#6699CC", "#661100", "#997700", "#44AA99", "#332288")

NODE_COLORS = {"input": "#D5EBD5", "intermediate": "#D6E6F5", "output": "#F3E9B5"}
FONT = "Helvetica"
PNG_DPI = 150

INSTALL_HINT = ("graphviz's `dot` program was not found, so .dot sources were written instead of images; "
                "install it (apt-get install graphviz, brew install graphviz or conda install graphviz) "
                "and run again")


def op_color(op: str) -> str:
    """The colour of `op` in every diagram and plot; unknown ops get a stable colour from their name."""
    if op in OP_COLORS:
        return OP_COLORS[op]
    return FALLBACK_COLORS[zlib.crc32(op.encode()) % len(FALLBACK_COLORS)]


def html_label(name: str, sub: str | None = None) -> str:
    return f"<{name}<SUB>{sub}</SUB>>" if sub else f"<{name}>"


def new_graph() -> graphviz.Digraph:
    g = graphviz.Digraph(engine="dot")
    g.attr(rankdir="LR", nodesep="0.35", ranksep="0.9", fontname=FONT, bgcolor="white", pad="0.15")
    g.attr("node", shape="box", style="rounded,filled", fontname=FONT, fontsize="16", penwidth="1.5",
           height="0.45", width="0.55", margin="0.08,0.04")
    g.attr("edge", fontname=FONT, fontsize="12", penwidth="1.8", arrowsize="0.7")
    return g


def add_node(g: graphviz.Digraph, name: str, label: str, kind: str) -> None:
    g.node(name, label=label, fillcolor=NODE_COLORS[kind])


def op_edge(g: graphviz.Digraph, src: str, dst: str, op: str) -> None:
    color = op_color(op)
    g.edge(src, dst, label=op, color=color, fontcolor=color)


def stack_by_depth(g: graphviz.Digraph, inputs_of: dict[str, list[str]], order: list[str]) -> None:
    """Keep nodes of equal depth in one column, stacked in `order` (invisible edges), so numbering reads top-down."""
    depth: dict[str, int] = {}
    for name in order:
        depth[name] = 1 + max((depth.get(i, 0) for i in inputs_of.get(name, [])), default=0)
    columns: dict[int, list[str]] = {}
    for name in order:
        columns.setdefault(depth[name], []).append(name)
    for names in columns.values():
        if len(names) > 1:
            with g.subgraph() as s:
                s.attr(rank="same")
                for a, b in zip(names, names[1:]):
                    s.edge(a, b, style="invis")


def plain_edge(g: graphviz.Digraph, src: str, dst: str) -> None:
    g.edge(src, dst, color="#999999", penwidth="1.2")


def write_graph(g: graphviz.Digraph, base: str | Path, fmt: str) -> Path:
    """Render `g` to BASE.<fmt> atomically; without `dot`, write BASE.dot instead. Returns the file written."""
    if fmt not in FORMATS:
        raise UserError(f"unknown image format {fmt!r}; choose one of: {', '.join(FORMATS)}")
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
