"""darts-search (python train_search.py): search a space with a strategy (defaults: the paper's searches).

    darts-search --dataset digits --epochs 1 --layers 3 --init_channels 4 --save out
    darts-search --unrolled                                  # second order, CIFAR-10 in --data
    darts-search --dataset ptb --data data/ptb               # the recurrent cell (the original rnn/ flags work)
    darts-search --space nb201 --strategy evolution --benchmark nats_bench_tss_200ep.csv --budget 100
    darts-search --resume out                                # continue a killed run exactly
"""
from __future__ import annotations

import logging
import sys
from typing import Sequence

from darts.cli.common import (add_options, add_plugin_flag, check_saved_code, check_saved_types, explicit_flags,
                              new_parser, pre_parse, read_saved_run, read_settings_file)
from darts.errors import UserError
from darts.options import merge_saved
from darts.runs import new_run_name
from darts.settings import (CORE, IMAGE, NOT_SAVED, ORIGINAL_UNUSED, RESUME_MAY_CHANGE, SAMPLING, TABLE, TEXT,
                            resolve_settings)

log = logging.getLogger("darts")


def build_parser(space: str | None = None, strategy: str | None = None):
    """The parser: core flags, each modality's, each registered space's and each strategy's (and its add-ons'),
    in groups. With `space` / `strategy` (for --help) only that space's and that strategy's groups are added."""
    from darts.spaces.registry import get_space, space_names
    from darts.strategies.registry import strategies
    table = strategies()
    spaces = [get_space(space).name] if space else space_names()
    chosen = [strategy] if strategy in table else list(table)
    p = new_parser("train_search.py", __doc__ + _catalogue(table))
    owners: dict[str, list[str]] = {}
    shown = get_space(space).strategy_defaults.get(strategy, {}) if space and strategy else {}
    if strategy in table:  # the strategy's own defaults of shared settings, then the space's for that strategy
        shown = {**dict(table[strategy].setting_defaults), **shown}
    add_options(p, "core", CORE, owners, shown)
    modalities = {get_space(n).modality for n in spaces}
    add_options(p, "images", IMAGE if "image" in modalities else (), owners)
    add_options(p, "text", TEXT if "text" in modalities else (), owners)
    for name in spaces:
        add_options(p, f"space {name}", get_space(name).options, owners,
                    description=get_space(name).description if space else None)
    for name in chosen:
        for i, (title, options) in enumerate(table[name].option_groups):
            add_options(p, title, options, owners, shown,
                        description=table[name].description if strategy and i == 0 else None)
    if any(table[n].kind == "sample" for n in chosen):
        add_options(p, "sample-based strategies", SAMPLING, owners, shown)
    if any(get_space(n).supports("table") for n in spaces):
        add_options(p, "tabular benchmark", TABLE, owners)
    add_plugin_flag(p, owners)
    add_options(p, "original flags", ORIGINAL_UNUSED, owners)
    p.owners = owners
    return p


def _catalogue(table) -> str:
    """The spaces and strategies by name, listed in --help (each one's description and flags: --space NAME
    --strategy NAME --help)."""
    import textwrap
    from darts.spaces.registry import get_space, space_names
    spaces = ", ".join(n + (" (text)" if get_space(n).modality == "text" else "") for n in space_names())
    by_kind: dict[str, list[str]] = {}
    for name, info in table.items():
        by_kind.setdefault(info.kind, []).append(name)
    strategies = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in by_kind.items())
    wrap = lambda text: textwrap.fill(text, 114, subsequent_indent="  ")  # noqa: E731
    return (f"\n{wrap('spaces (--space): ' + spaces)}\n{wrap('strategies (--strategy): ' + strategies)}\n"
            f"--space NAME --strategy NAME --help describes that space and strategy and lists their flags "
            f"(default: darts, darts).\n")


def print_focused_help(argv: Sequence[str]) -> None:
    """--help for the space and strategy named on the command line (default: those of the default run)."""
    from darts.settings import CORE, choose_space
    known = pre_parse(argv, "space", "strategy", "dataset")
    defaults = {o.name: o.default for o in CORE}
    space = choose_space(known.dataset or defaults["dataset"], known.space).name
    build_parser(space, known.strategy or defaults["strategy"]).print_help()


