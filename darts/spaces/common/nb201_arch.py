"""A NAS-Bench-201 architecture: one operation on each of the cell's six edges.

The cell has nodes 0 (input) to 3 (output); node j sums one edge from every earlier node. The
benchmark writes an architecture node by node, each edge as `op~source`:

    |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|
     node 1          node 2                          node 3

Table index. The benchmark enumerated the 5^6 = 15,625 cells in lexicographic order of their op
indices (edges in string order, the first edge most significant, ops in NB201_OPS order) and then
shuffled that list once with Python's `random.seed(88); random.shuffle(...)`; row i of its tables is
element i of the shuffled list. We rebuild the same permutation, so string <-> index needs no file
(tests check it against every row of the table).

Isomorphism. Different cells can compute the same function (a skip edge into a node that only feeds
a `none` edge, ...). `canonical()` is the benchmark's own rule (the table's UniqueString column): a
node is written as the sorted sum of its incoming terms, where `none`, or any op applied to a node
that is exactly zero, gives the zero term `#`, `skip_connect` passes its source's expression through,
and any other op wraps it, `(expr)@op`. Cells with equal canonical forms are isomorphic. The rule is
deliberately the benchmark's (6,466 classes) so counts agree with the literature; it keeps zero terms
inside sums, so a few equivalent cells still get different keys.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from darts.errors import UserError
from darts.spaces.common.nb201_ops import NB201_OPS

NUM_NODES = 4
# (target node, source node) of each edge, in the order the architecture string lists them.
EDGES: tuple[tuple[int, int], ...] = tuple((j, i) for j in range(1, NUM_NODES) for i in range(j))
NUM_ARCHS = len(NB201_OPS) ** len(EDGES)  # 15,625
_SHUFFLE_SEED = 88  # the benchmark's seed for its index order


class Nb201ArchError(UserError):
    """An architecture string or op list that is not a NAS-Bench-201 cell."""


@lru_cache(maxsize=1)
def _index_maps() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(table index -> lexicographic code, lexicographic code -> table index)."""
    order = list(range(NUM_ARCHS))
    random.Random(_SHUFFLE_SEED).shuffle(order)
    inverse = [0] * NUM_ARCHS
    for index, code in enumerate(order):
        inverse[code] = index
    return tuple(order), tuple(inverse)


