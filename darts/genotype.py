"""Genotypes: the discrete architectures that searches produce and final networks are built from.

Two families share this module: the convolutional cell pair (normal + reduction) and the recurrent
cell. Both round-trip through JSON, and both can be parsed from the paper's `Genotype(...)` text
without `eval`, so published genotypes can be pasted in safely.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple, Sequence

from darts.errors import UserError


class GenotypeError(UserError):
    """A genotype that does not describe a valid cell."""


Edge = tuple  # (op name, input node index)


class Genotype(NamedTuple):
    """A convolutional cell pair: each intermediate node takes two (op, input) edges."""

    normal: list
    normal_concat: list
    reduce: list
    reduce_concat: list

    def to_dict(self) -> dict:
        return {
            "normal": [[op, int(i)] for op, i in self.normal],
            "normal_concat": [int(i) for i in self.normal_concat],
            "reduce": [[op, int(i)] for op, i in self.reduce],
            "reduce_concat": [int(i) for i in self.reduce_concat],
        }

    @classmethod
    def from_dict(cls, data: dict, primitives: Sequence[str] | None = None) -> "Genotype":
        """A validated cell pair from its JSON fields (no "space" key)."""
        return cls(*genotype_fields(data, cls._fields, ("normal", "reduce"))).validate(primitives)

    @property
    def steps(self) -> int:
        return len(self.normal) // 2

    def validate(self, primitives: Sequence[str] | None = None) -> "Genotype":
        for cell in ("normal", "reduce"):
            edges = getattr(self, cell)
            _check_edges(edges, cell, primitives, cnn_op_names)
            if len(edges) % 2 or not edges:
                raise GenotypeError(
                    f"{cell} cell has {len(edges)} edges; a convolutional cell needs two edges per node")
            for k, (op, inp) in enumerate(edges):
                node = k // 2 + 2
                if not 0 <= inp < node:
                    raise GenotypeError(
                        f"{cell} edge {k} ({op!r}, {inp}): node {node} can only take inputs 0..{node - 1}")
            _check_concat(getattr(self, cell + "_concat"), len(edges) // 2 + 2, cell + "_concat", first=0)
        if len(self.normal) != len(self.reduce):
            raise GenotypeError(f"normal cell has {len(self.normal)} edges but reduction cell {len(self.reduce)}")
        return self

    def __str__(self) -> str:
        return format_genotype(self)


class RecurrentGenotype(NamedTuple):
    """A recurrent cell: node i (1-based) takes one (activation, input) edge from an earlier node."""

    recurrent: list
    concat: list

    def to_dict(self) -> dict:
        return {"recurrent": [[op, int(i)] for op, i in self.recurrent], "concat": [int(i) for i in self.concat]}

    @classmethod
    def from_dict(cls, data: dict, primitives: Sequence[str] | None = None) -> "RecurrentGenotype":
        """A validated recurrent cell from its JSON fields (no "space" key)."""
        return cls(*genotype_fields(data, cls._fields, ("recurrent",))).validate(primitives)

    @property
    def steps(self) -> int:
        return len(self.recurrent)

    def validate(self, primitives: Sequence[str] | None = None) -> "RecurrentGenotype":
        if not self.recurrent:
            raise GenotypeError("recurrent cell has no edges")
        _check_edges(self.recurrent, "recurrent", primitives, rnn_op_names)
        for k, (op, inp) in enumerate(self.recurrent):
            if not 0 <= inp <= k:
                raise GenotypeError(
                    f"recurrent edge {k} ({op!r}, {inp}): node {k + 1} can only take inputs 0..{k}")
        _check_concat(self.concat, len(self.recurrent) + 1, "concat", first=1)
        return self

    def __str__(self) -> str:
        return format_genotype(self)


def cnn_op_names() -> list[str]:
    from darts.ops import OPS
    return sorted(OPS)


def rnn_op_names() -> list[str]:
    from darts.rnn_ops import RNN_PRIMITIVES
    return list(RNN_PRIMITIVES)


def _check_edges(edges, cell: str, primitives, known) -> None:
    allowed = list(primitives) if primitives is not None else known()
    for k, edge in enumerate(edges):
        if not (isinstance(edge, (list, tuple)) and len(edge) == 2
                and isinstance(edge[0], str) and isinstance(edge[1], int) and not isinstance(edge[1], bool)):
            raise GenotypeError(f"{cell} edge {k} is {edge!r}; expected an [op name, input index] pair")
        if edge[0] == "none":
            raise GenotypeError(f"{cell} edge {k} uses 'none'; a genotype keeps only real operations")
        if edge[0] not in allowed:
            raise GenotypeError(
                f"{cell} edge {k}: unknown operation {edge[0]!r}; known operations: {', '.join(allowed)}")


def _check_concat(concat, n_nodes: int, name: str, first: int) -> None:
    if not concat:
        raise GenotypeError(f"{name} is empty")
    for i in concat:
        if not isinstance(i, int) or not first <= i < n_nodes:
            raise GenotypeError(f"{name} entry {i!r} is not a node of this cell (nodes {first}..{n_nodes - 1})")


AnyGenotype = Genotype | RecurrentGenotype  # and the genotype types of the other registered spaces


def genotype_fields(data: dict, fields: Sequence[str], edge_fields: Sequence[str]) -> list:
    """The values of a cell-genotype's `fields` from its JSON object: edge lists as (op, input) pairs,
    the other fields as lists of node indices."""
    missing = [k for k in fields if k not in data]
    if missing or set(data) - set(fields):
        raise GenotypeError(f"genotype has keys {sorted(data)}; expected {sorted(fields)}")
    return [[_edge(e) for e in _list(data[k], k)] if k in edge_fields else _int_list(data[k], k) for k in fields]


def _list(v, name):
    if isinstance(v, (list, tuple)):
        return v
    raise GenotypeError(f"{name} must be a list of [op name, input index] pairs, got {v!r}")


def _edge(e):
    if isinstance(e, (list, tuple)) and len(e) == 2:
        return (e[0], e[1])
    raise GenotypeError(f"edge {e!r} is not an [op name, input index] pair")


def _int_list(v, name):
    if isinstance(v, (list, tuple)) and all(isinstance(i, int) and not isinstance(i, bool) for i in v):
        return list(v)
    raise GenotypeError(f"{name} must be a list of node indices, got {v!r}")


def format_genotype(g: AnyGenotype) -> str:
    """The paper's text form, e.g. Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], ...)."""
    def edges(es):
        return "[" + ", ".join(f"({op!r}, {i})" for op, i in es) + "]"
    if isinstance(g, Genotype):
        return (f"Genotype(normal={edges(g.normal)}, normal_concat={list(g.normal_concat)}, "
                f"reduce={edges(g.reduce)}, reduce_concat={list(g.reduce_concat)})")
    return f"Genotype(recurrent={edges(g.recurrent)}, concat={list(g.concat)})"


