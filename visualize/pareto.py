"""The front of a multi-objective search: accuracy against one cost, every evaluated point faint, the
non-dominated ones joined by a step line, the chosen points labelled, reference cells marked.

Reads what a search writes (front.json, history.jsonl lines), so it draws a finished run or one in progress.
With several costs the plot is the projection on the first one (the front stays the front of all objectives).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from darts.errors import UserError
from visualize.plots import STRATEGY_COLORS, _save, _styled, plt

MAX_LABELS = 8  # a front longer than this labels only its ends and the chosen point


def _axes_names(summary: dict) -> tuple[str, str]:
    names = [o["name"] for o in summary["objectives"]]
    if len(names) < 2:
        raise UserError("front.json has a single objective: there is no cost to plot accuracy against")
    return names[0], names[1]


def _labelled(front: list[dict], best: dict | None) -> list[tuple[dict, str]]:
    """(point, label) of the front points worth a label: all when few, else the two ends and the chosen."""
    picked = list(enumerate(front, start=1))
    if len(front) > MAX_LABELS:
        picked = [picked[0], picked[-1]]
    chosen = best["step"] if best is not None else None
    out = [(p, f"#{p['step']}") for _, p in picked if p["step"] != chosen]
    if best is not None:
        out.append((best, f"best #{best['step']}"))
    return out


@_styled
def plot_front(summary: dict, records: Sequence[dict], path: str | Path, fmt: str | None = None,
               references: Sequence[tuple[str, Sequence[float]]] = (), title: str | None = None) -> Path:
    """front.json's `summary` (and the history `records`, drawn faint): accuracy (y) against the first cost
    (x). `references` are (label, objective values) of known cells, drawn as crosses."""
    y_name, x_name = _axes_names(summary)
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".") or "png"
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    seen = [r["objectives"] for r in records if isinstance(r.get("objectives"), dict)]
    if seen:
        ax.scatter([o[x_name] for o in seen], [o[y_name] for o in seen], s=7, color="#BBBBBB", alpha=0.6,
                   label=f"evaluated ({len(seen)})", zorder=1)
    front = sorted(summary["front"], key=lambda p: p["objectives"][x_name])
    if front:
        xs, ys = [p["objectives"][x_name] for p in front], [p["objectives"][y_name] for p in front]
        ax.step(xs, ys, where="post", color=STRATEGY_COLORS[0], lw=1.6, zorder=2)
        ax.scatter(xs, ys, s=18, color=STRATEGY_COLORS[0], label=f"front ({len(front)})", zorder=3)
    for point, label in _labelled(front, summary.get("best")):
        ax.annotate(label, (point["objectives"][x_name], point["objectives"][y_name]), fontsize=7,
                    xytext=(3, -9), textcoords="offset points")
    for k, (label, values) in enumerate(references):
        ax.scatter([values[1]], [values[0]], marker="x", s=30, color=STRATEGY_COLORS[1 + k % 7], label=label, zorder=4)
    for c in summary.get("constraints", []):
        if c["objective"] == x_name:
            ax.axvline(c["bound"], color=STRATEGY_COLORS[1], ls="--", lw=1, label=f"{x_name} {'<=' if c['upper'] else '>='} {c['bound']:g}")
    hv = summary.get("hypervolume")
    reference = ", ".join(f"{v:.4g}" for v in summary["reference"]) if summary.get("reference") else ""
    ax.set_title(title or (f"hypervolume {hv:.4g} (reference {reference})" if hv is not None else "front"),
                 fontsize=8)
    ax.set_xlabel(x_name + (" (ms, predicted)" if x_name == "latency" else ""))
    ax.set_ylabel(y_name)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    fig.tight_layout()
    return _save(fig, path, fmt)


def plot_front_file(front_json: str | Path, records: Sequence[dict], path: str | Path, fmt: str = "png",
                    references: Sequence[tuple[str, Sequence[float]]] = ()) -> Path:
    """plot_front from a search's front.json (a damaged file is a one-line error naming it)."""
    try:
        summary = json.loads(Path(front_json).read_text())
        _axes_names(summary)
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{front_json} is not a search's front.json ({e})") from None
    return plot_front(summary, records, path, fmt, references)
