"""Resource-aware search: the expected cost of the derived cells as a term of the architecture loss, so that
an operation must gain more accuracy than it costs in time (FBNet, Wu et al. 2019; ProxylessNAS, Cai et
al. 2019: an expected latency under the architecture distribution, from a per-op lookup table):

    L_arch = L_val + lambda * sum over cells and edges e of  sum_o p_e(o) * cost_e(o)  /  sum over cells and edges of max_o cost_e(o)

p_e is the relaxation's expected weights of edge e (the softmax of its alphas in DARTS), so the term is the
fraction of the most expensive cells' cost, in [0, 1]. cost_e(o) is op o's forward + backward time in
milliseconds on this device, as the retrained network runs it (affine BatchNorm), at the shapes of its first
cells: normal-cell edges at stride 1 on (batch, C, H, W); reduction-cell edges from the cell's inputs at
stride 2 on (batch, 2C, H, W), and its edges between nodes at stride 1 on (batch, 2C, H/2, W/2); H x W is the
data's image size and C `--cost_channels` (the retrained network's initial channels), so the table
describes the network that will be trained, not the small search supernet.

The table is measured once at the start of a search, or read from `--op_costs FILE` (the same JSON, to
share one table between machines); it is kept in the run folder (op_costs.json), so that a resumed search
uses the same numbers, and every rank of a distributed search uses rank 0's.

The term only leans the alphas towards cheap ops; `--cost_cap CELL` bounds the derived cells themselves: each
is the strongest cell (largest summed weight of its chosen ops) whose summed op cost under the same table is
at most CELL's cell of the same type, e.g. a hand-designed cell whose training time is what one can afford.
"""
from __future__ import annotations

import json
import logging
import statistics
import time
from pathlib import Path
from typing import Callable, Sequence

import torch

from darts.errors import UserError

log = logging.getLogger("darts")

COST_FILE = "op_costs.json"
ROWS = ("normal", "reduce", "reduce_inner")


def measure_op_costs(primitives: Sequence[str], channels: int, height: int, width: int,
                     device: torch.device | str = "cpu", batch: int = 64, repeats: int = 10, warmup: int = 3,
                     channels_last: bool = False) -> dict[str, dict[str, float]]:
    """{cell type: {op: median milliseconds of one forward + backward in float32}}; 'none' costs 0. The ops
    take turns in each round, so that a slow spell of the machine touches all of them alike. The random
    inputs and op weights come from forked generators: measuring leaves the search's random streams as
    they were, so a measured table and the same numbers given by --op_costs search alike."""
    cuda = torch.device(device).type == "cuda"
    with torch.random.fork_rng(devices=[torch.device(device)] if cuda else []):
        return _measure(primitives, channels, height, width, device, batch, repeats, warmup, channels_last, cuda)


