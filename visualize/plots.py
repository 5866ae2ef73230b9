"""Search plots with matplotlib: how the alphas moved, where they ended, and how training went.

Everything reads the plain records a search writes (alphas.jsonl lines, history.jsonl lines), so the
plots work on a finished run, a run in progress, or one copied from another machine. Ops keep the
colours of the cell diagrams (`visualize.cells.op_color`).
"""
from __future__ import annotations

import io
from pathlib import Path
from functools import wraps
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from darts.checkpoint import atomic_write_bytes, read_jsonl  # noqa: E402
from darts.drawing import op_color  # noqa: E402
from darts.errors import UserError  # noqa: E402
from visualize.cells import FORMATS  # noqa: E402

# Record keys that are not alpha matrices.
RESERVED_KEYS = {"epoch", "primitives", "genotype", "metrics"}
# Cells whose nodes take two inputs (c_{k-2}, c_{k-1}); every other alpha matrix has one input node.
CONV_CELLS = ("normal", "reduce")
STRATEGY_COLORS = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#000000")
PLOT_DPI = 150

STYLE = {"font.size": 9, "axes.titlesize": 9, "axes.spines.top": False, "axes.spines.right": False}


def _styled(plot):
    """Apply STYLE while one plot is drawn, leaving the caller's matplotlib settings alone."""
    @wraps(plot)
    def run(*args, **kwargs):
        with plt.rc_context(STYLE):
            return plot(*args, **kwargs)
    return run


# -------------------------------------------------------------------------------------------------
# reading
def read_records(path: str | Path) -> list[dict]:
    """The JSON lines of alphas.jsonl / history.jsonl (read_jsonl: a damaged line is a one-line error naming
    it; a truncated last line, a copy cut short, is left out)."""
    records = read_jsonl(path)
    for n, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise UserError(f"{path} record {n} is not a JSON object")
    return records


def alpha_cells(record: dict) -> list[str]:
    """Names of the alpha matrices in one alphas.jsonl record ('normal', 'reduce', 'recurrent', ...)."""
    n_ops = len(record.get("primitives", []))
    cells = []
    for key, value in record.items():
        if key in RESERVED_KEYS or not isinstance(value, list) or not value:
            continue
        if all(isinstance(row, list) and len(row) == n_ops for row in value):
            cells.append(key)
    return cells


def edge_endpoints(cell: str, n_edges: int) -> list[tuple[str, str]]:
    """(source, target) names of each alpha row, in the diagrams' node names.

    Rows go node by node; node j takes every earlier node as input. Convolutional cells start with two
    input nodes c_{k-2}, c_{k-1} and number intermediate nodes from 0 as the paper does; other cells
    (recurrent, NAS-Bench-201) start with one input node called 0.
    """
    n_inputs = 2 if cell in CONV_CELLS else 1
    names = ["$c_{k-2}$", "$c_{k-1}$"] if n_inputs == 2 else ["0"]
    endpoints: list[tuple[str, str]] = []
    node = 0
    while len(endpoints) < n_edges:
        target = str(node) if n_inputs == 2 else str(node + 1)
        endpoints += [(src, target) for src in names]
        names = names + [target]
        node += 1
    if len(endpoints) != n_edges:
        raise UserError(f"alphas of cell {cell!r} have {n_edges} rows, which is no whole number of nodes "
                        "(node j has one row per earlier node)")
    return endpoints


