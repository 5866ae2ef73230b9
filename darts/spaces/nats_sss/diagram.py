"""Diagrams of a size-space candidate: the network's layers with their widths, and the fixed cell."""
from __future__ import annotations

import graphviz

from darts.drawing import add_node, html_label, new_graph, plain_edge
from darts.spaces.common.nb201_diagram import nb201_cell_graph
from darts.spaces.nats_sss.arch import TOPOLOGY, SizeArch

LAYER_KINDS = ("cell", "reduction", "cell", "reduction", "cell")


def size_network_graph(arch: SizeArch) -> graphviz.Digraph:
    """stem -> cell -> reduction -> cell -> reduction -> cell -> classifier, each labelled with its channels."""
    g = new_graph()
    add_node(g, "stem", html_label("stem", str(arch.channels[0])), "input")
    previous = "stem"
    for i, (kind, channels) in enumerate(zip(LAYER_KINDS, arch.channels)):
        name = f"layer{i}"
        add_node(g, name, f"{kind}\n{channels} ch", "intermediate")
        plain_edge(g, previous, name)
        previous = name
    add_node(g, "classifier", html_label("classifier"), "output")
    plain_edge(g, previous, "classifier")
    return g


def size_diagrams(arch: SizeArch) -> dict:
    return {"network": size_network_graph(arch), "cell": nb201_cell_graph(TOPOLOGY)}
