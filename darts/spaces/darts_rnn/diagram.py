"""Diagrams of DARTS recurrent cells (graphviz)."""
from __future__ import annotations

from typing import Iterable, Sequence

import graphviz

from darts.drawing import add_node, html_label, new_graph, op_edge, plain_edge, stack_by_depth


def recurrent_cell_graph(edges: Sequence[tuple[str, int]], concat: Iterable[int]) -> graphviz.Digraph:
    """A recurrent cell: node 0 mixes x_t and h_{t-1}; node k+1 applies edge k's activation to its input."""
    g = new_graph()
    with g.subgraph() as s:
        s.attr(rank="source")
        add_node(s, "x_{t}", html_label("x", "t"), "input")
        add_node(s, "h_{t-1}", html_label("h", "t-1"), "input")
        s.edge("x_{t}", "h_{t-1}", style="invis")
    add_node(g, "0", "0", "intermediate")
    plain_edge(g, "x_{t}", "0")
    plain_edge(g, "h_{t-1}", "0")
    for k, (op, i) in enumerate(edges):
        add_node(g, str(k + 1), str(k + 1), "intermediate")
        op_edge(g, str(i), str(k + 1), op)
    stack_by_depth(g, {str(k + 1): [str(i)] for k, (_, i) in enumerate(edges)},
                    [str(k) for k in range(len(edges) + 1)])
    with g.subgraph() as s:
        s.attr(rank="sink")
        add_node(s, "h_{t}", html_label("h", "t"), "output")
    for i in concat:
        plain_edge(g, str(i), "h_{t}")
    return g
