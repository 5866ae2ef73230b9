"""A NAS-Bench-101 cell (Ying et al., "NAS-Bench-101", ICML 2019, section 2.1), in the benchmark's own terms.

A cell is a DAG of at most 7 vertices given by an upper-triangular 0/1 adjacency matrix and one label per
vertex: vertex 0 is "input", the last is "output", each one between is one of three operations. At most 9
edges. Vertices that lie on no input -> output path compute nothing that reaches the output; the benchmark
prunes them (its ModelSpec) before it checks the limits, builds the network or looks the cell up.

The benchmark identifies isomorphic cells by a graph hash (its graph_util.hash_module): every vertex starts
from md5 of (out-degree, in-degree, label) and is rehashed V times from the sorted hashes of its in- and
out-neighbours; the cell's hash is md5 of the sorted vertex hashes. Labels are -1 (input), -2 (output) and
the op's index in the benchmark's op order. We compute exactly that, so our hashes are the table's keys.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

from darts.errors import UserError

INPUT, OUTPUT = "input", "output"
CONV3X3, CONV1X1, MAXPOOL3X3 = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
OPS = (CONV3X3, CONV1X1, MAXPOOL3X3)  # the benchmark's `available_ops`, in its order (hash labels 0, 1, 2)
MAX_VERTICES = 7
MAX_EDGES = 9

Matrix = tuple[tuple[int, ...], ...]


class Nb101SpecError(UserError):
    """A matrix / op list that is not a NAS-Bench-101 cell."""


def _as_matrix(matrix) -> Matrix:
    try:
        rows = tuple(tuple(int(v) for v in row) for row in matrix)
    except (TypeError, ValueError):
        raise Nb101SpecError("a NAS-Bench-101 matrix is a square list of lists of 0 / 1") from None
    n = len(rows)
    if any(len(r) != n for r in rows):
        raise Nb101SpecError(f"a NAS-Bench-101 matrix must be square, got rows of lengths {[len(r) for r in rows]}")
    if any(v not in (0, 1) for r in rows for v in r):
        raise Nb101SpecError("a NAS-Bench-101 matrix holds only 0 and 1")
    if any(rows[i][j] for i in range(n) for j in range(i + 1)):
        raise Nb101SpecError("a NAS-Bench-101 matrix must be upper triangular (edges only go from lower to higher "
                             "vertices, none on the diagonal)")
    return rows


def _reachable(matrix: Matrix, start: int, forward: bool) -> set[int]:
    n, seen, frontier = len(matrix), {start}, [start]
    while frontier:
        v = frontier.pop()
        for w in range(n):
            edge = matrix[v][w] if forward else matrix[w][v]
            if edge and w not in seen:
                seen.add(w)
                frontier.append(w)
    return seen


def kept_vertices(matrix: Matrix) -> list[int]:
    """The vertices on some input -> output path (empty when the input does not reach the output)."""
    keep = sorted(_reachable(matrix, 0, True) & _reachable(matrix, len(matrix) - 1, False))
    return keep if len(keep) >= 2 else []


def prune(matrix: Matrix, ops: Sequence[str]) -> tuple[Matrix, tuple[str, ...]] | None:
    """The cell without vertices off every input -> output path (the benchmark's ModelSpec pruning), or None
    when the input does not reach the output."""
    keep = kept_vertices(matrix)
    if not keep:
        return None
    return tuple(tuple(matrix[i][j] for j in keep) for i in keep), tuple(ops[i] for i in keep)


def graph_hash(matrix: Matrix, labels: Sequence[int]) -> str:
    """The benchmark's isomorphism-invariant hash of a labelled DAG (see the module docstring)."""
    n = len(matrix)
    ins = [sum(matrix[i][j] for i in range(n)) for j in range(n)]
    outs = [sum(row) for row in matrix]
    hashes = [_md5(str((outs[v], ins[v], labels[v]))) for v in range(n)]
    for _ in range(n):
        hashes = [_md5("".join(sorted(hashes[w] for w in range(n) if matrix[w][v])) + "|"
                       + "".join(sorted(hashes[w] for w in range(n) if matrix[v][w])) + "|" + hashes[v])
                  for v in range(n)]
    return _md5(str(sorted(hashes)))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ModelSpec:
    """A cell as given (`matrix`, `ops`: the benchmark's original_matrix / original_ops); `pruned` is what it
    computes. Mutation works on the given form, as the benchmark's evolution example does."""

    matrix: Matrix
    ops: tuple[str, ...]

    def __post_init__(self):
        matrix = _as_matrix(self.matrix)
        if isinstance(self.ops, str):
            raise Nb101SpecError("a NAS-Bench-101 cell's ops are a list of names, one per vertex")
        ops = tuple(self.ops)
        if len(ops) != len(matrix):
            raise Nb101SpecError(f"a NAS-Bench-101 cell needs one op per vertex: {len(matrix)} vertices, "
                                 f"{len(ops)} ops")
        if not all(isinstance(op, str) for op in ops):
            raise Nb101SpecError("NAS-Bench-101 ops are names such as 'conv3x3-bn-relu'")
        object.__setattr__(self, "matrix", matrix)
        object.__setattr__(self, "ops", ops)

    @property
    def pruned(self) -> tuple[Matrix, tuple[str, ...]] | None:
        return prune(self.matrix, self.ops)

    def problem(self) -> str | None:
        """Why the cell is not in the benchmark (its api.is_valid checks, on the pruned cell), or None."""
        pruned = self.pruned
        if pruned is None:
            return "the input is not connected to the output"
        matrix, ops = pruned
        edges = sum(map(sum, matrix))
        if len(ops) > MAX_VERTICES:
            return f"{len(ops)} vertices after pruning, at most {MAX_VERTICES}"
        if edges > MAX_EDGES:
            return f"{edges} edges after pruning, at most {MAX_EDGES}"
        if ops[0] != INPUT or ops[-1] != OUTPUT:
            return f"the first op must be {INPUT!r} and the last {OUTPUT!r}, got {ops[0]!r} and {ops[-1]!r}"
        bad = [op for op in ops[1:-1] if op not in OPS]
        return f"unknown operation(s) {bad}; use {', '.join(OPS)}" if bad else None

    def is_valid(self) -> bool:
        return self.problem() is None

    def validate(self) -> "ModelSpec":
        problem = self.problem()
        if problem is not None:
            raise Nb101SpecError(f"not a NAS-Bench-101 cell: {problem}")
        return self

    def hash_spec(self) -> str:
        """The benchmark's key of this cell (equal for isomorphic cells)."""
        matrix, ops = self.validate().pruned
        return graph_hash(matrix, [-1] + [OPS.index(op) for op in ops[1:-1]] + [-2])

    def to_dict(self) -> dict:
        return {"matrix": [list(r) for r in self.matrix], "ops": list(self.ops)}


def is_valid(spec: ModelSpec) -> bool:
    """The benchmark's api.is_valid: the pruned cell is connected and within the limits, with known ops."""
    return spec.is_valid()


def spec_from_dict(data: dict) -> ModelSpec:
    """A validated spec from {"matrix": [[...]], "ops": [...]}."""
    if not isinstance(data, dict) or set(data) != {"matrix", "ops"}:
        raise Nb101SpecError('a NAS-Bench-101 genotype is {"space": "nb101", "matrix": [[0, 1, ...], ...], '
                             '"ops": ["input", "conv3x3-bn-relu", ..., "output"]}')
    if not isinstance(data["ops"], list):
        raise Nb101SpecError("a NAS-Bench-101 genotype's ops are a list of names")
    return ModelSpec(data["matrix"], tuple(data["ops"])).validate()
