"""A recurrent cell as Zoph & Le (2017, sec. 3.4) sample it: a complete binary tree over `leaves` leaves.

Nodes are numbered leaves first (0..L-1), then level by level: node L+m combines nodes 2m and 2m+1, so
the root is node 2L-2 (base 2: leaves 0, 1, root 2). Every node has a combination (add, elementwise
multiply; max in the extended set) and an activation (tanh, relu, sigmoid, identity; sin in the
extended set). Leaf k combines W_k x_t and U_k h_{t-1}; an inner node combines its children's outputs.
The memory: c_{t-1} is injected into node `cell_in` (its output a becomes inject_act(inject_comb(a,
c_{t-1}))) and c_t is node `cell_out`'s value before its activation; h_t is the root's output.
"""
from __future__ import annotations

from dataclasses import dataclass

from darts.genotype import GenotypeError

COMBINATIONS = ("add", "mult")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")
EXTRA_COMBINATIONS = ("max",)
EXTRA_ACTIVATIONS = ("sin",)


def node_count(leaves: int) -> int:
    return 2 * leaves - 1


def children(node: int, leaves: int) -> tuple[int, int] | None:
    """The two nodes an inner node combines (None for a leaf)."""
    return None if node < leaves else (2 * (node - leaves), 2 * (node - leaves) + 1)


@dataclass(frozen=True)
class TreeGenotype:
    nodes: tuple[tuple[str, str], ...]  # (combination, activation) per node, leaves first, root last
    inject: tuple[str, str]             # (combination, activation) that brings c_{t-1} in
    cell_out: int                       # node whose pre-activation value is c_t
    cell_in: int                        # node c_{t-1} is injected into

    @property
    def leaves(self) -> int:
        return (len(self.nodes) + 1) // 2

    def to_dict(self) -> dict:
        return {"nodes": [list(n) for n in self.nodes], "inject": list(self.inject),
                "cell_out": self.cell_out, "cell_in": self.cell_in}


def _pair(value, what: str) -> tuple[str, str]:
    combos, acts = COMBINATIONS + EXTRA_COMBINATIONS, ACTIVATIONS + EXTRA_ACTIVATIONS
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and value[0] in combos and value[1] in acts):
        raise GenotypeError(f"{what} must be [combination, activation] with a combination in {combos} and an "
                            f"activation in {acts}, got {value!r}")
    return str(value[0]), str(value[1])


def _index(value, n: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n:
        raise GenotypeError(f"{what} must be a node number in 0..{n - 1}, got {value!r}")
    return value


def genotype_from_dict(data: dict) -> TreeGenotype:
    """A validated tree from {"nodes": [[comb, act], ...], "inject": [comb, act], "cell_out", "cell_in"}."""
    keys = {"nodes", "inject", "cell_out", "cell_in"}
    if not isinstance(data, dict) or set(data) != keys or not isinstance(data["nodes"], list):
        raise GenotypeError('a nasrl_rnn genotype is {"space": "nasrl_rnn", "nodes": [["add", "tanh"], ...], '
                            '"inject": ["add", "relu"], "cell_out": 1, "cell_in": 0}')
    n = len(data["nodes"])
    leaves = (n + 1) // 2
    if n < 3 or n != node_count(leaves) or leaves & (leaves - 1):
        raise GenotypeError(f"a tree over L leaves (L a power of two, at least 2) has 2L-1 nodes, got {n}")
    nodes = tuple(_pair(v, f"node {i}") for i, v in enumerate(data["nodes"]))
    return TreeGenotype(nodes, _pair(data["inject"], "inject"), _index(data["cell_out"], n, "cell_out"),
                        _index(data["cell_in"], n, "cell_in"))
