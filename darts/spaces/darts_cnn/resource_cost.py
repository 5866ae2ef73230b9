"""The DARTS cells' cost model (the supernet's `cost_model()`, which the cost add-on darts/addons/cost.py uses).

Resource-aware search: the expected cost of the derived cells as a term of the architecture loss, so that
an operation must gain more accuracy than it costs in time (FBNet, Wu et al. 2019; ProxylessNAS, Cai et
al. 2019: an expected latency under the architecture distribution, from a per-op lookup table):

    L_arch = L_val + lambda * sum over cells and edges e of  sum_o p_e(o) * cost_e(o)  /  sum over cells and edges of max_o cost_e(o)

p_e is the relaxation's expected weights of edge e (the softmax of its alphas in DARTS), so the term is the
fraction of the most expensive cells' cost, in [0, 1]. cost_e(o) is op o's forward + backward time in
milliseconds on this device, as the retrained network runs it (affine BatchNorm), summed over that network's
cells of the edge's type, each at its own shape: the network has `--cost_layers` cells starting from
`--cost_channels` channels at the data's image size, channels doubling and resolution halving at its two
reduction cells (as NetworkCIFAR places them). A normal-cell edge costs its op at stride 1 in every normal
cell; a reduction-cell edge from the cell's inputs its op at stride 2 on the cell's input, an edge between
its nodes its op at stride 1 on the halved output. So the table describes the network that will be trained,
not the small search supernet, and a normal cell's op counts as often as the network repeats it. The table
also holds what a cell pays for reading each of its two inputs ("inputs", input_costs). (The first version
timed the first cell of each type only and no input reads: cells it put at the baseline's cost trained 1.2x
slower in the 5-cell network; benchmarks/cost_prediction.py.)

The table is measured once at the start of a search, or read from `--op_costs FILE` (the same JSON, to
share one table between machines); it is kept in the run folder (op_costs.json), so that a resumed search
uses the same numbers, and every rank of a distributed search uses rank 0's.

`--op_costs` may instead name a latency table (darts.latency, `darts-latency build`): each op is then priced
at the same cell shapes as the table's prediction of an eval-mode forward pass at `--cost_batch`, so the term
and the cap weigh inference latency on the table's machine (latency_op_costs). The run folder keeps the
converted rows, so a resume does not convert again.

The term only leans the alphas towards cheap ops; `--cost_cap CELL` bounds the derived cells themselves: each
is the strongest cell (largest summed weight of its chosen ops) whose cost under the same table (its ops and
the inputs it reads) is at most CELL's cell of the same type, e.g. a hand-designed cell whose training time
is what one can afford. CELL may use ops the search leaves out (a search without pools capped by a cell with
a max pool): the table then prices those too.
"""
from __future__ import annotations

import json
import logging
import math
import statistics
import time
from pathlib import Path
from typing import Callable, Sequence

import torch

from darts.distributed import same_on_every_rank
from darts.errors import UserError
from darts.latency.table import FORMAT as LATENCY_FORMAT, LatencyTable
from darts.spaces.darts_cnn.discretize import cell_edges
from darts.spaces.darts_cnn.network import CIFAR_CHANNELS, CIFAR_LAYERS

log = logging.getLogger("darts")

COST_FILE = "op_costs.json"
CAP_FIT_FILE = "cap_fit.json"  # --cost_cap_by step_time: the budgets' measured factor
ROWS = ("normal", "reduce", "reduce_inner")
NO_INPUT_COSTS = {"normal": [0.0, 0.0], "reduce": [0.0, 0.0]}  # a table without "inputs" (an older format)


