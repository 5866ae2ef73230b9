"""The settings of a search, declared once: core settings, each modality's, the sample-based strategies'
(spaces and strategies declare their own in their registries). `resolve_settings` turns the values given
(by flags or keyword arguments) into every setting that applies to one run, defaults filled and checked;
the command line and the library API both call it.
"""
from __future__ import annotations

from darts.errors import UserError
from darts.options import (DEVICE, GPU, NO_PROGRESS, ORIGINAL_RUN_FLAGS, RESUME, Option, check_applicable, check_known,
                           resolve_options, save_option)

# The search's settings that a resumed run may change (they do not alter the computation); the retraining's
# and the language model's lists sit beside their options (darts.train_options, darts.lm_options).
RESUME_MAY_CHANGE = {"tensorboard", "resume", "device", "gpu", "report_freq", "save", "no_progress", "no_plots", "cache",
                     "plot_epoch_cells", "threads", "continue_train", "ops_module", "memory_saving",
                     "workers"}  # workers: how many processes evaluate trials (darts.trials)
NOT_SAVED = {"resume", "continue_train", "config", "summary", "overwrite", "memory_budget"}

# Reader defaults of your own images (--dataset folder / npz), written once: the flags show them in --help
# and darts.modalities applies them (the flags stay None when not typed, so that they can be refused with
# a dataset they do not apply to).
IMAGE_SIZE = 32
TEST_FRACTION = 0.2
# Low-fidelity rewards train each sampled network with SGD at DARTS's weight learning rate of the modality.
FIDELITY_LEARNING_RATE = {"image": 0.025, "text": 20.0}