@dataclass(frozen=True)
class Nb201Arch:
    """Six op names, one per edge in EDGES order (the order of the architecture string)."""

    ops: tuple[str, ...]

    def __post_init__(self):
        ops = tuple(self.ops)
        object.__setattr__(self, "ops", ops)
        if len(ops) != len(EDGES):
            raise Nb201ArchError(f"a NAS-Bench-201 cell has {len(EDGES)} edges, got {len(ops)} ops")
        for op in ops:
            if op not in NB201_OPS:
                raise Nb201ArchError(f"unknown NAS-Bench-201 operation {op!r}; use one of {', '.join(NB201_OPS)}")

    # -- string form -----------------------------------------------------------------------------
    @classmethod
    def from_string(cls, text: str) -> "Nb201Arch":
        return parse_arch(text)

    def to_string(self) -> str:
        nodes = []
        for j in range(1, NUM_NODES):
            edges = [f"{op}~{i}" for op, (jj, i) in zip(self.ops, EDGES) if jj == j]
            nodes.append("|" + "|".join(edges) + "|")
        return "+".join(nodes)

    def __str__(self) -> str:
        return self.to_string()

    space = "nb201"

    def to_dict(self) -> dict:
        """The genotype.json form: {"space": "nb201", "arch": "|op~0|+|...|"}."""
        return {"space": "nb201", "arch": self.to_string()}

    # -- integer forms -----------------------------------------------------------------------------
    @property
    def codes(self) -> tuple[int, ...]:
        """Op indices (into NB201_OPS) per edge."""
        return tuple(NB201_OPS.index(op) for op in self.ops)

    @classmethod
    def from_codes(cls, codes: Sequence[int]) -> "Nb201Arch":
        codes = [int(c) for c in codes]
        if any(not 0 <= c < len(NB201_OPS) for c in codes):
            raise Nb201ArchError(f"op codes must lie in 0..{len(NB201_OPS) - 1}, got {codes}")
        return cls(tuple(NB201_OPS[c] for c in codes))

    @property
    def index(self) -> int:
        """Row of this cell in the benchmark's tables (0..15,624)."""
        code = 0
        for c in self.codes:
            code = code * len(NB201_OPS) + c
        return _index_maps()[1][code]

    @classmethod
    def from_index(cls, index: int) -> "Nb201Arch":
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < NUM_ARCHS:
            raise Nb201ArchError(f"a NAS-Bench-201 index is an integer in 0..{NUM_ARCHS - 1}, got {index!r}")
        code = _index_maps()[0][index]
        digits = []
        for _ in EDGES:
            code, d = divmod(code, len(NB201_OPS))
            digits.append(d)
        return cls.from_codes(reversed(digits))

    # -- isomorphism --------------------------------------------------------------------------------
    def canonical(self) -> str:
        """The benchmark's isomorphism key (its UniqueString): equal keys mean the same computation."""
        exprs = ["0"]  # expression of each node, node 0 is the input
        for j in range(1, NUM_NODES):
            terms = []
            for op, (jj, i) in zip(self.ops, EDGES):
                if jj != j:
                    continue
                source = exprs[i]
                if op == "none" or source == "#":
                    terms.append("#")
                elif op == "skip_connect":
                    terms.append(source)
                else:
                    terms.append(f"({source})@{op}")
            exprs.append("+".join(sorted(terms)))
        return exprs[-1]

    def is_isomorphic(self, other: "Nb201Arch") -> bool:
        return self.canonical() == other.canonical()


def all_archs() -> list[Nb201Arch]:
    """Every cell of the space, in table-index order."""
    return [Nb201Arch.from_index(i) for i in range(NUM_ARCHS)]


def parse_arch(text: str) -> Nb201Arch:
    """Parse the benchmark's string; edges inside a node may come in any order."""
    if isinstance(text, Nb201Arch):
        return text
    if not isinstance(text, str):
        raise Nb201ArchError(f"a NAS-Bench-201 architecture string is text, got {type(text).__name__}")
    s = text.strip()
    example = "e.g. |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    nodes = s.split("+")
    if len(nodes) != NUM_NODES - 1:
        raise Nb201ArchError(f"{text!r}: expected {NUM_NODES - 1} nodes separated by '+', found {len(nodes)}; {example}")
    ops: dict[tuple[int, int], str] = {}
    for j, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")) or len(node) < 2:
            raise Nb201ArchError(f"{text!r}: node {j} {node!r} must be written |op~source|...|; {example}")
        edges = node[1:-1].split("|")
        if len(edges) != j:
            raise Nb201ArchError(f"{text!r}: node {j} needs {j} edge(s) (one from each of nodes 0..{j - 1}), "
                                 f"found {len(edges)}")
        for edge in edges:
            op, sep, source = edge.partition("~")
            if not sep or not source.isdigit():
                raise Nb201ArchError(f"{text!r}: edge {edge!r} of node {j} must be op~source, e.g. nor_conv_3x3~0")
            i = int(source)
            if i >= j:
                raise Nb201ArchError(f"{text!r}: node {j} can only take inputs from nodes 0..{j - 1}, "
                                     f"edge {edge!r} names node {i}")
            if (j, i) in ops:
                raise Nb201ArchError(f"{text!r}: node {j} has two edges from node {i}")
            if op not in NB201_OPS:
                raise Nb201ArchError(f"{text!r}: unknown operation {op!r} on edge {edge!r}; "
                                     f"use one of {', '.join(NB201_OPS)}")
            ops[(j, i)] = op
    return Nb201Arch(tuple(ops[e] for e in EDGES))
