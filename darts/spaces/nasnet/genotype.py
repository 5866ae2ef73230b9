"""NASNet genotypes: a normal and a reduction cell, each B blocks and the hidden states it outputs.

Hidden states are numbered as in DARTS genotypes: 0 = h_{i-1} (the cell two back), 1 = h_i (the cell one
back), 2 + b = the output of block b. A block applies one operation to each of two hidden states and
combines the results by element-wise addition or by concatenation along the channels. The cell's output
concatenates the states in `concat`; for a searched cell those are its unused block outputs (the paper's
rule), but a genotype may name others (NASNet-A's reference implementation also outputs h_{i-1} in its
normal cell).

JSON: {"normal": {"blocks": [[op_a, input_a, op_b, input_b, "add" | "concat"], ...], "concat": [...]},
"reduce": {...}}.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import darts.spaces.nasnet.ops  # noqa: F401  (registers the paper's operations the shared registry lacks)
from darts.genotype import CELLS_DIR, Genotype, GenotypeError

COMBINES = ("add", "concat")
CELLS = ("normal", "reduce")


@dataclass(frozen=True)
class Block:
    ops: tuple[str, str]
    inputs: tuple[int, int]
    combine: str = "add"

    def to_list(self) -> list:
        return [self.ops[0], self.inputs[0], self.ops[1], self.inputs[1], self.combine]


@dataclass(frozen=True)
class NasnetCell:
    blocks: tuple[Block, ...]
    concat: tuple[int, ...]

    def validate(self, name: str, primitives: Sequence[str] | None = None) -> "NasnetCell":
        from darts.ops import OPS
        known = list(primitives) if primitives is not None else list(OPS)
        if not self.blocks:
            raise GenotypeError(f"the {name} cell has no blocks")
        for b, block in enumerate(self.blocks):
            for op, i in zip(block.ops, block.inputs):
                if op not in known:
                    raise GenotypeError(f"{name} block {b} uses {op!r}, not one of {', '.join(known)}")
                if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < b + 2:
                    raise GenotypeError(f"{name} block {b} takes hidden state {i!r}; it can take 0..{b + 1}")
            if block.combine not in COMBINES:
                raise GenotypeError(f"{name} block {b} combines by {block.combine!r}, not one of {COMBINES}")
        n = len(self.blocks) + 2
        if not self.concat or len(set(self.concat)) != len(self.concat) or \
                any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n for i in self.concat):
            raise GenotypeError(f"the {name} cell's concat {list(self.concat)} must name distinct states 0..{n - 1}")
        return self

    def to_dict(self) -> dict:
        return {"blocks": [b.to_list() for b in self.blocks], "concat": list(self.concat)}


@dataclass(frozen=True)
class NasnetGenotype:
    normal: NasnetCell
    reduce: NasnetCell

    def validate(self, primitives: Sequence[str] | None = None) -> "NasnetGenotype":
        self.normal.validate("normal", primitives)
        self.reduce.validate("reduce", primitives)
        return self

    def to_dict(self) -> dict:
        return {"normal": self.normal.to_dict(), "reduce": self.reduce.to_dict()}

    def __str__(self) -> str:
        cells = []
        for name in CELLS:
            cell = getattr(self, name)
            blocks = " ".join("{}:{}{}{}:{}".format(b.ops[0], b.inputs[0], "+" if b.combine == "add" else "|",
                                                    b.ops[1], b.inputs[1]) for b in cell.blocks)
            cells.append(f"{name}[{blocks} -> {','.join(map(str, cell.concat))}]")
        return "NASNet(" + " ".join(cells) + ")"


def unused_states(blocks: Sequence[Block]) -> tuple[int, ...]:
    """The block outputs no later block takes: the paper's cell output."""
    used = {i for b in blocks for i in b.inputs}
    return tuple(2 + b for b in range(len(blocks)) if 2 + b not in used)


def nasnet_from_dict(data: dict, primitives: Sequence[str] | None = None) -> NasnetGenotype:
    """A validated genotype from its JSON object (without "space")."""
    if not isinstance(data, dict) or set(data) != set(CELLS):
        raise GenotypeError(f'a nasnet genotype is {{"normal": {{...}}, "reduce": {{...}}}}, got keys '
                            f"{sorted(data) if isinstance(data, dict) else type(data).__name__}")
    return NasnetGenotype(*(_cell_from_dict(data[c], c) for c in CELLS)).validate(primitives)


def _cell_from_dict(data, name: str) -> NasnetCell:
    if not isinstance(data, dict) or not {"blocks"} <= set(data) <= {"blocks", "concat"} \
            or not isinstance(data["blocks"], list):
        raise GenotypeError(f'the {name} cell must be {{"blocks": [[op, input, op, input, combine], ...], '
                            f'"concat": [...]}}, got {data!r}')
    blocks = []
    for b, entry in enumerate(data["blocks"]):
        if not isinstance(entry, list) or len(entry) != 5:
            raise GenotypeError(f"{name} block {b} is {entry!r}; expected [op_a, input_a, op_b, input_b, combine]")
        blocks.append(Block((entry[0], entry[2]), (entry[1], entry[3]), entry[4]))
    concat = data.get("concat", unused_states(blocks))
    if not isinstance(concat, (list, tuple)):
        raise GenotypeError(f"the {name} cell's concat must be a list of hidden states, got {concat!r}")
    return NasnetCell(tuple(blocks), tuple(concat))


def from_darts_genotype(genotype: Genotype) -> NasnetGenotype:
    """A DARTS-format cell pair (two (op, input) edges per node, summed) as NASNet blocks that add."""
    cells = []
    for name in CELLS:
        edges, concat = getattr(genotype, name), getattr(genotype, name + "_concat")
        blocks = tuple(Block((edges[k][0], edges[k + 1][0]), (int(edges[k][1]), int(edges[k + 1][1])), "add")
                       for k in range(0, len(edges), 2))
        cells.append(NasnetCell(blocks, tuple(int(i) for i in concat)))
    return NasnetGenotype(*cells).validate()


def nasnet_a_reference() -> NasnetGenotype:
    """NASNet-A as the authors' TF-slim implementation builds it: the cells of darts/cells/NASNet.json, but
    the normal cell also outputs h_{i-1} (state 0) and the reduction cell also outputs block 1 (state 3),
    as its `used_hiddenstates` lists say. Its normal cell outputs 6 states: 6 x 128 = 768 channels at F=32."""
    darts_a = Genotype.from_dict(json.loads((CELLS_DIR / "NASNet.json").read_text())["genotype"])
    g = from_darts_genotype(darts_a)
    return NasnetGenotype(NasnetCell(g.normal.blocks, (0, 2, 3, 4, 5, 6)), NasnetCell(g.reduce.blocks, (3, 4, 5, 6)))