def chosen_edges(cell: str, genotype: dict | None) -> dict[tuple[str, str], list[str]]:
    """(source, target) -> ops the genotype kept there (named as in `edge_endpoints`).

    A list, because some published cells (ENAS) take two ops from the same input.
    """
    if not genotype or cell not in genotype:
        return {}
    edges = genotype[cell]
    if cell in CONV_CELLS:
        names = ["$c_{k-2}$", "$c_{k-1}$"] + [str(k) for k in range(len(edges) // 2)]
        pairs = [((names[i], str(k // 2)), op) for k, (op, i) in enumerate(edges)]
    else:
        pairs = [((str(i), str(k + 1)), op) for k, (op, i) in enumerate(edges)]
    kept: dict[tuple[str, str], list[str]] = {}
    for edge, op in pairs:
        kept.setdefault(edge, []).append(op)
    return kept


def _save(fig, path: str | Path, fmt: str) -> Path:
    if fmt not in FORMATS:
        plt.close(fig)
        raise UserError(f"fmt {fmt!r}: unknown image format; choose one of: {', '.join(FORMATS)}")
    path = Path(path)
    path = path.parent / f"{path.name}.{fmt}" if path.suffix.lstrip(".") != fmt else path
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=PLOT_DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def _epochs(records: Sequence[dict]) -> np.ndarray:
    return np.array([r.get("epoch", i) for i, r in enumerate(records)])


# -------------------------------------------------------------------------------------------------
# alphas
@_styled
def plot_alpha_evolution(records: Sequence[dict], cell: str, path: str | Path, fmt: str = "png",
                         genotype: dict | None = None) -> Path:
    """One small panel per edge (row = target node, column = source node), one line per op over epochs.

    Panels of the edges the final genotype (default: the last record's) kept get a frame and the kept op
    in their title.
    """
    primitives = records[-1]["primitives"]
    weights = np.array([r[cell] for r in records], dtype=float)  # epochs x edges x ops
    epochs = _epochs(records)
    endpoints = edge_endpoints(cell, weights.shape[1])
    sources = list(dict.fromkeys(s for s, _ in endpoints))
    targets = list(dict.fromkeys(t for _, t in endpoints))
    chosen = chosen_edges(cell, genotype if genotype is not None else records[-1].get("genotype"))
    n_rows, n_cols = len(targets), len(sources)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.55 * n_cols + 0.6, 1.15 * n_rows + 0.9),
                             sharex=True, sharey=True, squeeze=False)
    # Shared y range fitted to the data: short searches move alphas only a little around 1/len(ops).
    low, high = float(weights.min()), float(weights.max())
    pad = 0.08 * max(high - low, 1e-3)
    y_range = (max(0.0, low - pad), min(1.0, high + pad))
    marker = "o" if len(epochs) <= 12 else None
    used = set()
    for e, (src, dst) in enumerate(endpoints):
        ax = axes[targets.index(dst), sources.index(src)]
        used.add(id(ax))
        for o, op in enumerate(primitives):
            ax.plot(epochs, weights[:, e, o], color=op_color(op), lw=1.4, marker=marker, ms=2.5,
                    ls="--" if op == "none" else "-", label=op)
        kept = chosen.get((src, dst), [])
        title_color = op_color(kept[0]) if len(kept) == 1 else "black"
        ax.set_title(f"{src} → {dst}" + ("\n" + " + ".join(kept) if kept else ""), fontsize=8,
                     fontweight="bold" if kept else "normal", color=title_color)
        for spine in ("left", "bottom", "top", "right"):
            ax.spines[spine].set_visible(bool(kept) or spine in ("left", "bottom"))
            ax.spines[spine].set_linewidth(1.6 if kept else 0.8)
        ax.set_ylim(*y_range)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.tick_params(labelsize=7)
    for ax in axes.flat:
        if id(ax) not in used:
            ax.set_visible(False)
    for r in range(n_rows):
        axes[r, 0].set_ylabel("weight", fontsize=8)
    for c in range(n_cols):
        axes[-1, c].set_xlabel("epoch", fontsize=8)
        axes[-1, c].xaxis.set_tick_params(labelbottom=True)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.suptitle(f"softmax(alpha) of the {cell} cell per edge (source → target node)", fontsize=10)
    fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 4), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout()
    return _save(fig, path, fmt)


@_styled
def plot_alpha_heatmap(record: dict, path: str | Path, fmt: str = "png", genotype: dict | None = None) -> Path:
    """The final softmaxed alphas of every cell as edges x ops heatmaps; kept (edge, op) pairs are boxed."""
    primitives = record["primitives"]
    cells = alpha_cells(record)
    if not cells:
        raise UserError("alphas record holds no alpha matrices (expected 'normal'/'reduce' or 'recurrent')")
    mats = [np.array(record[c], dtype=float) for c in cells]
    vmin, vmax = min(m.min() for m in mats), max(m.max() for m in mats)
    n_edges = max(m.shape[0] for m in mats)
    fig, axes = plt.subplots(1, len(cells), squeeze=False,
                             figsize=(0.62 * len(primitives) * len(cells) + 2.2, 0.3 * n_edges + 1.8))
    for ax, cell, m in zip(axes[0], cells, mats):
        im = ax.imshow(m, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
        endpoints = edge_endpoints(cell, m.shape[0])
        ax.set_yticks(range(len(endpoints)), [f"{s} → {t}" for s, t in endpoints], fontsize=8)
        ax.set_xticks(range(len(primitives)), primitives, rotation=45, ha="right", fontsize=8)
        for tick, op in zip(ax.get_xticklabels(), primitives):
            tick.set_color(op_color(op))
        threshold = vmin + 0.6 * (vmax - vmin)
        digits = 2 if vmax - vmin >= 0.1 else 3  # small spreads (short searches) need the third digit
        for (e, o), w in np.ndenumerate(m):
            ax.text(o, e, f"{w:.{digits}f}", ha="center", va="center", fontsize=6.5,
                    color="black" if w > threshold else "white")
        kept = chosen_edges(cell, genotype if genotype is not None else record.get("genotype"))
        for e, edge in enumerate(endpoints):
            for o in [primitives.index(op) for op in kept.get(edge, []) if op in primitives]:
                ax.add_patch(Rectangle((o - 0.5, e - 0.5), 1, 1, fill=False, ec="#EE3377", lw=2))
        ax.set_title(f"{cell} cell, epoch {record.get('epoch', '?')}", fontsize=10)
        for spine in ax.spines.values():
            spine.set_visible(False)
    fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label="softmax(alpha)")
    return _save(fig, path, fmt)


# -------------------------------------------------------------------------------------------------
# training curves
METRIC_LABELS = {"loss": "loss", "acc": "accuracy (%)", "ppl": "perplexity", "lr": "learning rate",
                 "seconds": "seconds per epoch"}


def metric_series(records: Sequence[dict]) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """Metric name -> split -> [(epoch, value)], from each record's "metrics" ({split}_{name} keys).

    Whatever is present is kept (acc for images, ppl for text, anything a strategy adds); epochs that
    lack a metric simply have no point for it.
    """
    series: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for i, r in enumerate(records):
        for key, value in (r.get("metrics") or {}).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            split, _, name = key.partition("_")
            if not name:
                split, name = "", key
            series.setdefault(name, {}).setdefault(split, []).append((r.get("epoch", i), float(value)))
    return series


@_styled
def plot_metrics(records: Sequence[dict], path: str | Path, fmt: str = "png") -> Path | None:
    """Train/validation curves of every metric present, one panel per metric; None when there are none."""
    groups = metric_series(records)
    if not groups:
        return None
    order = [n for n in METRIC_LABELS if n in groups] + sorted(n for n in groups if n not in METRIC_LABELS)
    n_cols = 2 if len(order) == 4 else min(len(order), 3)
    n_rows = -(-len(order) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.6 * n_cols, 2.7 * n_rows + 0.2), squeeze=False)
    for ax in axes.flat[len(order):]:
        ax.set_visible(False)
    split_style = {"train": ("#4477AA", "-"), "valid": ("#EE6677", "--"), "test": ("#228833", ":")}
    for ax, name in zip(axes.flat, order):
        for split, points in groups[name].items():
            x, y = zip(*points)
            color, ls = split_style.get(split, ("#555555", "-"))
            ax.plot(x, y, color=color, ls=ls, lw=1.6, marker="o" if len(x) <= 12 else None, ms=3,
                    label=split or name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(METRIC_LABELS.get(name, name))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if set(groups[name]) != {""}:  # a lone unsplit series (lr, seconds) needs no legend
            ax.legend(frameon=False)
    fig.tight_layout()
    return _save(fig, path, fmt)


# -------------------------------------------------------------------------------------------------
# strategies
def seed_mean_std(seeds: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std over seeds per step, after cutting every seed to the shortest one."""
    length = min(len(s) for s in seeds)
    table = np.array([list(s)[:length] for s in seeds], dtype=float)
    return table.mean(axis=0), table.std(axis=0)


@_styled
def plot_best_so_far(curves: dict[str, list[list[float]]], path: str | Path, fmt: str | None = None, *,
                     xlabel: str = "architectures evaluated", ylabel: str = "best reward so far",
                     title: str | None = None) -> Path:
    """Strategy name -> per-seed best-so-far lists: the mean over seeds with a +-1 std band.

    Seeds of one strategy are cut to the shortest among them, so every point averages the same seeds
    (averaging whichever seeds reached a step would make the mean jump when one stops). The format
    defaults to the suffix of `path` (png when it has none).
    """
    if not curves or not any(curves.values()):
        raise UserError("no best-so-far curves to plot")
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".") or "png"
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for k, (name, seeds) in enumerate(curves.items()):
        seeds = [list(s) for s in seeds if len(s)]
        if not seeds:
            continue
        mean, std = seed_mean_std(seeds)
        steps = np.arange(1, len(mean) + 1)
        color = STRATEGY_COLORS[k % len(STRATEGY_COLORS)]
        ax.plot(steps, mean, color=color, lw=1.8, label=f"{name} ({len(seeds)} seed{'s' * (len(seeds) > 1)})")
        if len(seeds) > 1:
            ax.fill_between(steps, mean - std, mean + std, color=color, alpha=0.2, lw=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # queries are counted: no fractional ticks
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    fig.tight_layout()
    return _save(fig, path.with_suffix("") if path.suffix.lstrip(".") in FORMATS else path, fmt)


@_styled
def plot_history(records: Sequence[dict], path: str | Path, fmt: str = "png", label: str = "search") -> Path:
    """One run's history.jsonl: every reward as a dot and the best so far as a line, against queries."""
    rewards = [float(r["reward"]) for r in records if isinstance(r.get("reward"), (int, float))]
    if not rewards:
        raise UserError("history has no numeric 'reward' values to plot")
    best = np.maximum.accumulate(rewards)
    steps = np.arange(1, len(rewards) + 1)
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    ax.scatter(steps, rewards, s=8, color="#BBBBBB", label="reward of each architecture", zorder=1)
    ax.plot(steps, best, color=STRATEGY_COLORS[0], lw=1.8, label=f"{label}: best so far", zorder=2)
    ax.set_xlabel("architectures evaluated")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # a count: no fractional ticks
    ax.set_ylabel("reward")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, fontsize=8)
    fig.tight_layout()
    return _save(fig, path, fmt)
