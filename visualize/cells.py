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
from typing import Iterable, Sequence

import graphviz

from darts.checkpoint import atomic_write_bytes
from darts.errors import UserError
from darts.genotype import Genotype, RecurrentGenotype

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


def _html(name: str, sub: str | None = None) -> str:
    return f"<{name}<SUB>{sub}</SUB>>" if sub else f"<{name}>"


def _new_graph() -> graphviz.Digraph:
    g = graphviz.Digraph(engine="dot")
    g.attr(rankdir="LR", nodesep="0.35", ranksep="0.9", fontname=FONT, bgcolor="white", pad="0.15")
    g.attr("node", shape="box", style="rounded,filled", fontname=FONT, fontsize="16", penwidth="1.5",
           height="0.45", width="0.55", margin="0.08,0.04")
    g.attr("edge", fontname=FONT, fontsize="12", penwidth="1.8", arrowsize="0.7")
    return g


def _node(g: graphviz.Digraph, name: str, label: str, kind: str) -> None:
    g.node(name, label=label, fillcolor=NODE_COLORS[kind])


def _op_edge(g: graphviz.Digraph, src: str, dst: str, op: str) -> None:
    color = op_color(op)
    g.edge(src, dst, label=op, color=color, fontcolor=color)


def _stack_by_depth(g: graphviz.Digraph, inputs_of: dict[str, list[str]], order: list[str]) -> None:
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


def _plain_edge(g: graphviz.Digraph, src: str, dst: str) -> None:
    g.edge(src, dst, color="#999999", penwidth="1.2")