def parse_genotype(text: str, primitives: Sequence[str] | None = None) -> AnyGenotype:
    """Parse the paper's `Genotype(normal=[...], ...)` text with `ast`, never `eval`.

    Accepts literal lists/tuples and `range(a, b)` (the original code writes concat that way),
    and an optional `NAME = ` prefix.
    """
    text = text.strip()
    try:
        tree = ast.parse(text, mode="exec")
    except SyntaxError as e:
        raise GenotypeError(f"cannot parse genotype text: {e.msg} (line {e.lineno})") from None
    except (ValueError, RecursionError, MemoryError) as e:  # null bytes, nesting too deep
        raise GenotypeError(f"cannot parse genotype text ({type(e).__name__})") from None
    if len(tree.body) != 1:
        raise GenotypeError("genotype text must be a single Genotype(...) expression")
    node = tree.body[0]
    node = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Genotype"):
        raise GenotypeError("genotype text must be a call Genotype(normal=..., ...) or Genotype(recurrent=..., concat=...)")
    if node.args:
        fields = Genotype._fields if len(node.args) == 4 else RecurrentGenotype._fields
        if len(node.args) not in (2, 4):
            raise GenotypeError(f"Genotype(...) takes 2 or 4 fields, got {len(node.args)} positional")
        values = dict(zip(fields, node.args))
    else:
        values = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise GenotypeError("genotype text: only named fields (normal=..., reduce=...) are allowed, not **")
        values[kw.arg] = kw.value
    data = {k: _literal(v, k) for k, v in values.items()}
    cnn, rnn = (len(set(data) & set(t._fields)) for t in (Genotype, RecurrentGenotype))
    if not cnn and not rnn:
        raise GenotypeError(f"Genotype(...) has the fields {sorted(data)}; expected {', '.join(Genotype._fields)} "
                            f"or {', '.join(RecurrentGenotype._fields)}")
    return (Genotype if cnn >= rnn else RecurrentGenotype).from_dict(data, primitives)


MAX_RANGE = 1000  # nodes a genotype text's range(...) may list: far more than any cell has


def _literal(node, name):
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
            and not node.keywords):
        bounds = [_literal(a, name) for a in node.args]
        if not all(isinstance(b, int) for b in bounds) or not 1 <= len(bounds) <= 3:
            raise GenotypeError(f"{name}: range(...) needs integer bounds")
        try:
            span = range(*bounds)
        except ValueError as e:  # a step of 0
            raise GenotypeError(f"{name}: {e}") from None
        if len(span) > MAX_RANGE:  # measured before the list is built
            raise GenotypeError(f"{name}: range{tuple(bounds)} holds {len(span):,} nodes; a cell's concat lists "
                                f"at most {MAX_RANGE} (e.g. range(2, 6))")
        return list(span)
    try:
        value = ast.literal_eval(node)
    except ValueError:
        raise GenotypeError(f"{name}: only literal lists, tuples and range(a, b) are allowed") from None
    if isinstance(value, tuple) and name in ("normal_concat", "reduce_concat", "concat"):
        value = list(value)
    if isinstance(value, (list, tuple)) and name in ("normal", "reduce", "recurrent"):
        value = [list(e) if isinstance(e, tuple) else e for e in value]
    return value


CELLS_DIR = Path(__file__).resolve().parent / "cells"  # the published genotypes, shipped inside the package
