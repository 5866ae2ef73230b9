"""Diagram of a NAS-Bench-101 cell: the pruned DAG, each vertex labelled with its operation."""
from __future__ import annotations

import graphviz

from darts.drawing import add_node, html_label, new_graph, plain_edge, stack_by_depth
from darts.spaces.nb101.spec import ModelSpec


def nb101_cell_graph(spec: ModelSpec) -> graphviz.Digraph:
    """Input on the left, output on the right; operations sit on the vertices (edges only carry tensors)."""
    matrix, ops = spec.validate().pruned
    n = len(ops)
    g = new_graph()
    with g.subgraph() as s:
        s.attr(rank="source")
        add_node(s, "v0", html_label("in"), "input")
    for v in range(1, n - 1):
        add_node(g, f"v{v}", f"{v}: {ops[v]}", "intermediate")
    with g.subgraph() as s:
        s.attr(rank="sink")
        add_node(s, f"v{n - 1}", html_label("out"), "output")
    inputs_of = {f"v{j}": [f"v{i}" for i in range(n) if matrix[i][j]] for j in range(n)}
    stack_by_depth(g, inputs_of, [f"v{v}" for v in range(1, n - 1)])
    for j in range(n):
        for src in inputs_of[f"v{j}"]:
            plain_edge(g, src, f"v{j}")
    return g
