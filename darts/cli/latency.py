"""darts-latency: a latency lookup table of a space's final networks, built on the device they will run on and
used anywhere to predict a network's latency without timing it (darts.latency; docs/latency.md).

    darts-latency build --space nb201 --batch 1 --batch 64 --device cpu:1 --cells 20 --out table.json
    darts-latency predict --table table.json --space nb201 --arch '|nor_conv_3x3~0|+|...|' --batch 1

build times every operation of the final networks of --cells random cells, plus one cell per operation index
(every decision set to it: each operation of the space at every stage's shape), at each --batch, one at a time on
--device. predict sums the table's entries for one cell's network and, with --measure, times the network here.
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from darts.cli.common import new_parser
from darts.errors import UserError
from darts.plugins import import_plugins
from darts.runs import run_cli


def build_parser():
    p = new_parser("darts-latency", __doc__)
    g = p.add_argument_group("what to do")
    g.add_argument("-h", "--help", action="help", help="show this help and exit")
    g.add_argument("action", choices=("build", "predict"), help="build a table, or predict with one")
    g.add_argument("--space", default="nb201", help="the search space whose final networks are timed (default: nb201)")
    g.add_argument("--dataset", default="cifar10", help="the input shape and classes (default: cifar10, 3x32x32)")
    g.add_argument("--batch", type=int, action="append", metavar="N",
                   help="batch size (repeatable; default: 1)")
    g.add_argument("--init_channels", type=int, metavar="N", help="network width (default: the space's final size)")
    g.add_argument("--layers", type=int, metavar="N", help="network depth (default: the space's final size)")
    b = p.add_argument_group("build")
    b.add_argument("--device", default="cpu:1", help='"cpu", "cpu:N" (N threads), "cuda" or "cuda:K" (default: cpu:1)')
    b.add_argument("--cells", type=int, default=20, metavar="N",
                   help="random cells besides the covering ones (default: 20)")
    b.add_argument("--repeats", type=int, default=20, metavar="R", help="timed repeats of each operation (default: 20)")
    b.add_argument("--warmup", type=int, default=3, metavar="N", help="untimed calls first (default: 3)")
    b.add_argument("--calibrate", type=int, default=5, metavar="K",
                   help="time K of the random cells whole at each batch to file the overhead per operation the "
                        "sum of operations leaves out (0: none; default: 5)")
    b.add_argument("--seed", type=int, default=0, help="seed of the random cells (default: 0)")
    b.add_argument("--out", metavar="FILE", help="the table's JSON file (build)")
    q = p.add_argument_group("predict")
    q.add_argument("--table", metavar="FILE", help="a table written by build")
    q.add_argument("--arch", help="the cell: its space's text (an NB201 string), a cells/ name, Genotype(...) text, "
                                  "a genotype.json path or its JSON")
    q.add_argument("--measure", action="store_true", help="also time the whole network here (the table's device)")
    q.add_argument("--measure_missing", action="store_true",
                   help="time here the operations the table lacks (only on the table's machine)")
    p.add_argument_group("your own code").add_argument(
        "--ops_module", action="append", default=None, metavar="FILE",
        help="a .py file or module that registers your space or operations (repeatable)")
    return p


def _space_and_shape(args):
    from darts.data.images import image_input_shape
    from darts.spaces.registry import DataShape, get_space, require
    space = get_space(args.space)
    if space.modality != "image":
        raise UserError(f"darts-latency times image networks; --space {space.name} is a {space.modality} space")
    require(space, "build_network", "darts-latency")
    c, h, w, classes = image_input_shape(args.dataset)
    sizes = {k: getattr(args, k) for k in ("init_channels", "layers") if getattr(args, k) is not None}
    own = {o.name for o in space.options}
    unknown = [f"--{k}" for k in sizes if k not in own]
    if unknown:
        raise UserError(f"{' '.join(unknown)} does not apply to --space {space.name}")
    for k, v in sizes.items():
        if v < 1:
            raise UserError(f"--{k} {v}: give a whole number >= 1")
    return space, DataShape(c, h, w, classes), sizes


def _check_common(args) -> list[int]:
    batches = args.batch or [1]
    if any(b < 1 for b in batches):
        raise UserError(f"--batch {min(batches)}: give whole numbers >= 1")
    return list(dict.fromkeys(batches))


def covering_and_random_cells(space, opts: dict, n: int, seed: int) -> list:
    """One cell per operation index (every decision set to it, modulo its choices: each operation of the space,
    also on the inputs deeper in the cell) and `n` random cells."""
    from darts.spaces.registry import require
    require(space, "arch_space", "darts-latency build")
    arch_space = space.arch_space(opts)
    sizes = arch_space.decisions()
    cells = []
    for v in range(max(sizes, default=0)):
        try:
            cells.append(arch_space.from_decisions([v % s for s in sizes]))
        except (UserError, ValueError):
            pass  # a decision vector the space refuses: the random cells cover it
    rng = random.Random(seed)
    return cells + [arch_space.sample_random(rng) for _ in range(n)]


def build(args) -> None:
    from darts.latency import LatencyTable, parse_device
    from darts.proxies.score import network_of
    batches = _check_common(args)
    spec = parse_device(args.device)
    space, shape, sizes = _space_and_shape(args)
    if not args.out:
        raise UserError("darts-latency build needs --out FILE (the table's JSON)")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UserError(f"--out {out}: folder {out.parent} does not exist")
    if args.cells < 0 or args.repeats < 1 or args.warmup < 0 or args.calibrate < 0:
        raise UserError("give --cells >= 0, --repeats >= 1, --warmup >= 0 and --calibrate >= 0")
    cells = covering_and_random_cells(space, space.resolve(sizes), args.cells, args.seed)
    networks = [network_of(g, shape, seed=args.seed, space_options=sizes) for g in cells]
    input_shape = (shape.in_channels, shape.height, shape.width)
    table = LatencyTable.build(networks, input_shape, batches, spec, repeats=args.repeats, warmup=args.warmup,
                               calibrate=min(args.calibrate, args.cells))
    table.save(out)
    overhead = ", ".join(f"batch {b}: {ms * 1e3:.1f} us" for b, ms in sorted(table.overhead.items()))
    print(f"timed {len(table.entries)} operations of {len(cells)} {space.name} cells at batch "
          f"{', '.join(map(str, batches))} on {table.machine_line()}"
          + (f"; overhead per operation {overhead}" if overhead else "") + f"; wrote {out}")


def read_arch(text: str, space):
    """A genotype of `space` from --arch."""
    from darts.spaces.genotype_io import load_genotype
    from darts.spaces.registry import genotype_from_record
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            return genotype_from_record(json.loads(stripped), space=space.name)
        except ValueError as e:
            raise UserError(f"--arch is not valid JSON: {e}") from None
    try:
        return load_genotype(stripped)
    except UserError:
        return genotype_from_record({"arch": stripped}, space=space.name)


def predict(args) -> None:
    from darts.latency import LatencyTable, measure_latency, network_costs
    from darts.latency.measure import machine_description, machine_line
    from darts.proxies.score import network_of
    batches = _check_common(args)
    if not args.table or not args.arch:
        raise UserError("darts-latency predict needs --table FILE and --arch CELL")
    space, shape, sizes = _space_and_shape(args)
    table = LatencyTable.load(args.table)
    network = network_of(read_arch(args.arch, space), shape, space_options=sizes)
    input_shape = (shape.in_channels, shape.height, shape.width)
    costs = network_costs(network, input_shape)
    print(f"{costs['parameters']} parameters, {costs['multiply_adds'] / 1e6:.1f}M multiply-adds per image")
    print(f"table: {table.machine_line()}")
    for batch in batches:
        ms = table.predict(network, input_shape, batch, measure_missing=args.measure_missing)
        line = f"batch {batch}: predicted {ms:.3f} ms"
        if args.measure:
            got = measure_latency(network, input_shape, batch, table.spec, repeats=table.repeats,
                                  warmup=table.warmup)
            line += f", measured {got['median_ms']:.3f} ms here ({machine_line(machine_description(table.spec))})"
        print(line)


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    import_plugins(args.ops_module)
    (build if args.action == "build" else predict)(args)


def cli() -> int:
    return run_cli(main)


if __name__ == "__main__":
    sys.exit(cli())
