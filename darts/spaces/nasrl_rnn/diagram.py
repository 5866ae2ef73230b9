"""Diagram of a tree cell: x_t and h_{t-1} feed the leaves, every node shows its combination and
activation, c_{t-1} enters the injected node through the inject's combination and activation, c_t
leaves the `cell_out` node (before its activation) and h_t the root."""
from __future__ import annotations

import graphviz

from darts.drawing import add_node, html_label, new_graph, op_edge, plain_edge, stack_by_depth
from darts.spaces.nasrl_rnn.genotype import TreeGenotype, children

SYMBOL = {"add": "+", "mult": "&#215;", "max": "max"}


def tree_cell_graph(cell: TreeGenotype) -> graphviz.Digraph:
    def output_of(k: int) -> tuple[str, str]:
        """(graph node, activation on its outgoing edge) of tree node k's output."""
        return ("inject", cell.inject[1]) if k == cell.cell_in else (str(k), cell.nodes[k][1])

    g = new_graph()
    for name, sub in (("x", "t"), ("h", "t-1"), ("c", "t-1")):
        add_node(g, f"{name}_{sub}", html_label(name, sub), "input")
    inputs_of: dict[str, list[str]] = {}
    for k, (comb, _) in enumerate(cell.nodes):
        add_node(g, str(k), f"<<B>{k}</B>: {SYMBOL[comb]}>", "intermediate")
        pair = children(k, cell.leaves)
        if pair is None:
            inputs_of[str(k)] = ["x_t", "h_t-1"]
            plain_edge(g, "x_t", str(k))
            plain_edge(g, "h_t-1", str(k))
        else:
            inputs_of[str(k)] = [str(p) for p in pair]
            for p in pair:
                src, act = output_of(p)
                op_edge(g, src, str(k), act)
    add_node(g, "inject", f"<inject: {SYMBOL[cell.inject[0]]}>", "intermediate")
    op_edge(g, str(cell.cell_in), "inject", cell.nodes[cell.cell_in][1])
    plain_edge(g, "c_t-1", "inject")
    add_node(g, "h_t", html_label("h", "t"), "output")
    add_node(g, "c_t", html_label("c", "t"), "output")
    src, act = output_of(len(cell.nodes) - 1)
    op_edge(g, src, "h_t", act)
    g.edge(str(cell.cell_out), "c_t", label="before activation", style="dashed", color="#555555", fontcolor="#555555")
    stack_by_depth(g, inputs_of, [str(k) for k in range(len(cell.nodes))])
    return g
