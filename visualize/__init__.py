"""Pictures of architectures and searches: cell diagrams (graphviz) and search plots (matplotlib).

`render_genotype` draws a genotype's cells; `render_search_dir` draws everything a search left in its
output folder. `python -m visualize ARCH_OR_SEARCH_DIR` does either from the command line.
"""
from __future__ import annotations

import json
from pathlib import Path

from darts.drawing import OP_COLORS, op_color
from darts.errors import UserError
from darts.spaces.genotype_io import genotype_from_dict
from darts.spaces.registry import genotype_record
from visualize.cells import FORMATS, render_genotype, report_missing_dot, write_genotype_graphs
from visualize.plots import (alpha_cells, plot_alpha_evolution, plot_alpha_heatmap, plot_best_so_far,
                             plot_history, plot_metrics, read_records)

__all__ = ["FORMATS", "OP_COLORS", "op_color", "render_genotype", "render_search_dir", "plot_best_so_far", "plot_alpha_evolution", "plot_alpha_heatmap",
           "plot_metrics", "plot_history"]


def _genotype(data: dict, primitives: list[str] | None, where: str):
    try:
        return genotype_from_dict(data, primitives)
    except UserError as e:
        raise UserError(f"{where}: {e}") from None


def render_search_dir(search_dir: str | Path, out_dir: str | Path | None = None, fmt: str = "png",
                      epoch_cells: bool = False) -> list[Path]:
    """Draw a search's output folder into OUT_DIR (default SEARCH_DIR/figures); returns the files written.

    From genotype.json (or the last alphas record): the final cell diagrams. From alphas.jsonl: the alphas
    of each edge over the epochs, a heatmap of the final alphas, the loss/accuracy curves and, with
    `epoch_cells`, the diagrams of every epoch's genotype (in OUT_DIR/epochs). From history.jsonl (other
    strategies): the best reward so far against the number of architectures evaluated.
    """
    search_dir = Path(search_dir)
    if not search_dir.is_dir():
        raise UserError(f"search folder {search_dir} does not exist")
    if fmt not in FORMATS:
        raise UserError(f"fmt {fmt!r}: unknown image format; choose one of: {', '.join(FORMATS)}")
    out = Path(out_dir) if out_dir is not None else search_dir / "figures"
    alphas_path, genotype_path, history_path = (search_dir / n for n in ("alphas.jsonl", "genotype.json",
                                                                           "history.jsonl"))
    records = read_records(alphas_path) if alphas_path.is_file() else []
    history = read_records(history_path) if history_path.is_file() else []
    if not (records or history or genotype_path.is_file()):
        raise UserError(f"{search_dir} has no genotype.json, alphas.jsonl or history.jsonl; "
                        "give the output folder of train_search.py")
    primitives = records[-1].get("primitives") if records else None

    written: list[Path] = []
    final = None
    if genotype_path.is_file():
        try:
            data = json.loads(genotype_path.read_text())
        except ValueError as e:
            raise UserError(f"{genotype_path} is not valid JSON: {e}") from None
        final = _genotype(data, primitives, str(genotype_path))
    elif records and records[-1].get("genotype"):
        final = _genotype(records[-1]["genotype"], primitives, f"{alphas_path} (last line)")
    if final is not None:
        written += write_genotype_graphs(final, out, "genotype", fmt)

    if records:
        kept = genotype_record(final) if final is not None else None
        for cell in alpha_cells(records[-1]):
            written.append(plot_alpha_evolution(records, cell, out / f"alphas_{cell}", fmt, genotype=kept))
        if alpha_cells(records[-1]):
            written.append(plot_alpha_heatmap(records[-1], out / "alphas_final", fmt, genotype=kept))
        metrics = plot_metrics(records, out / "metrics", fmt)
        if metrics is not None:
            written.append(metrics)
        if epoch_cells:
            for i, r in enumerate(records):
                if r.get("genotype"):
                    epoch = r.get("epoch", i)
                    g = _genotype(r["genotype"], primitives, f"{alphas_path} epoch {epoch}")
                    written += write_genotype_graphs(g, out / "epochs", f"epoch_{epoch:03d}", fmt)
    if history:
        written.append(plot_history(history, out / "best_so_far", fmt, label=search_dir.resolve().name))
    if (search_dir / "front.json").is_file():  # a multi-objective search's front (visualize/pareto.py)
        from visualize.pareto import plot_front_file
        written.append(plot_front_file(search_dir / "front.json", history, out / "front", fmt))
    report_missing_dot(written)
    return written
