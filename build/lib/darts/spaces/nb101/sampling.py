"""NAS-Bench-101 as the sample-based strategies see it (the benchmark's own sampling and mutation).

Sampling is the benchmark's rejection sampling (its example `random_spec`): every upper-triangular edge of a
7-vertex cell present with probability 1/2, every op uniform, redrawn until the cell is valid.

Mutation is its evolution example's `mutate_spec` (mutation rate 1): each edge of the given (unpruned)
matrix flips with probability 1/7, each op is redrawn among the other two with probability 1/5; redrawn until
valid. Ours also redraws when the pruned cell's hash is unchanged (a change in a pruned-away vertex), so a
mutation never spends an evaluation on its parent.

Decisions (REINFORCE): 9 edge slots, each one of the 21 upper-triangular edges or "no edge", then 5 ops of
3. Slots bound the edges by the benchmark's limit of 9 whatever the controller picks, and duplicate picks
merge; a vector whose input does not reach the output decodes to the cell with only the edge input ->
output (valid and trivially weak), so every vector is a valid cell and no sample is wasted or retried.
`to_decisions` lists the edges of the pruned cell in order, so decoding gives back the same cell.
"""
from __future__ import annotations

import random
from typing import Sequence

from darts.errors import UserError
from darts.spaces.nb101.spec import (INPUT, MAX_EDGES, MAX_VERTICES, OPS, OUTPUT, ModelSpec, kept_vertices,
                                     spec_from_dict)

N = MAX_VERTICES
EDGES = tuple((i, j) for j in range(1, N) for i in range(j))  # the 21 upper-triangular positions
NO_EDGE = len(EDGES)
OP_SLOTS = N - 2


def _spec(edges, ops: Sequence[str]) -> ModelSpec:
    matrix = [[0] * N for _ in range(N)]
    for i, j in edges:
        matrix[i][j] = 1
    return ModelSpec(matrix, (INPUT, *ops, OUTPUT))


class Nb101ArchSpace:
    name = "nb101"

    def sample_random(self, rng: random.Random) -> ModelSpec:
        while True:
            spec = _spec([e for e in EDGES if rng.random() < 0.5], [rng.choice(OPS) for _ in range(OP_SLOTS)])
            if spec.is_valid():
                return spec

    def mutate(self, arch: ModelSpec, rng: random.Random) -> ModelSpec:
        parent = arch.hash_spec()
        n = len(arch.ops)
        while True:
            matrix = [list(row) for row in arch.matrix]
            ops = list(arch.ops)
            for i in range(n - 1):
                for j in range(i + 1, n):
                    if rng.random() < 1.0 / n:
                        matrix[i][j] = 1 - matrix[i][j]
            for v in range(1, n - 1):
                if rng.random() < 1.0 / (n - 2):
                    ops[v] = rng.choice([op for op in OPS if op != ops[v]])
            child = ModelSpec(matrix, tuple(ops))
            if child.is_valid() and child.hash_spec() != parent:
                return child

    def decisions(self) -> list[int]:
        return [len(EDGES) + 1] * MAX_EDGES + [len(OPS)] * OP_SLOTS

    def from_decisions(self, decisions: Sequence[int]) -> ModelSpec:
        decisions = [int(d) for d in decisions]
        if len(decisions) != MAX_EDGES + OP_SLOTS or any(
                not 0 <= d < k for d, k in zip(decisions, self.decisions())):
            raise UserError(f"NAS-Bench-101 decisions are {MAX_EDGES} edge slots in 0..{NO_EDGE} and "
                            f"{OP_SLOTS} ops in 0..{len(OPS) - 1}, got {decisions}")
        edges = {EDGES[d] for d in decisions[:MAX_EDGES] if d != NO_EDGE}
        ops = [OPS[d] for d in decisions[MAX_EDGES:]]
        spec = _spec(edges, ops)
        return spec if spec.is_valid() else _spec([(0, N - 1)], ops)

    def to_decisions(self, arch: ModelSpec) -> list[int]:
        """Slots: the pruned cell's edges (its vertices placed at their original positions, the output last)."""
        matrix, kept_ops = arch.validate().pruned
        keep = kept_vertices(arch.matrix)
        position = {v: (N - 1 if v == len(arch.ops) - 1 else v) for v in keep}
        edges = sorted(EDGES.index((position[keep[a]], position[keep[b]]))
                       for a in range(len(keep)) for b in range(len(keep)) if matrix[a][b])
        ops = [OPS.index(arch.ops[v]) if v in keep[1:-1] else 0 for v in range(1, N - 1)]
        return edges + [NO_EDGE] * (MAX_EDGES - len(edges)) + ops

    def encode(self, arch: ModelSpec) -> dict:
        return arch.to_dict()

    def decode(self, data: dict) -> ModelSpec:
        return spec_from_dict(data)

