"""`python -m visualize ARCH_OR_SEARCH_DIR [--out DIR] [--format png|pdf|svg]`.

ARCH (a cells/ name, a genotype JSON path or the paper's Genotype(...) text) gives its cell diagrams;
a search output folder gives its final cells and the alpha and training plots.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from darts.errors import UserError
from darts.genotype import parse_genotype
from darts.options import OneLineParser
from darts.plugins import import_plugins
from darts.spaces.genotype_io import available_cells, load_genotype
from visualize import FORMATS, render_genotype, render_search_dir


def build_parser() -> argparse.ArgumentParser:
    cells = ", ".join(available_cells()) or "none yet"
    p = OneLineParser(
        prog="python -m visualize", allow_abbrev=False,
        description="Draw cell diagrams of a genotype, or the cells and plots of a search output folder.")
    p.add_argument("target", metavar="ARCH_OR_SEARCH_DIR",
                   help=f"a cells/ name ({cells}), a genotype JSON path, or an output folder of train_search.py")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the pictures (default: the current folder for ARCH, SEARCH_DIR/figures)")
    p.add_argument("--format", choices=FORMATS, default="png", help="image format (default: png)")
    p.add_argument("--stem", default=None,
                   help="file name prefix for ARCH diagrams (default: the cells/ name in lower case, "
                        "or the JSON file's stem)")
    p.add_argument("--epoch_cells", "--epoch-cells", action="store_true",
                   help="for a search folder, also draw the genotype of every epoch")
    p.add_argument("--ops_module", action="append", default=None, metavar="FILE_OR_MODULE",
                   help="a .py file or module that registers operations or spaces (repeatable)")
    return p


def _default_stem(arch: str) -> str:
    if arch.lstrip().startswith("Genotype("):
        return "genotype"
    path = Path(arch)
    return path.stem if path.suffix == ".json" else arch.lower()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.out is not None and args.out.exists() and not args.out.is_dir():
            raise UserError(f"--out {args.out} is a file; give a folder for the pictures")
        import_plugins(args.ops_module)
        is_text = args.target.lstrip().startswith("Genotype(")  # paper text; too long for a file name
        if not is_text and Path(args.target).is_dir():
            paths = render_search_dir(args.target, args.out, args.format, epoch_cells=args.epoch_cells)
        else:
            genotype = parse_genotype(args.target) if is_text else load_genotype(args.target)
            stem = args.stem or _default_stem(args.target)
            paths = render_genotype(genotype, args.out or Path("."), stem, args.format)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
