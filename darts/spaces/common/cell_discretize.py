"""Alphas -> a cell's edges, the rule of DARTS's section 2.4 shared by the convolutional and the recurrent cell.

For each intermediate node keep the `k` strongest incoming edges, where an edge's strength is its
largest softmax weight among non-'none' operations; each kept edge becomes its argmax op ('none'
excluded).

P-DARTS's cap (Chen et al., ICCV 2019), `max_skip`: while the derived normal cell holds more skip
connections than allowed, the weakest chosen skip connection's weight is set to 0 and the cell derived again.

A cost cap (`derive_cell_within`, the DARTS space's resource_cost.py, `--cost_cap`): the cell whose chosen ops have the
largest summed weight among the cells whose cost (their ops' costs plus those of the cell inputs they read)
fits a budget. DARTS's rule is the same maximum without the budget (each node's two strongest edges with
their argmax ops), so a cap the DARTS cell fits changes nothing.

Node rules (`NodeRule`, each registered by the name a Derivation's `node_rule` gives): `distinct_inputs` is the
paper's. `same_input` (`--allow_same_input`): a node keeps its two strongest (edge, op) pairs, which may be two
different ops of one edge (a residual block: a convolution and the identity of the same input, as in ResidualSepConv), where
DARTS keeps one op on each of two distinct edges. A cell that reads one input only is cheaper (it leaves out the
other input's preprocessing), so under a cost cap its budget holds more convolutions.

`chain` (`--chain_cells`): each node reads only the node before it (the first node the newer cell input) and keeps
its two strongest ops of that input, so a cell is a chain of blocks (an op beside the identity is a residual block,
ResidualSepConv's topology; chain-structured spaces as in ProxylessNAS and FBNet). Only the ops are chosen.
"""
from __future__ import annotations

from itertools import combinations, product
from typing import Sequence

import torch



class NodeRule:
    """How a node of a derived cell picks its `k` (input, op) pairs among its `n` inputs: `inputs(n)`, the
    inputs it may read; `distinct`: one op on each of k distinct inputs (DARTS), else any k distinct pairs."""

    def __init__(self, name: str, distinct: bool, last_input_only: bool = False):
        self.name, self.distinct, self.last_input_only = name, distinct, last_input_only

    def inputs(self, n: int) -> list[int]:
        return [n - 1] if self.last_input_only else list(range(n))

    def choices(self, n: int, real: list[int], k: int):
        """Every choice of a node with `n` inputs: lists of (input, op index) pairs."""
        if not self.distinct:
            yield from combinations([(e, j) for e in self.inputs(n) for j in real], k)
            return
        for edges in combinations(self.inputs(n), min(k, n)):
            for ops in product(real, repeat=len(edges)):
                yield list(zip(edges, ops))

    def __repr__(self) -> str:
        return f"NodeRule({self.name!r})"


NODE_RULES: dict[str, NodeRule] = {}


def register_node_rule(rule: NodeRule) -> NodeRule:
    NODE_RULES[rule.name] = rule
    return rule


DISTINCT_INPUTS = register_node_rule(NodeRule("distinct_inputs", distinct=True))
SAME_INPUT = register_node_rule(NodeRule("same_input", distinct=False))
CHAIN = register_node_rule(NodeRule("chain", distinct=False, last_input_only=True))


def node_rule(rule: NodeRule | str) -> NodeRule:
    """A node rule, or the one registered under that name."""
    if isinstance(rule, NodeRule):
        return rule
    if rule not in NODE_RULES:
        raise ValueError(f"unknown node rule {rule!r}; choose one of {', '.join(NODE_RULES)}")
    return NODE_RULES[rule]


def derive_cell(weights: torch.Tensor, primitives: Sequence[str], steps: int, k: int = 2,
                edge_scale: torch.Tensor | None = None, inputs: int = 2,
                rule: NodeRule | str = DISTINCT_INPUTS) -> list:
    """weights: (n_edges, n_ops) softmaxed alphas of one cell; edge_scale optionally multiplies each
    edge's strength (PC-DARTS edge normalisation); `inputs` nodes precede the intermediate ones
    (2 in a convolutional cell, 1 in the recurrent cell, which keeps k=1 edge per node); `rule`: the node rule
    (DISTINCT_INPUTS, the paper's; SAME_INPUT: each node's k strongest (edge, op) pairs, two of which may share
    an edge; CHAIN: the k strongest ops of the node's one edge, from the node before it)."""
    rule = node_rule(rule)
    w = weights.detach().float().cpu()
    ops = list(primitives)
    real = [j for j, name in enumerate(ops) if name != "none"]
    if not real:
        raise ValueError("the candidate set has no operation besides 'none'")
    scale = edge_scale.detach().float().cpu() if edge_scale is not None else None
    gene, start = [], 0
    if not rule.distinct:
        scaled = w if scale is None else w * scale[:, None]
        for i in range(steps):
            rows = [start + e for e in rule.inputs(i + inputs)]
            pairs = [(r, j) for r in rows for j in real]
            # Stable sort: ties keep the lower input, then the lower op index, first.
            for r, j in sorted(pairs, key=lambda p: -float(scaled[p]))[:k]:
                gene.append((ops[j], r - start))
            start += i + inputs
        return gene
    strength = w[:, real].max(dim=1).values
    if scale is not None:
        strength = strength * scale
    for i in range(steps):
        n = i + inputs
        rows = range(start, start + n)
        # Stable sort: ties keep the lower input index first, as the original does.
        for r in sorted(rows, key=lambda r: -float(strength[r]))[: min(k, n)]:
            j = real[int(torch.argmax(w[r, real]))]
            gene.append((ops[j], r - start))
        start += n
    return gene


