"""Diagrams of NAS-Bench-201 cells (graphviz)."""
from __future__ import annotations

from typing import Sequence

import graphviz

from darts.drawing import add_node, html_label, new_graph, op_edge
from darts.errors import UserError


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
    g = new_graph()
    with g.subgraph() as s:
        s.attr(rank="source")
        add_node(s, "0", html_label("in"), "input")
    for n in range(1, last):
        add_node(g, str(n), str(n), "intermediate")
    with g.subgraph() as s:
        s.attr(rank="sink")
        add_node(s, str(last), html_label("out"), "output")
    for op, i, j in triples:
        if op != "none":
            op_edge(g, str(i), str(j), op)
    return g
