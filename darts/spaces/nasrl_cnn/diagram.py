"""Diagram of a layer-by-layer network: the image, one box per layer (kernel, filters, stride), every
skip connection as an edge, and the layers no other layer reads feeding the classifier."""
from __future__ import annotations

import graphviz

from darts.drawing import add_node, new_graph, plain_edge, stack_by_depth
from darts.spaces.nasrl_cnn.genotype import ConvNetGenotype


def layer_label(i: int, kernel_h: int, kernel_w: int, filters: int, stride: int) -> str:
    stride_text = f"<BR/>stride {stride}" if stride != 1 else ""
    return f"<<B>{i}</B><BR/>{kernel_h}x{kernel_w}, {filters}{stride_text}>"


def network_graph(genotype: ConvNetGenotype) -> graphviz.Digraph:
    g = new_graph()
    add_node(g, "image", "image", "input")
    inputs_of: dict[str, list[str]] = {}
    for i, layer in enumerate(genotype.layers):
        name = f"layer{i}"
        add_node(g, name, layer_label(i, layer.kernel_h, layer.kernel_w, layer.filters, layer.stride),
                 "intermediate")
        inputs_of[name] = [f"layer{j}" for j in layer.inputs] or ["image"]
        for src in inputs_of[name]:
            plain_edge(g, src, name)
    stack_by_depth(g, inputs_of, [f"layer{i}" for i in range(len(genotype.layers))])
    add_node(g, "classifier", "<concat, pool,<BR/>classifier>", "output")
    for i in genotype.sinks():
        plain_edge(g, f"layer{i}", "classifier")
    return g