def _measure(primitives, channels, height, width, device, batch, repeats, warmup, channels_last, cuda) -> dict:
    from darts.ops import build_op
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    table: dict[str, dict[str, float]] = {}
    for cell, stride, c, h, w in (("normal", 1, channels, height, width), ("reduce", 2, 2 * channels, height, width),
                                  ("reduce_inner", 1, 2 * channels, height // 2, width // 2)):
        x = torch.randn(batch, c, h, w, device=device).contiguous(memory_format=fmt).requires_grad_(True)
        ops = {name: build_op(name, c, stride, affine=True).to(device, memory_format=fmt).train()
               for name in primitives if name != "none"}
        times: dict[str, list[float]] = {name: [] for name in ops}
        for i in range(warmup + repeats):
            for name, op in ops.items():
                if cuda:
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                op(x).float().sum().backward()
                if cuda:
                    torch.cuda.synchronize()
                if i >= warmup:
                    times[name].append(time.perf_counter() - t0)
        table[cell] = {name: (1000 * statistics.median(times[name]) if name in times else 0.0)
                       for name in primitives}
    return table


def check_op_costs(table, primitives: Sequence[str], source: str) -> dict[str, dict[str, float]]:
    """A cost table for these primitives, or a one-line UserError naming what is wrong."""
    if not isinstance(table, dict) or any(not isinstance(table.get(t), dict) for t in ROWS):
        raise UserError(f"{source}: an op cost table is a JSON object {{\"normal\": {{op: ms}}, \"reduce\": "
                        f"{{op: ms}}, \"reduce_inner\": {{op: ms}}}}")
    for t in ROWS:
        missing = [p for p in primitives if p not in table[t]]
        if missing:
            raise UserError(f"{source}: the {t} costs lack {', '.join(missing)}; give every primitive of the search")
        bad = [p for p in primitives if isinstance(table[t][p], bool) or not isinstance(table[t][p], (int, float))
               or not table[t][p] >= 0 or table[t][p] == float("inf")]
        if bad:
            raise UserError(f"{source}: the {t} costs of {', '.join(bad)} are not finite numbers >= 0")
    if not any(table[t][p] > 0 for t in ROWS for p in primitives):
        raise UserError(f"{source}: every op costs 0, so the cost term would be 0/0; give positive costs")
    return {t: {p: float(table[t][p]) for p in primitives} for t in ROWS}


def read_op_costs(path: str | Path, primitives: Sequence[str], what: str = "--op_costs") -> dict[str, dict[str, float]]:
    source = f"{what} {path}"
    try:
        table = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"{source}: no such file") from None
    except (OSError, ValueError, RecursionError) as e:  # ValueError: bad UTF-8 or JSON
        raise UserError(f"{source}: not a readable JSON file ({type(e).__name__})") from None
    return check_op_costs(table, primitives, source)


def same_on_every_rank(table: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Rank 0's table on every rank (every rank's table has the same rows and ops)."""
    from darts.distributed import broadcast_from_main
    values = torch.tensor([v for row in table.values() for v in row.values()], dtype=torch.float64)
    broadcast_from_main([values])
    flat = iter(values.tolist())
    return {t: {p: next(flat) for p in row} for t, row in table.items()}


def op_cost_table(run, primitives: Sequence[str], given: str | None, measure: Callable[[], dict]) -> dict:
    """The run folder's table when it has one (a resumed search), else `given` (a file), else `measure()`;
    written to the run folder and logged."""
    saved = run.file(COST_FILE) if run.path is not None else None
    if saved is not None and saved.exists():
        table, source = read_op_costs(saved, primitives, "this run's op cost table"), f"{saved} (this run's)"
    elif given:
        table, source = read_op_costs(given, primitives), given
    else:
        table, source = check_op_costs(measure(), primitives, "measured op costs"), "measured on this device"
    table = same_on_every_rank(table)
    run.write_json(COST_FILE, table)
    log.info("op costs in ms (%s): %s", source, "; ".join(
        f"{t}: " + ", ".join(f"{p} {v:.2f}" for p, v in table[t].items()) for t in ROWS))
    return table


def edge_costs(table: dict[str, dict[str, float]], primitives: Sequence[str], steps: int = 4) -> list[torch.Tensor]:
    """[normal, reduce] costs[edge, op] in the alphas' edge order: a reduction cell's edges from its two inputs
    take the stride-2 row, its edges between nodes the inner one."""
    row = {name: torch.tensor([table[name][p] for p in primitives]) for name in ROWS}
    from_inputs = [j < 2 for i in range(steps) for j in range(2 + i)]
    return [torch.stack([row["normal"]] * len(from_inputs)),
            torch.stack([row["reduce"] if first else row["reduce_inner"] for first in from_inputs])]


def cell_cost(genes: Sequence, table: dict[str, dict[str, float]], reduction: bool) -> float:
    """Summed op cost of one cell's genes [(op, input), ...] (inputs 0 and 1 are the cell's inputs)."""
    if not reduction:
        return sum(table["normal"][op] for op, _ in genes)
    return sum(table["reduce" if j < 2 else "reduce_inner"][op] for op, j in genes)


def cost_cap(table: dict[str, dict[str, float]], primitives: Sequence[str], genotype, steps: int = 4,
             name: str = "--cost_cap") -> tuple:
    """((normal costs[edge, op], budget), (reduce costs, budget)) for derive_genotype: each derived cell may
    cost what `genotype`'s cell of its type costs. UserError when even the cheapest cell is dearer."""
    from darts.spaces.darts_cnn.discretize import derive_cell_within
    costs = edge_costs(table, primitives, steps)
    cap = ((costs[0], cell_cost(genotype.normal, table, False)), (costs[1], cell_cost(genotype.reduce, table, True)))
    for (c, budget), kind in zip(cap, ("normal", "reduction")):
        try:
            derive_cell_within(torch.ones_like(c), primitives, steps, c, budget)
        except ValueError as e:
            raise UserError(f"{name}: its {kind} cell costs {budget:.3f} ms and {e.args[0].split('; ')[1]} ms "
                            f"under this op cost table; give a dearer cell") from None
    log.info("cost cap (%s): normal cell at most %.2f ms, reduction cell at most %.2f ms", name, cap[0][1], cap[1][1])
    return cap


class ExpectedCost:
    """alpha_regularizer of the Architect: weight * the cells' expected cost / the most expensive cells'."""

    def __init__(self, weight: float, table: dict[str, dict[str, float]], primitives: Sequence[str],
                 probabilities: Callable[[torch.Tensor], torch.Tensor], steps: int = 4):
        self.weight, self.probabilities = weight, probabilities
        self.costs = edge_costs(table, primitives, steps)
        self.peak = sum(float(c.max(-1).values.sum()) for c in self.costs)

    def expected(self, alphas: Sequence[torch.Tensor]) -> torch.Tensor:
        """The expected cost of the two cells as a fraction of the most expensive pair (alphas[:2]: normal,
        reduce; edge-normalisation betas, when present, are not weighed)."""
        return sum((self.probabilities(a) * c.to(a.device, a.dtype)).sum()
                   for a, c in zip(alphas[:2], self.costs)) / self.peak

    def __call__(self, alphas: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.weight * self.expected(alphas)