def conv_cell_graph(edges: Sequence[tuple[str, int]], concat: Iterable[int]) -> graphviz.Digraph:
    """A convolutional cell: node k (0-based, paper numbering) sums edges 2k and 2k+1 of `edges`.

    Input indices follow the genotype: 0 = c_{k-2}, 1 = c_{k-1}, i >= 2 = intermediate node i-2.
    """
    g = _new_graph()
    inputs = [("c_{k-2}", _html("c", "k-2")), ("c_{k-1}", _html("c", "k-1"))]
    with g.subgraph() as s:
        s.attr(rank="source")
        for name, label in inputs:
            _node(s, name, label, "input")
        s.edge(inputs[0][0], inputs[1][0], style="invis")  # c_{k-2} above c_{k-1}, as in the paper
    steps = len(edges) // 2
    names = [n for n, _ in inputs] + [str(k) for k in range(steps)]
    for k in range(steps):
        _node(g, str(k), str(k), "intermediate")
    inputs_of: dict[str, list[str]] = {}
    for j, (op, i) in enumerate(edges):
        _op_edge(g, names[i], names[j // 2 + 2], op)
        inputs_of.setdefault(names[j // 2 + 2], []).append(names[i])
    _stack_by_depth(g, inputs_of, names[2:])
    with g.subgraph() as s:
        s.attr(rank="sink")
        _node(s, "c_{k}", _html("c", "k"), "output")
    for i in concat:
        _plain_edge(g, names[i], "c_{k}")
    return g


def recurrent_cell_graph(edges: Sequence[tuple[str, int]], concat: Iterable[int]) -> graphviz.Digraph:
    """A recurrent cell: node 0 mixes x_t and h_{t-1}; node k+1 applies edge k's activation to its input."""
    g = _new_graph()
    with g.subgraph() as s:
        s.attr(rank="source")
        _node(s, "x_{t}", _html("x", "t"), "input")
        _node(s, "h_{t-1}", _html("h", "t-1"), "input")
        s.edge("x_{t}", "h_{t-1}", style="invis")
    _node(g, "0", "0", "intermediate")
    _plain_edge(g, "x_{t}", "0")
    _plain_edge(g, "h_{t-1}", "0")
    for k, (op, i) in enumerate(edges):
        _node(g, str(k + 1), str(k + 1), "intermediate")
        _op_edge(g, str(i), str(k + 1), op)
    _stack_by_depth(g, {str(k + 1): [str(i)] for k, (_, i) in enumerate(edges)},
                    [str(k) for k in range(len(edges) + 1)])
    with g.subgraph() as s:
        s.attr(rank="sink")
        _node(s, "h_{t}", _html("h", "t"), "output")
    for i in concat:
        _plain_edge(g, str(i), "h_{t}")
    return g


def parse_nb201_arch(arch: str) -> list[tuple[str, int, int]]:
    """`|op~0|+|op~0|op~1|+|...|` -> [(op, from, to)]: segment j-1 lists node j's incoming edges."""
    triples = []
    for j, segment in enumerate(arch.strip().split("+"), start=1):
        tokens = [t for t in segment.strip().strip("|").split("|") if t]
        if not tokens:
            raise UserError(f"NAS-Bench-201 cell {arch!r}: node {j} has no incoming edges")
        for token in tokens:
            op, sep, src = token.partition("~")
            if not sep or not src.isdigit() or not op:
                raise UserError(f"NAS-Bench-201 cell {arch!r}: edge {token!r} is not 'op~input'")
            if int(src) >= j:
                raise UserError(f"NAS-Bench-201 cell {arch!r}: node {j} cannot take input {src}")
            triples.append((op, int(src), j))
    return triples


def nb201_cell_graph(arch: str | Sequence[tuple[str, int, int]]) -> graphviz.Digraph:
    """A NAS-Bench-201 cell: node 0 is the input, the last node the output, each node sums its edges.

    `none` edges are left out; a node they disconnect is still drawn so the cell keeps its shape.
    """
    triples = parse_nb201_arch(arch) if isinstance(arch, str) else [(op, int(i), int(j)) for op, i, j in arch]
    if not triples:
        raise UserError("NAS-Bench-201 cell has no edges")
    last = max(j for _, _, j in triples)
    g = _new_graph()
    with g.subgraph() as s:
        s.attr(rank="source")
        _node(s, "0", _html("in"), "input")
    for n in range(1, last):
        _node(g, str(n), str(n), "intermediate")
    with g.subgraph() as s:
        s.attr(rank="sink")
        _node(s, str(last), _html("out"), "output")
    for op, i, j in triples:
        if op != "none":
            _op_edge(g, str(i), str(j), op)
    return g


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


def genotype_graphs(genotype: Genotype | RecurrentGenotype) -> dict[str, graphviz.Digraph]:
    """Cell name -> diagram: {'normal', 'reduce'} for convolutional genotypes, {'recurrent'} otherwise."""
    if isinstance(genotype, Genotype):
        return {"normal": conv_cell_graph(genotype.normal, genotype.normal_concat),
                "reduce": conv_cell_graph(genotype.reduce, genotype.reduce_concat)}
    if isinstance(genotype, RecurrentGenotype):
        return {"recurrent": recurrent_cell_graph(genotype.recurrent, genotype.concat)}
    if getattr(genotype, "space", None) == "nb201":
        return {"cell": nb201_cell_graph(str(genotype))}
    raise TypeError(f"expected a Genotype or RecurrentGenotype, got {type(genotype).__name__}")


def render_genotype(genotype: Genotype | RecurrentGenotype, out_dir: str | Path, stem: str,
                    fmt: str = "png") -> list[Path]:
    """Draw each cell of `genotype` to OUT_DIR/STEM_<cell>.<fmt>; returns the files written."""
    paths = write_genotype_graphs(genotype, out_dir, stem, fmt)
    report_missing_dot(paths)
    return paths


def write_genotype_graphs(genotype: Genotype | RecurrentGenotype, out_dir: str | Path, stem: str,
                          fmt: str = "png") -> list[Path]:
    """`render_genotype` without the install hint, for callers that draw many genotypes and hint once."""
    return [write_graph(g, Path(out_dir) / f"{stem}_{cell}", fmt) for cell, g in genotype_graphs(genotype).items()]


def nb201_cell_diagram(arch: str | Sequence[tuple[str, int, int]], path: str | Path,
                       format: str | None = None) -> Path:
    """Draw a NAS-Bench-201 cell (arch string or (op, from, to) triples) to `path`; returns the file written.

    The format defaults to the suffix of `path` (png when it has none).
    """
    path = Path(path)
    suffix = path.suffix.lstrip(".")
    fmt = format or suffix or "png"
    base = path.with_suffix("") if suffix in FORMATS + ("dot",) else path
    written = write_graph(nb201_cell_graph(arch), base, fmt)
    report_missing_dot([written])
    return written