CORE = (
    Option("dataset", "cifar10", "cifar10, digits, ..., folder / npz (your images), ptb, wikitext2 (text)",
           metavar="NAME"),
    Option("data", None, "dataset folder or file (default: ./data; Debian's for fashion-mnist)", type=str,
           metavar="PATH"),
    Option("space", None, "search space (default: the first one of the dataset's modality)", type=str,
           metavar="NAME"),
    Option("strategy", "darts", "how the space is searched", type=str, metavar="NAME"),
    save_option("search"),
    RESUME,
    Option("overwrite", False, "replace the run files of an existing --save folder", flag=True),
    Option("config", None, "start from the settings of a saved args.json (flags typed now win)", type=str,
           metavar="FILE"),
    Option("seed", 2, "random seed", minimum=0, maximum=2 ** 32 - 1),
    DEVICE,
    Option("threads", "auto", "CPU threads: auto (1 for tiny networks, else the idle cores) or N", type=str),
    Option("tensorboard", None, "also write TensorBoard event files here (pip install tensorboard)",
           type=str, metavar="DIR"),
    Option("batch_size", 64, "batch size", minimum=1),
    Option("epochs", 50, "epochs", minimum=1),
    Option("report_freq", 50, "log every N batches", aliases=("--log-interval",), minimum=1),
    Option("max_batches", None, "smoke runs: cap on every loop's steps (batches, controller steps, trials' batches)",
           type=int, minimum=1),
    Option("summary", False, "print the supernet's size and exit (reads no data)", flag=True),
    Option("memory_budget", None, "with --summary: also the largest batch that fits in X GB (CPU estimate)",
           type=float, above=0.0),
    NO_PROGRESS,
    Option("no_plots", False, "skip the figures drawn into SAVE/figures at the end", flag=True),
    Option("plot_epoch_cells", False, "also draw the cells of every epoch's genotype", flag=True),
    GPU,
)
# Reader options of your own images (--dataset folder / npz); the retraining command takes them too.
OWN_DATA = (
    Option("image_size", None, f"(folder) images are resized to N x N (default: {IMAGE_SIZE})", type=int,
           minimum=1),
    Option("cache", None, "(folder) cache of decoded images (default: ~/.cache/darts; none: no cache)",
           type=str, metavar="DIR"),
    Option("strict", False, "(folder) stop at an unreadable image instead of skipping it", flag=True),
    Option("test_fraction", None, f"held out for testing when the data has no test split (default: "
                                  f"{TEST_FRACTION})", type=float, above=0.0, below=1.0),
)
IMAGE = (
    Option("train_portion", 0.5, "share of the training split for the weights (the rest: the alphas)",
           above=0.0, below=1.0),
    Option("cutout", False, "use cutout", flag=True),
    Option("cutout_length", 16, "side of the cutout square", minimum=1),
) + OWN_DATA + (
    Option("no_amp", False, "on CUDA, no bfloat16 autocast", flag=True),
    Option("no_channels_last", False, "NCHW instead of channels_last (the default on CPU and CUDA)", flag=True),
)
TEXT = (
    Option("bptt", 35, "window length of truncated backpropagation through time", minimum=2),
    Option("alpha", 0.0, "activation regularisation (AR) weight", minimum=0.0),
    Option("beta", 1e-3, "temporal activation regularisation (TAR) weight", minimum=0.0),
)
TABLE = (
    Option("benchmark", None, "a tabular benchmark of the space (e.g. NAS-Bench-201's CSV): instant rewards for "
                              "sample-based strategies, and the table figures of DARTS / ENAS cells", type=str,
           metavar="FILE"),
    Option("reward", None, "with --benchmark: the reward column (default: the validation column the benchmark's "
                           "authors search on, e.g. valid12; a test column only under its -leaks-test name)",
           type=str, metavar="COLUMN"),
)
SAMPLING = (
    Option("budget", 100, "architectures a sample-based strategy evaluates", minimum=1),
    Option("evaluator", "training", "without --benchmark: reward each sampled network by brief training, or by a "
                                    "zero-cost proxy of the untrained network (docs/proxies.md)",
           choices=("training", "proxy", "supernet")),  # supernet: weight-sharing evaluation (docs/weight_sharing.md)
    Option("supernet", None, "with --evaluator supernet: the DARTS or ENAS search folder whose supernet scores each "
                             "sampled path", type=str),
    Option("supernet_bn_batches", 10, "with --evaluator supernet: training batches that recompute BatchNorm "
                                      "statistics per path", minimum=0),
    Option("proxy", "naswot", "with --evaluator proxy: which proxy (naswot, synflow, snip, ..., params, flops)",
           type=str),
    Option("fidelity_epochs", 1, "without --benchmark: epochs each sampled network trains from scratch", minimum=1),
    Option("fidelity_learning_rate", None, "without --benchmark: learning rate of that training (default: "
           + ", ".join(f"{v:g} {k}" for k, v in FIDELITY_LEARNING_RATE.items()) + ")", type=float, above=0.0),
    # proxy-guided search (darts/strategies/proxy_guided.py): a zero-cost proxy picks what is evaluated
    Option("proxy_screen", None, "score random architectures by this zero-cost proxy and evaluate the best first "
                                 "(naswot, synflow, ...; docs/proxies.md)", type=str),
    Option("screen_candidates", 100, "with --proxy_screen: random architectures scored", minimum=1),
    Option("screen_top", 10, "with --proxy_screen: the best-scored of them, evaluated first", minimum=0),
    Option("proxy_filter", 1, "with --proxy_screen: each later proposal is the best-scored of this many of the "
                              "strategy's (1: off)", minimum=1),
    # trials in parallel (darts.trials, docs/scale.md)
    Option("workers", 1, "evaluate this many trials at once, each in its own worker process on this machine; other "
                         "processes may join (python -m darts.trials.join)", minimum=1),
    Option("storage", None, "the trial store: a journal file, or a sqlite:///, postgresql:// or mysql:// URL "
                            "(default with --workers > 1: trials.journal in the run folder)", type=str, metavar="URL"),
    Option("study", None, "the search's name in --storage (default: the run folder's name)", type=str,
           metavar="NAME"),
    Option("executor", "processes", "where the --workers run: processes on this machine, or tasks of a Dask cluster",
           choices=("processes", "dask")),
    Option("scheduler", None, "with --executor dask: the Dask scheduler's address (tcp://host:8786)", type=str,
           metavar="ADDRESS"),
)
ORIGINAL_UNUSED = tuple(Option(n, None, "(original flag, unused)", type=t) for n, t in (
    ("model_path", str), ("drop_path_prob", float), ("max_seq_len_delta", int), ("nonmono", int),
    ("small_batch_size", int))) + ORIGINAL_RUN_FLAGS


def text_datasets() -> tuple[str, ...]:
    from darts.data.text import KNOWN_VOCAB_SIZES
    return tuple(KNOWN_VOCAB_SIZES)


def choose_space(dataset: str, given: str | None):
    from darts.spaces.registry import get_space, space_names
    modality = "text" if dataset in text_datasets() else "image"
    space = get_space(given) if given else get_space(space_names(modality=modality)[0])
    if space.modality != modality:
        raise UserError(f"--space {space.name} searches {space.modality} data; --dataset {dataset} is {modality} "
                        f"(spaces for it: {', '.join(space_names(modality=modality))})")
    return space