def network_cells(layers: int, channels: int, height: int, width: int, stem_multiplier: int = 3,
                  multiplier: int = 4) -> list[dict]:
    """Each cell of the retrained network (NetworkCIFAR): whether it reduces, its channels C, the channels of
    its two inputs, their resolutions (the older input is at twice the resolution after a reduction) and the
    resolution of its output. Reductions are cells layers // 3 and 2 * layers // 3; stride-2 ops (3x3 windows
    with padding 1, factorized reductions) give ceil(H / 2)."""
    cells, c = [], channels
    c_pp = c_p = stem_multiplier * channels
    size_pp = size_p = (height, width)
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        c = 2 * c if reduction else c
        out = ((size_p[0] + 1) // 2, (size_p[1] + 1) // 2) if reduction else size_p
        cells.append({"reduction": reduction, "C": c, "inputs": [(c_pp, *size_pp), (c_p, *size_p)], "size": size_p,
                      "out": out})
        c_pp, c_p, size_pp, size_p = c_p, multiplier * c, size_p, out
    return cells


def cell_shapes(layers: int, channels: int, height: int, width: int) -> list[tuple[str, int, int, int, int]]:
    """(row, stride, channels, height, width) of the ops of every cell of the network, one entry per cell and
    row: a normal cell's edges at stride 1; a reduction cell's edges from its inputs at stride 2 on its input
    resolution, its edges between nodes at stride 1 on its output resolution."""
    shapes = []
    for cell in network_cells(layers, channels, height, width):
        if cell["reduction"]:
            shapes += [("reduce", 2, cell["C"], *cell["size"]), ("reduce_inner", 1, cell["C"], *cell["out"])]
        else:
            shapes.append(("normal", 1, cell["C"], *cell["size"]))
    return shapes


def measure_op_costs(primitives: Sequence[str], channels: int, height: int, width: int,
                     device: torch.device | str = "cpu", batch: int = 64, repeats: int = 10, warmup: int = 3,
                     channels_last: bool = False, layers: int = 20, in_channels: int = 3) -> dict:
    """{row: {op: milliseconds}, "inputs": {"normal": [ms, ms], "reduce": [ms, ms]}}: each op's median forward
    + backward time in float32, summed over the `layers`-cell network's cells of the row's type (cell_shapes;
    a shape that recurs is timed once and counted as often as it recurs); 'none' costs 0. "inputs": what a
    cell pays for using its older / newer input (input_costs). The ops take turns in each round, so that a
    slow spell of the machine touches all of them alike. The random inputs and op weights come from forked
    generators: measuring leaves the search's random streams as they were, so a measured table and the same
    numbers given by --op_costs search alike."""
    cuda = torch.device(device).type == "cuda"
    with torch.random.fork_rng(devices=[torch.device(device)] if cuda else []):
        table: dict = {row: {p: 0.0 for p in primitives} for row in ROWS}
        shapes = cell_shapes(layers, channels, height, width)
        for shape in dict.fromkeys(shapes):  # each distinct shape once, in order
            row, stride, c, h, w = shape
            times = time_ops(primitives, stride, c, h, w, device, batch, repeats, warmup, channels_last, cuda)
            for p, ms in times.items():
                table[row][p] += shapes.count(shape) * ms
        table["inputs"] = input_costs(layers, channels, in_channels, height, width, device, batch, repeats, warmup,
                                      channels_last, cuda)
        return table


def time_ops(primitives, stride: int, c: int, h: int, w: int, device, batch: int, repeats: int, warmup: int,
             channels_last: bool, cuda: bool) -> dict[str, float]:
    """{op: median ms of one forward + backward} of every op but 'none' at one shape."""
    from darts.ops import build_op
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(batch, c, h, w, device=device).contiguous(memory_format=fmt).requires_grad_(True)
    ops = {name: build_op(name, c, stride, affine=True).to(device, memory_format=fmt).train()
           for name in primitives if name != "none"}
    return _median_ms({name: lambda op=op: op(x).float().sum().backward() for name, op in ops.items()},
                      warmup, repeats, cuda)


def input_costs(layers: int, channels: int, in_channels: int, height: int, width: int, device, batch: int,
                repeats: int, warmup: int, channels_last: bool, cuda: bool) -> dict[str, list[float]]:
    """{"normal": [ms, ms], "reduce": [ms, ms]}: what the retrained network's training step pays because its
    normal (reduction) cells read their older / newer input. The network preprocesses both inputs in every
    cell but backpropagates through one only when an edge reads it; a hand-designed cell that never reads
    its older input trains about 1.15x faster than the same cell with one identity edge moved to it (5 cells,
    C=16, 28x28, this CPU), which op times do not show. Timed in the network itself, as differences between
    networks of free cells (identities; max pools on a reduction cell's inputs) that read both inputs, the
    newer only or the older only: isolated preprocessing modules time the reduction cells' at about twice
    what the network pays."""
    from darts.genotype import Genotype

    def cell(first: str, reads: tuple[int, int]) -> list:
        return [(first, reads[0]), (first, reads[1])] + [("skip_connect", j) for j in (2, 2, 3, 3, 4, 4)]
    newer, both, older = (1, 1), (0, 1), (0, 0)
    variants = {"base": (newer, newer), "normal both": (both, newer), "normal older": (older, newer),
                "reduce both": (newer, both), "reduce older": (newer, older)}
    steps = _training_steps({name: Genotype(normal=cell("skip_connect", n), normal_concat=[2, 3, 4, 5],
                                            reduce=cell("max_pool_3x3", r), reduce_concat=[2, 3, 4, 5])
                             for name, (n, r) in variants.items()},
                            layers, channels, in_channels, height, width, device, batch, channels_last)
    ms = _median_ms(steps, warmup, repeats, cuda)
    return {kind: [max(0.0, ms[f"{kind} both"] - ms["base"]), max(0.0, ms[f"{kind} both"] - ms[f"{kind} older"])]
            for kind in ("normal", "reduce")}


def _training_steps(genotypes: dict, layers: int, channels: int, in_channels: int, height: int, width: int,
                    device, batch: int, channels_last: bool) -> dict[str, Callable[[], object]]:
    """{name: one training step (forward, cross-entropy, backward) of the retrained network of that genotype}
    (NetworkCIFAR: `layers` cells from `channels` channels, affine BatchNorm, no auxiliary head) on one
    random batch."""
    from darts.spaces.darts_cnn.network import NetworkCIFAR  # this space's retrained network
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(batch, in_channels, height, width, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (batch,), device=device)
    steps = {}
    for name, genotype in genotypes.items():
        net = NetworkCIFAR(genotype, channels, 10, layers, in_channels=in_channels).to(device, memory_format=fmt)
        steps[name] = lambda net=net: torch.nn.functional.cross_entropy(net.train()(x)[0], y).backward()
    return steps


def network_step_ms(genotypes: dict, layers: int, channels: int, in_channels: int, height: int, width: int,
                    device: torch.device | str = "cpu", batch: int = 64, repeats: int = 8, warmup: int = 2,
                    channels_last: bool = False) -> dict[str, float]:
    """{name: median ms of the retrained network's training step} for each genotype, the networks taking turns
    in each round; random streams forked, as in measure_op_costs."""
    cuda = torch.device(device).type == "cuda"
    with torch.random.fork_rng(devices=[torch.device(device)] if cuda else []):
        steps = _training_steps(genotypes, layers, channels, in_channels, height, width, device, batch,
                                channels_last)
        return _median_ms(steps, warmup, repeats, cuda)


def scaled_cap(cap: tuple, scale: float) -> tuple:
    """`cap` (cost_cap's) with both cells' budgets times `scale`."""
    return tuple((costs, budget * scale, inputs) for costs, budget, inputs in cap)


def fit_cap_to_step_time(cap: tuple, derive: Callable[[tuple], object], step_ms: Callable[[dict], dict],
                         cap_cell, rounds: int = 6, low: float = 0.5, high: float = 2.0) -> tuple[float | None, list]:
    """(scale, trials): the largest factor of the cap's budgets, found by bisection on a log scale between
    `low` and `high` (first try: their geometric mean), whose derived cells (`derive(scaled cap)`) make the
    retrained network step no slower than `cap_cell`'s, both measured side by side (`step_ms({"cap": cell,
    "derived": cell})`, ms). None when no tried factor fits. Why: summed op costs misprice cells unlike the
    cap's (cells that read one input train ~0.7x as long as the sum predicts, benchmarks/cost_prediction.py),
    so a cap by summed costs leaves part of the budget unspent or overspends it. A cell measured once is not
    measured again; a budget below the cheapest cell (ValueError from derive) counts as too small."""
    lo, hi = math.log(low), math.log(high)
    best, trials, measured = None, [], {}
    for _ in range(rounds):
        mid = (lo + hi) / 2
        scale = math.exp(mid)
        try:
            genotype = derive(scaled_cap(cap, scale))
        except ValueError:
            lo = mid
            continue
        key = str(genotype)
        if key not in measured:
            measured[key] = step_ms({"cap": cap_cell, "derived": genotype})
        ms = measured[key]
        fits = ms["derived"] <= ms["cap"]
        trials.append({"scale": scale, "genotype": key, "step_ms": ms["derived"], "cap_step_ms": ms["cap"],
                       "fits": fits})
        if fits:  # a later try lies above every earlier fit (lo only rises), so the last fit is the largest
            best, lo = scale, mid
        else:
            hi = mid
    return best, trials


def _median_ms(fns: dict[str, Callable[[], object]], warmup: int, repeats: int, cuda: bool) -> dict[str, float]:
    """{name: median ms of fn()} over `repeats` rounds after `warmup`; the functions take turns in each round,
    so that a slow spell of the machine touches all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(warmup + repeats):
        for name, fn in fns.items():
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            fn()
            if cuda:
                torch.cuda.synchronize()
            if i >= warmup:
                times[name].append(time.perf_counter() - t0)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def check_op_costs(table, primitives: Sequence[str], source: str) -> dict[str, dict[str, float]]:
    """A cost table for these primitives, or a one-line UserError naming what is wrong."""
    if not isinstance(table, dict) or any(not isinstance(table.get(t), dict) for t in ROWS):
        raise UserError(f"{source}: an op cost table is a JSON object {{\"normal\": {{op: ms}}, \"reduce\": "
                        f"{{op: ms}}, \"reduce_inner\": {{op: ms}}}}")
    for t in ROWS:
        missing = [p for p in primitives if p not in table[t]]
        if missing:
            raise UserError(f"{source}: the {t} costs lack {', '.join(missing)}; give every op of the search "
                            f"(and of the --cost_cap cell)")
        bad = [p for p in primitives if isinstance(table[t][p], bool) or not isinstance(table[t][p], (int, float))
               or not table[t][p] >= 0 or table[t][p] == float("inf")]
        if bad:
            raise UserError(f"{source}: the {t} costs of {', '.join(bad)} are not finite numbers >= 0")
    if not any(table[t][p] > 0 for t in ROWS for p in primitives):
        raise UserError(f"{source}: every op costs 0, so the cost term would be 0/0; give positive costs")
    inputs = table.get("inputs", NO_INPUT_COSTS)
    if not (isinstance(inputs, dict) and all(
            isinstance(inputs.get(kind), list) and len(inputs[kind]) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < float("inf") for v in inputs[kind])
            for kind in NO_INPUT_COSTS)):
        raise UserError(f"{source}: \"inputs\" (optional) is {{\"normal\": [ms, ms], \"reduce\": [ms, ms]}}, what a "
                        f"cell pays for using its older / newer input, finite numbers >= 0")
    return {**{t: {p: float(table[t][p]) for p in primitives} for t in ROWS},
            "inputs": {kind: [float(v) for v in inputs[kind]] for kind in NO_INPUT_COSTS}}


def read_op_costs(path: str | Path, primitives: Sequence[str], what: str = "--op_costs") -> dict[str, dict[str, float]]:
    source = f"{what} {path}"
    try:
        table = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"{source}: no such file") from None
    except (OSError, ValueError, RecursionError) as e:  # ValueError: bad UTF-8 or JSON
        raise UserError(f"{source}: not a readable JSON file ({type(e).__name__})") from None
    return check_op_costs(table, primitives, source)


def is_latency_table(path: str | Path) -> bool:
    """Whether `path` holds a darts.latency table (its "format" marker) rather than op cost rows."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError, RecursionError):
        return False  # read_op_costs says what is wrong with it
    return isinstance(data, dict) and data.get("format") == LATENCY_FORMAT


def latency_op_costs(table: LatencyTable, primitives: Sequence[str], channels: int, layers: int, in_channels: int,
                     height: int, width: int, batch: int = 1, source: str = "--op_costs") -> dict:
    """{row: {op: ms}, "inputs": zeros}: the latency table's prediction of each op (built as the retrained
    network builds it, affine BatchNorm) for an eval-mode forward pass at `batch`, summed over the `layers`-cell
    network's cells of the row's type, each at its own shape (cell_shapes, as measure_op_costs); 'none' costs 0.
    Reading a cell input costs 0: at inference the network preprocesses both inputs of every cell whatever the
    cell reads (that cost, like the cells' additions, is the same for every architecture). An op the table lacks
    is a one-line UserError naming it and the darts-latency build command whose table has it."""
    from darts.ops import build_op
    costs: dict = {row: {p: 0.0 for p in primitives} for row in ROWS}
    shapes = cell_shapes(layers, channels, height, width)
    for shape in dict.fromkeys(shapes):  # each distinct shape once, counted as often as it recurs
        row, stride, c, h, w = shape
        for p in primitives:
            if p == "none":
                continue
            try:
                ms = table.predict(build_op(p, c, stride, affine=True), (c, h, w), batch)
            except UserError:
                command = _build_command(table, channels, layers, in_channels, height, width, batch)
                raise UserError(f"{source}: the latency table has no entry for {p} at stride {stride} on "
                                f"{c}x{h}x{w} (batch {batch}) in the network of {layers} cells from {channels} "
                                f"channels; build one that has it on its machine: {command}") from None
            costs[row][p] += shapes.count(shape) * ms
    costs["inputs"] = {kind: [0.0, 0.0] for kind in NO_INPUT_COSTS}
    return check_op_costs(costs, primitives, source)


def _build_command(table: LatencyTable, channels: int, layers: int, in_channels: int, height: int,
                   width: int, batch: int) -> str:
    """The darts-latency build command whose table prices this network's ops (its dataset by input shape)."""
    from darts.data.images import INPUT_SHAPES
    dataset = next((name for name, shape in INPUT_SHAPES.items() if shape[:3] == (in_channels, height, width)),
                   f"DATASET (of {in_channels}x{height}x{width} images)")
    return (f"darts-latency build --space darts --dataset {dataset} --init_channels {channels} --layers {layers} "
            f"--batch {batch} --device {table.spec} --out FILE")


def op_cost_table(run, primitives: Sequence[str], given: str | None, measure: Callable[[], dict],
                  read: Callable[[str, Sequence[str]], dict] | None = None) -> dict:
    """The run folder's table when it has one (a resumed search), else `given` (a file, read by `read`:
    default read_op_costs), else `measure()`; written to the run folder and logged."""
    saved = run.file(COST_FILE) if run.path is not None else None
    if saved is not None and saved.exists():
        table, source = read_op_costs(saved, primitives, "this run's op cost table"), f"{saved} (this run's)"
    elif given:
        table, source = (read or read_op_costs)(given, primitives), given
    else:
        table, source = check_op_costs(measure(), primitives, "measured op costs"), "measured on this device"
    table = same_on_every_rank(table)
    run.write_json(COST_FILE, table)
    log.info("op costs in ms (%s): %s; using the older / newer input: normal %.2f / %.2f, reduce %.2f / %.2f",
             source, "; ".join(f"{t}: " + ", ".join(f"{p} {v:.2f}" for p, v in table[t].items()) for t in ROWS),
             *table["inputs"]["normal"], *table["inputs"]["reduce"])
    return table


def edge_costs(table: dict[str, dict[str, float]], primitives: Sequence[str], steps: int = 4,
               chain: bool = False) -> list[torch.Tensor]:
    """[normal, reduce] costs[edge, op] in the alphas' edge order (a DARTS cell's, or a chain's): a reduction
    cell's edges from its two inputs take the stride-2 row, its edges between nodes the inner one."""
    row = {name: torch.tensor([table[name][p] for p in primitives]) for name in ROWS}
    from_inputs = [j < 2 for _, j in cell_edges(steps, chain)]
    return [torch.stack([row["normal"]] * len(from_inputs)),
            torch.stack([row["reduce"] if first else row["reduce_inner"] for first in from_inputs])]


def cell_cost(genes: Sequence, table: dict[str, dict[str, float]], reduction: bool) -> float:
    """Summed cost of one cell's genes [(op, input), ...] (inputs 0 and 1 are the cell's inputs): its ops, and
    the backward pass through the preprocessing of each cell input an edge uses."""
    inputs = table.get("inputs", NO_INPUT_COSTS)["reduce" if reduction else "normal"]
    used = sum(inputs[k] for k in {j for _, j in genes if j < 2})
    if not reduction:
        return used + sum(table["normal"][op] for op, _ in genes)
    return used + sum(table["reduce" if j < 2 else "reduce_inner"][op] for op, j in genes)


def cost_cap(table: dict[str, dict[str, float]], primitives: Sequence[str], genotype, steps: int = 4,
             name: str = "--cost_cap", node_rule: str = "distinct_inputs", raise_to_cheapest: bool = False) -> tuple:
    """((normal costs[edge, op], budget, input costs), (reduce ...)), a Derivation's cost_cap: each derived cell
    may cost what `genotype`'s cell of its type costs (cells whose nodes pick inputs by `node_rule`). UserError
    when even the cheapest cell is dearer, unless `raise_to_cheapest` (--cost_cap_by step_time, whose fit
    rescales the budgets by measured time): that budget then becomes the cheapest cell's cost."""
    from darts.spaces.common.cell_discretize import derive_cell_within
    costs = edge_costs(table, primitives, steps)
    inputs = table.get("inputs", NO_INPUT_COSTS)
    cap = [(costs[0], cell_cost(genotype.normal, table, False), inputs["normal"]),
           (costs[1], cell_cost(genotype.reduce, table, True), inputs["reduce"])]
    for k, ((c, budget, inputs), kind) in enumerate(zip(cap, ("normal", "reduction"))):
        try:
            derive_cell_within(torch.ones_like(c), primitives, steps, c, budget, input_costs=inputs,
                               rule=node_rule)
        except ValueError as e:
            if not raise_to_cheapest:
                raise UserError(f"{name}: its {kind} cell costs {budget:.3f} ms and the cheapest costs "
                                f"{e.args[1]:.3f} ms under this op cost table; give a dearer cell") from None
            log.info("cost cap (%s): its %s cell costs %.2f ms, less than any cell of this space (%.2f ms); the "
                     "budget starts at the cheapest and the step-time fit scales it", name, kind, budget, e.args[1])
            cap[k] = (c, e.args[1], inputs)
    log.info("cost cap (%s): normal cell at most %.2f ms, reduction cell at most %.2f ms", name, cap[0][1], cap[1][1])
    return tuple(cap)


class ExpectedCost:
    """alpha_regularizer of the Architect: weight * the cells' expected cost / the most expensive cells'."""

    def __init__(self, weight: float, table: dict[str, dict[str, float]], primitives: Sequence[str],
                 probabilities: Callable[[torch.Tensor], torch.Tensor], steps: int = 4, chain: bool = False):
        self.weight, self.probabilities = weight, probabilities
        self.costs = edge_costs(table, primitives, steps, chain)
        self.peak = sum(float(c.max(-1).values.sum()) for c in self.costs)

    def expected(self, alphas: Sequence[torch.Tensor]) -> torch.Tensor:
        """The expected cost of the two cells as a fraction of the most expensive pair (alphas[:2]: normal,
        reduce; edge-normalisation betas, when present, are not weighed)."""
        return sum((self.probabilities(a) * c.to(a.device, a.dtype)).sum()
                   for a, c in zip(alphas[:2], self.costs)) / self.peak

    def __call__(self, alphas: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.weight * self.expected(alphas)


class DartsCellCosts:
    """What the cost add-on asks of a supernet of DARTS cells: its op cost table (measured at the shapes of the
    retrained network, by default the space's own: 20 cells of 36 channels), the expected-cost term, the cost
    cap on derived cells and the retrained network's step time. The functions above do the work."""

    fit_file = CAP_FIT_FILE

    def __init__(self, primitives: Sequence[str], steps: int, chain: bool = False):
        self.primitives, self.steps, self.chain = list(primitives), steps, chain
        self.channels, self.layers = CIFAR_CHANNELS, CIFAR_LAYERS

    def read(self, path: str, priced: Sequence[str], batch: int | None = None) -> dict | LatencyTable:
        """`path` read and checked before the search: op cost rows, or a latency table (converted by `table`,
        at the data's shapes); `batch` (--cost_batch) only goes with a latency table."""
        if is_latency_table(path):
            return LatencyTable.load(path)
        if batch is not None:
            raise UserError(f"--cost_batch {batch} is the batch of a latency table's predictions; --op_costs {path} "
                            f"holds op costs in ms: leave --cost_batch out, or give a table of darts-latency build")
        return read_op_costs(path, priced)

    def table(self, run, priced: Sequence[str], given: str | None, shape, device, channels: int | None = None,
              layers: int | None = None, channels_last: bool = False, batch: int | None = None) -> dict:
        """The run's table (op_cost_table): measured, or converted from a latency table at `batch` (default 1),
        at `layers` cells of `channels` (default: the space's)."""
        channels, layers = channels or self.channels, layers or self.layers

        def read(path: str, ops: Sequence[str]) -> dict:
            if not is_latency_table(path):
                return read_op_costs(path, ops)
            latency = LatencyTable.load(path)
            log.info("op costs: inference latency at batch %d on %s, predicted by the latency table %s",
                     batch or 1, latency.machine_line(), path)
            return latency_op_costs(latency, ops, channels, layers, shape.in_channels, shape.height, shape.width,
                                    batch or 1, f"--op_costs {path}")
        return op_cost_table(run, priced, given, lambda: measure_op_costs(
            priced, channels, shape.height, shape.width, device, channels_last=channels_last, layers=layers,
            in_channels=shape.in_channels), read)

    def cap(self, table: dict, cell, name: str, node_rule: str, raise_to_cheapest: bool = False) -> tuple:
        return cost_cap(table, self.primitives, cell, self.steps, name, node_rule=node_rule,
                        raise_to_cheapest=raise_to_cheapest)

    def expected_cost(self, weight: float, table: dict, probabilities) -> ExpectedCost:
        return ExpectedCost(weight, table, self.primitives, probabilities, self.steps, self.chain)

    def step_ms(self, genotypes: dict, shape, device, channels: int | None = None, layers: int | None = None,
                channels_last: bool = False) -> dict[str, float]:
        return network_step_ms(genotypes, layers or self.layers, channels or self.channels, shape.in_channels,
                               shape.height, shape.width, device, channels_last=channels_last)

    def fit_to_step_time(self, cap: tuple, derive: Callable, step_ms: Callable, cap_cell) -> tuple:
        return fit_cap_to_step_time(cap, derive, step_ms, cap_cell)

    def scaled(self, cap: tuple, scale: float) -> tuple:
        return scaled_cap(cap, scale)

