"""Pareto dominance, fronts and hypervolume over any number of objectives, each maximized or minimized.

A point is a sequence of objective values; `directions` says, per objective, "maximize" (accuracy) or
"minimize" (a cost). Without directions the first objective is maximized and the others minimized: the
package's convention of (accuracy, cost, ...) points.

The hypervolume is exact in every dimension: the volume dominated by the points and bounded by a reference
point, computed by slicing along the last objective (each slice a hypervolume one dimension down) with an exact
sweep for two objectives. The slicing costs O(n^(d-1) log n), fine for the fronts of a search (hundreds of
points, two or three objectives). Optuna's own routine is private API (optuna._hypervolume), so it serves only
as a cross-check in the tests.
"""
from __future__ import annotations

from typing import Sequence

DIRECTIONS = ("maximize", "minimize")

Point = Sequence[float]


def default_directions(k: int) -> tuple[str, ...]:
    """Accuracy first (maximized), then k - 1 costs (minimized)."""
    return ("maximize",) + ("minimize",) * (k - 1)


def _check_directions(directions: Sequence[str] | None, k: int) -> tuple[str, ...]:
    directions = tuple(directions) if directions is not None else default_directions(k)
    if len(directions) != k:
        raise ValueError(f"{len(directions)} directions for points of {k} objectives")
    for d in directions:
        if d not in DIRECTIONS:
            raise ValueError(f"unknown direction {d!r}; use one of {', '.join(DIRECTIONS)}")
    return directions


def as_minimized(point: Point, directions: Sequence[str]) -> tuple[float, ...]:
    """The point with every maximized objective negated, so that smaller is better everywhere."""
    return tuple(-float(v) if d == "maximize" else float(v) for v, d in zip(point, directions))


def dominates(a: Point, b: Point, directions: Sequence[str] | None = None) -> bool:
    """True when `a` is at least as good as `b` in every objective and better in at least one."""
    directions = _check_directions(directions, len(a))
    ma, mb = as_minimized(a, directions), as_minimized(b, directions)
    return all(x <= y for x, y in zip(ma, mb)) and any(x < y for x, y in zip(ma, mb))


def pareto_front(points: Sequence[Point], directions: Sequence[str] | None = None) -> list[int]:
    """Indices (in input order) of the points no other point dominates; equal points are all kept."""
    if not points:
        return []
    directions = _check_directions(directions, len(points[0]))
    return [i for i, p in enumerate(points)
            if not any(dominates(q, p, directions) for j, q in enumerate(points) if j != i)]


def non_dominated_ranks(points: Sequence[Point], directions: Sequence[str] | None = None) -> list[int]:
    """Per point, its non-domination rank: 0 for the front, 1 for the front of the rest, and so on."""
    ranks, left, rank = [0] * len(points), list(range(len(points))), 0
    while left:
        front = pareto_front([points[i] for i in left], directions)
        for k in front:
            ranks[left[k]] = rank
        chosen = set(front)
        left = [i for k, i in enumerate(left) if k not in chosen]
        rank += 1
    return ranks


def crowding_distances(points: Sequence[Point]) -> list[float]:
    """NSGA-II's crowding distance of each point of one front: the normalized size of the box its neighbours
    span, summed over objectives; the extremes of each objective get infinity (they are always kept)."""
    n = len(points)
    out = [0.0] * n
    if n <= 2:
        return [float("inf")] * n
    for m in range(len(points[0])):
        order = sorted(range(n), key=lambda i: points[i][m])
        lo, hi = points[order[0]][m], points[order[-1]][m]
        out[order[0]] = out[order[-1]] = float("inf")
        if hi == lo:
            continue
        for k in range(1, n - 1):
            out[order[k]] += (points[order[k + 1]][m] - points[order[k - 1]][m]) / (hi - lo)
    return out


def hypervolume(points: Sequence[Point], reference: Point, directions: Sequence[str] | None = None) -> float:
    """The volume of objective space the points dominate, bounded by `reference` (a point every counted
    point beats: worse accuracy, higher cost). Points not strictly better than the reference in every
    objective add nothing."""
    directions = _check_directions(directions, len(reference))
    ref = as_minimized(reference, directions)
    pts = [as_minimized(p, directions) for p in points]
    if any(len(p) != len(ref) for p in pts):
        raise ValueError("every point needs as many objectives as the reference point")
    return _volume([p for p in pts if all(x < r for x, r in zip(p, ref))], ref)


def _volume(pts: list[tuple[float, ...]], ref: tuple[float, ...]) -> float:
    """Minimization hypervolume of points that all beat `ref`."""
    if not pts:
        return 0.0
    if len(ref) == 1:
        return ref[0] - min(p[0] for p in pts)
    if len(ref) == 2:
        return _volume_2d(pts, ref)
    total = 0.0
    levels = sorted({p[-1] for p in pts})
    for k, z in enumerate(levels):  # the slab from z to the next level: every point at or below z counts
        top = levels[k + 1] if k + 1 < len(levels) else ref[-1]
        total += (top - z) * _volume([p[:-1] for p in pts if p[-1] <= z], ref[:-1])
    return total


def _volume_2d(pts: list[tuple[float, ...]], ref: tuple[float, ...]) -> float:
    """Exact 2-D sweep: sorted by the first objective, each point adds the strip below the best second value
    so far."""
    total, best_y = 0.0, ref[1]
    for x, y in sorted(pts):
        if y < best_y:
            total += (ref[0] - x) * (best_y - y)
            best_y = y
    return total
