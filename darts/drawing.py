"""Drawing primitives for cell diagrams (graphviz): one colour per operation, nodes, labelled edges, and the
left-to-right layout of the DARTS paper's figures. Every space's diagram.py draws with these; writing and
rendering the diagrams to files is visualize/'s job.
"""
from __future__ import annotations

import zlib

import graphviz

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
