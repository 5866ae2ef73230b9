"""Genotypes of any registered space, read and written: JSON records ({"space": ..., ...}), genotype files,
the names of the cells shipped in darts/cells/, and the paper's `Genotype(...)` text.

It sits above the spaces (it asks the registry which space a record or a genotype belongs to); the DARTS
genotype types and their text form are darts.genotype's, below every space.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from darts.genotype import CELLS_DIR, AnyGenotype, GenotypeError, parse_genotype
from darts.spaces.registry import genotype_from_record, genotype_record


def genotype_from_dict(data: dict, primitives: Sequence[str] | None = None, space: str | None = None):
    """Build and validate a genotype of any registered space from its JSON object ({"space": ..., ...};
    files without "space" are recognised by their keys)."""
    return genotype_from_record(data, space, {"primitives": primitives} if primitives is not None else None)


def genotype_to_json(g) -> str:
    return json.dumps(genotype_record(g))


def genotype_from_json(text: str, primitives: Sequence[str] | None = None) -> AnyGenotype:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise GenotypeError(f"genotype is not valid JSON: {e}") from None
    except (ValueError, RecursionError) as e:  # a number too long to convert, nesting too deep
        raise GenotypeError(f"genotype is not a usable JSON genotype ({type(e).__name__}: {str(e)[:80]})") from None
    return genotype_from_dict(data, primitives)


def available_cells() -> list[str]:
    """Names of the genotypes shipped in cells/ (file stems)."""
    return sorted(p.stem for p in CELLS_DIR.glob("*.json"))


def load_genotype(arch: str | Path, primitives: Sequence[str] | None = None) -> AnyGenotype:
    """Load a genotype by cells/ name (case-insensitive, aliases allowed), JSON path, or paper text."""
    arch_s = str(arch)
    if arch_s.lstrip().startswith("Genotype("):
        return parse_genotype(arch_s, primitives)
    path = Path(arch_s)
    if path.suffix == ".json" or path.is_file():
        if not path.is_file():
            raise GenotypeError(f"genotype file {arch_s} does not exist")
        try:
            return genotype_from_json(path.read_text(encoding="utf-8"), primitives)
        except UnicodeDecodeError:
            raise GenotypeError(f"{arch_s} is not a text file (not UTF-8); give a genotype JSON file") from None
        except GenotypeError as e:
            raise GenotypeError(f"{arch_s}: {e}") from None
    wanted = arch_s.lower()
    for p in CELLS_DIR.glob("*.json"):
        data = json.loads(p.read_text())
        names = [p.stem.lower()] + [a.lower() for a in data.get("aliases", [])]
        if wanted in names:
            return genotype_from_dict(data, primitives)
    raise GenotypeError(
        f"unknown architecture {arch_s!r}: give a genotype JSON path or one of: {', '.join(available_cells())}")
