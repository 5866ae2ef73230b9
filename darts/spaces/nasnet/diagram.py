"""Diagrams of NASNet cells (graphviz), in the DARTS figures' layout: inputs left, blocks, output right.

Each block is a node labelled with its number and its combination ("+" add, "||" concatenate); its two
edges carry their operations. The output node gathers the states the cell concatenates."""
from __future__ import annotations

import graphviz

from darts.drawing import add_node, html_label, new_graph, op_edge, plain_edge, stack_by_depth
from darts.spaces.nasnet.genotype import NasnetCell


def nasnet_cell_graph(cell: NasnetCell) -> graphviz.Digraph:
    g = new_graph()
    names = ["c_{k-2}", "c_{k-1}"] + [str(b) for b in range(len(cell.blocks))]
    with g.subgraph() as s:
        s.attr(rank="source")
        add_node(s, names[0], html_label("c", "k-2"), "input")
        add_node(s, names[1], html_label("c", "k-1"), "input")
        s.edge(names[0], names[1], style="invis")
    inputs_of: dict[str, list[str]] = {}
    for b, block in enumerate(cell.blocks):
        node = names[b + 2]
        add_node(g, node, f"{b} {'+' if block.combine == 'add' else '||'}", "intermediate")
        for op, i in zip(block.ops, block.inputs):
            op_edge(g, names[i], node, op)
            inputs_of.setdefault(node, []).append(names[i])
    stack_by_depth(g, inputs_of, names[2:])
    with g.subgraph() as s:
        s.attr(rank="sink")
        add_node(s, "c_{k}", html_label("c", "k"), "output")
    for i in cell.concat:
        plain_edge(g, names[i], "c_{k}")
    return g