def settings_from_argv(argv: Sequence[str]) -> tuple[object, dict, object]:
    """(space, settings, parser) of a command line, with --resume / --config folded in."""
    from darts.plugins import import_plugins
    import_plugins(pre_parse(argv, "ops_module").ops_module)  # plugins may register spaces and strategies
    if "-h" in argv or "--help" in argv:
        print_focused_help(argv)
        raise SystemExit(0)
    parser = build_parser()
    args = parser.parse_args(argv)
    explicit = explicit_flags(parser, argv)
    given = {k: v for k, v in vars(args).items() if v is not None}
    if args.continue_train and not args.resume:
        if not args.save:
            raise UserError("--continue_train needs --save naming the run folder to continue")
        given["resume"] = args.save
    if given.get("resume"):
        if args.save and args.save != given["resume"]:
            raise UserError(f"--resume {given['resume']} continues that folder; leave out --save {args.save}")
        saved = read_saved_run(parser, given["resume"], "a search (darts-search / train_search.py)",
                               ("strategy", "space"))
        check_saved_code(saved, given.get("ops_module"), f"--resume {given['resume']}")
        given = merge_saved(saved, given, explicit, RESUME_MAY_CHANGE, "--resume")
        given["save"] = given["resume"]
    elif args.config:
        saved = read_settings_file(args.config, "--config")
        unknown = sorted(set(saved) - {action.dest for action in parser._actions})
        if unknown:  # a typo, or another command's args.json: never silently ignored
            raise UserError(f"--config {args.config}: no search setting named {', '.join(unknown[:6])}"
                            f"{' ...' if len(unknown) > 6 else ''}; give an args.json written by a search, or remove them")
        check_saved_types(parser, saved, args.config)
        check_saved_code(saved, given.get("ops_module"), f"--config {args.config}")
        given = merge_saved(saved, given, explicit, None, "--config")
    if args.gpu is not None and given.get("device", "auto") == "auto":
        given["device"] = f"cuda:{args.gpu}"
    space, settings = resolve_settings(given, explicit, parser.owners)
    return space, settings, parser


def summary(space, settings: dict) -> None:
    """The supernet's size (reads no data beyond image headers or the vocabulary) and, for a DARTS search
    of images, the estimated peak memory and time of a search step (darts.memory_estimate)."""
    import torch
    from darts.modalities import load_modality
    from darts.spaces.registry import require
    from darts.summary import count_multiply_adds, count_parameters
    require(space, "build_supernet", "--summary (it prints the supernet's size)")
    shape = load_modality(space.modality, settings, read=False).shape
    model = space.build_supernet(settings, shape)
    n, alphas = count_parameters(model), sum(a.numel() for a in model.alphas())
    size = "vocabulary {:,}".format(shape.ntokens) if shape.ntokens else \
        f"input {shape.in_channels}x{shape.height}x{shape.width}, {shape.num_classes} classes"
    print(f"{space.name} search supernet: "
          + ", ".join(f"{o.name} {settings[o.name]}" for o in space.options if settings.get(o.name) is not None)
          + f"; {settings['dataset']} {size}")
    print(f"param size = {n / 1e6:f}MB ({n:,} weights; {alphas} alphas not counted)")
    if space.modality == "image":
        macs = count_multiply_adds(model, torch.zeros(1, shape.in_channels, shape.height, shape.width))
        print(f"multiply-adds = {macs / 1e6:.1f}M per image")
    if space.modality == "image" and settings["strategy"] == "darts":
        from darts.memory_estimate import order_of, summary_lines
        cuda = settings["device"] != "cpu" and torch.cuda.is_available()
        for line in summary_lines(model, shape.in_channels, shape.height, shape.width, settings["batch_size"],
                                  order_of(settings), settings.get("memory_budget"), cuda):
            print(line)
    elif settings.get("memory_budget") is not None:
        raise UserError("--memory_budget estimates DARTS search steps (--strategy darts) on images")


def main(argv: Sequence[str] | None = None):
    argv = list(sys.argv[1:] if argv is None else argv)
    space, settings, _ = settings_from_argv(argv)
    from darts.experiment import check_combination, prepare_search
    check_combination(space, settings["strategy"], settings)
    if settings.get("memory_budget") is not None and not settings["summary"]:
        raise UserError("--memory_budget goes with --summary (it prints the largest batch that fits)")
    if settings["summary"]:
        return summary(space, settings)
    from darts.cli.run import run_command
    settings["save"] = settings["save"] or new_run_name("search")
    return run_command(settings, NOT_SAVED, lambda device: prepare_search(space, settings, device), _search)


def _search(prepared, run, device):
    from darts.api import _callbacks
    callbacks = _callbacks(None, prepared.settings.get("tensorboard"))
    try:
        outcome = prepared.run(run, callbacks)
    finally:
        for c in callbacks:
            c.close()
    if run.enabled and not prepared.settings["no_plots"]:
        from visualize import render_search_dir
        files = render_search_dir(run.path, epoch_cells=prepared.settings["plot_epoch_cells"])
        log.info("drew %d figures into %s", len(files), run.file("figures"))
    return outcome.genotype


def cli() -> int:
    from darts.runs import run_cli
    return run_cli(main)


if __name__ == "__main__":
    sys.exit(cli())