def derive_cell_capped(weights: torch.Tensor, primitives: Sequence[str], steps: int, max_skip: int,
                       edge_scale: torch.Tensor | None = None, rule: NodeRule | str = DISTINCT_INPUTS) -> list:
    """derive_cell with at most `max_skip` skip connections (P-DARTS)."""
    w = weights.detach().float().cpu().clone()
    skip = list(primitives).index("skip_connect")
    starts = [sum(2 + j for j in range(i)) for i in range(steps)]
    while True:
        gene = derive_cell(w, primitives, steps, edge_scale=edge_scale, rule=rule)
        rows = [starts[k // 2] + j for k, (op, j) in enumerate(gene) if op == "skip_connect"]
        weighted = [r for r in rows if float(w[r, skip]) > 0]
        if len(rows) <= max_skip or not weighted:
            return gene
        w[min(weighted, key=lambda r: float(w[r, skip])), skip] = 0.0


def derive_cell_within(weights: torch.Tensor, primitives: Sequence[str], steps: int, costs: torch.Tensor,
                       budget: float, edge_scale: torch.Tensor | None = None, k: int = 2,
                       input_costs: Sequence[float] = (0.0, 0.0), rule: NodeRule | str = DISTINCT_INPUTS) -> list:
    """The cell maximising the summed (edge-scaled) weight of its chosen ops among the cells whose cost is at
    most `budget`: the summed costs[edge, op] of its chosen ops, plus input_costs[i] when an edge reads cell
    input i (the backward pass through that input's preprocessing). Each node keeps `k` distinct incoming
    edges, each with one op other than 'none' (under `rule`, the node rule: SAME_INPUT, `k` distinct (edge, op)
    pairs; CHAIN, `k` ops of the edge from the node before it). Exact: for each set of used inputs, the
    (cost, weight) choices are pruned to the ones no other choice beats on both, node by node. ValueError(message, the cheapest cell's cost) when no cell fits."""
    w = weights.detach().double().cpu()
    if edge_scale is not None:
        w = w * edge_scale.detach().double().cpu()[:, None]
    c = costs.detach().double().cpu()
    real = [j for j, name in enumerate(primitives) if name != "none"]
    frontier, start = {frozenset(): [(0.0, 0.0, [])]}, 0  # used inputs -> [(cost, weight, genes)]
    for i in range(steps):
        n = i + 2
        choices: dict[frozenset, list] = {}
        for pairs in node_rule(rule).choices(n, real, k):
            picked = sorted(pairs, key=lambda e: -float(w[start + e[0], e[1]]))  # stable
            choices.setdefault(frozenset(e for e, _ in picked if e < 2), []).append(
                (sum(float(c[start + e, j]) for e, j in picked), sum(float(w[start + e, j]) for e, j in picked),
                 [(primitives[j], e) for e, j in picked]))
        choices = {more: _pareto(options) for more, options in choices.items()}  # once per node, not per state
        merged: dict[frozenset, list] = {}
        for used, ways in frontier.items():
            for more, options in choices.items():
                merged.setdefault(used | more, []).extend(
                    (c0 + c1, w0 + w1, g0 + g1) for c0, w0, g0 in ways for c1, w1, g1 in options)
        frontier = {used: _pareto(ways) for used, ways in merged.items()}
        start += n
    cells = [(cost + sum(input_costs[j] for j in used), weight, genes)
             for used, ways in frontier.items() for cost, weight, genes in ways]
    fitting = [f for f in cells if f[0] <= budget * (1 + 1e-9)]
    if not fitting:
        cheapest = min(f[0] for f in cells)
        raise ValueError(f"no cell costs at most {budget:.3f}; the cheapest costs {cheapest:.3f}", cheapest)
    return max(fitting, key=lambda f: f[1])[2]


def _pareto(choices: list) -> list:
    """The choices that no other choice beats on both cost (lower) and weight (higher), cheapest first; of
    equal ones the first listed."""
    kept = []
    for choice in sorted(choices, key=lambda f: (f[0], -f[1])):  # stable: ties keep the listed order
        if not kept or choice[1] > kept[-1][1]:
            kept.append(choice)
    return kept
