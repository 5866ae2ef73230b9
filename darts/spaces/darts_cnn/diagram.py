"""Diagrams of DARTS convolutional cells (graphviz), laid out like the paper's figures."""
from __future__ import annotations

from typing import Iterable, Sequence

import graphviz

from darts.drawing import add_node, html_label, new_graph, op_edge, plain_edge, stack_by_depth


def conv_cell_graph(edges: Sequence[tuple[str, int]], concat: Iterable[int]) -> graphviz.Digraph:
    """A convolutional cell: node k (0-based, paper numbering) sums edges 2k and 2k+1 of `edges`.

    Input indices follow the genotype: 0 = c_{k-2}, 1 = c_{k-1}, i >= 2 = intermediate node i-2.
    """
    g = new_graph()
    inputs = [("c_{k-2}", html_label("c", "k-2")), ("c_{k-1}", html_label("c", "k-1"))]
    with g.subgraph() as s:
        s.attr(rank="source")
        for name, label in inputs:
            add_node(s, name, label, "input")
        s.edge(inputs[0][0], inputs[1][0], style="invis")  # c_{k-2} above c_{k-1}, as in the paper
    steps = len(edges) // 2
    names = [n for n, _ in inputs] + [str(k) for k in range(steps)]
    for k in range(steps):
        add_node(g, str(k), str(k), "intermediate")
    inputs_of: dict[str, list[str]] = {}
    for j, (op, i) in enumerate(edges):
        op_edge(g, names[i], names[j // 2 + 2], op)
        inputs_of.setdefault(names[j // 2 + 2], []).append(names[i])
    stack_by_depth(g, inputs_of, names[2:])
    with g.subgraph() as s:
        s.attr(rank="sink")
        add_node(s, "c_{k}", html_label("c", "k"), "output")
    for i in concat:
        plain_edge(g, names[i], "c_{k}")
    return g