def resolve_settings(given: dict, explicit: set | None = None, owners: dict | None = None) -> tuple[object, dict]:
    """(space, settings): every setting that applies to this run, given or defaulted, checked. `explicit`
    names the settings the user typed, refused when they belong to no part of this run (`owners`: name ->
    groups; without it, every given name must belong to the run)."""
    from darts.strategies.registry import get_strategy
    core = resolve_options(CORE, given)
    space = choose_space(core["dataset"], given.get("space"))
    strategy = get_strategy(core["strategy"])
    defaults = {**dict(strategy.setting_defaults), **space.strategy_defaults.get(strategy.name, {})}
    for o in strategy.options:  # a space may name a strategy's setting by its field (hidden_size) or flag
        if o.field in defaults and o.name not in defaults:
            defaults[o.name] = defaults[o.field]
    core = resolve_options(CORE, given, defaults)
    core["space"] = space.name
    modality = IMAGE if space.modality == "image" else TEXT
    parts = [core, resolve_options(modality, given, defaults), space.resolve(given),
             resolve_options(strategy.options, given, defaults)]
    groups = {"core", "images" if space.modality == "image" else "text", f"space {space.name}",
              "your own code", "original flags"} | {title for title, _ in strategy.option_groups}
    if strategy.kind == "sample":
        parts.append(resolve_options(SAMPLING, given, defaults))
        groups.add("sample-based strategies")
    if space.supports("table"):
        parts.append(resolve_options(TABLE, given, defaults))
        groups.add("tabular benchmark")
    elif given.get("benchmark"):
        from darts.spaces.registry import require
        require(space, "table", "--benchmark (a table of another space's results): add --space")
    if owners is not None:
        check_applicable(explicit or set(), owners, groups)
    if given.get("small_batch_size") not in (None, -1, core["batch_size"]):
        raise UserError("--small_batch_size (gradient accumulation) is not supported; leave it out or set it "
                        "to --batch_size")
    settings = {k: v for part in parts for k, v in part.items()}
    settings["ops_module"] = given.get("ops_module")
    if owners is None:
        check_known({k: v for k, v in given.items() if v is not None and k not in ALWAYS},
                    [Option(k, None) for k in settings], "this search")
    if not settings.get("benchmark"):
        settings.pop("reward", None)
    if strategy.kind == "sample":  # keep only what applies: its log and args.json are read by people
        unused = UNUSED_BY_TABLE if settings.get("benchmark") else UNUSED_BY_TRAINING
        settings = {k: v for k, v in settings.items() if k not in unused or k in (explicit or ())}
    if strategy.uses_supernet:
        check_supernet_size(space, settings)
    if settings.get("tensorboard"):
        from darts.tensorboard_log import require_tensorboard
        require_tensorboard(settings["tensorboard"])
    return space, settings


def check_supernet_size(space, settings: dict) -> None:
    """Refuse a supernet whose weights cannot fit in memory before any data is read (sizes far past the
    defaults only; the data's classes and channels barely change the count, the common ones are assumed)."""
    from darts.data.text import KNOWN_VOCAB_SIZES
    from darts.network_size import check_weights_fit
    from darts.spaces.base import DataShape
    if not space.supports("build_supernet"):
        return
    vocabulary = KNOWN_VOCAB_SIZES.get(settings["dataset"], max(KNOWN_VOCAB_SIZES.values()))
    shape = DataShape(ntokens=vocabulary if space.modality == "text" else None)
    check_weights_fit(lambda values: space.build_supernet(values, shape), space.options, settings,
                      f"the {space.name} supernet", space.resolve({}))


# Settings a sample-based search does not use: with a table nothing is trained, without one no table is read.
UNUSED_BY_TRAINING = {"epochs", "report_freq", "reward", "cutout", "cutout_length", "no_amp", "no_channels_last"}
UNUSED_BY_TABLE = UNUSED_BY_TRAINING - {"reward"} | {"max_batches", "batch_size", "train_portion", "fidelity_epochs",
                                                      "fidelity_learning_rate", "image_size", "cache", "strict",
                                                      "test_fraction", "bptt", "alpha", "beta", "evaluator",
                                                      "proxy", "supernet", "supernet_bn_batches"}


ALWAYS = {"ops_module", "resume"}  # accepted whatever the run


