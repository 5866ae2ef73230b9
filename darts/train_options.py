"""The settings of retraining a genotype (darts-train / train_final.py), declared once, grouped by the part
they belong to: the original train.py's and train_imagenet.py's flags keep their names and meaning.

The training recipe's settings have no fixed default: a flag not typed takes the value of the genotype's
space's recipe for the dataset (`training_defaults`: FinalTrainingConfig's fields, the paper's batch of 96,
the space's own option defaults, then its `final_recipe`), so --help shows those values instead.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from darts.errors import UserError
from darts.lm_options import TEXT_DATASETS  # noqa: F401  (trained as language models: darts.lm_options)
from darts.options import RESUME, Option, save_option

# Flags named differently from the FinalTrainingConfig field they set (the original train.py's names).
FLAG_FIELDS = {"label_smooth": "label_smoothing"}
# Settings a resumed run may change (they do not alter the computation).
RESUME_MAY_CHANGE = {"resume", "device", "gpu", "report_freq", "save", "no_progress", "workers", "cache", "threads",
                     "tensorboard"}
NOT_SAVED = {"resume", "overwrite"}


def image_datasets() -> list[str]:
    from darts.data import INPUT_SHAPES
    from darts.data.images import OWN_DATA
    return sorted(INPUT_SHAPES) + list(OWN_DATA) + ["imagenet"]


def _core() -> tuple[Option, ...]:
    from darts.settings import CORE
    search = {o.name: o for o in CORE}
    return (
        Option("dataset", "cifar10", "dataset to train and test on (listed above; language model: "
                                     "--dataset ptb --help)",
               choices=tuple(image_datasets()) + TEXT_DATASETS, metavar="NAME"),
        Option("data", None, "dataset folder (default: ./data; Debian's for fashion-mnist; imagenet: with train/ "
                             "and val/)", type=str, metavar="PATH"),
        Option("arch", "DARTS", "a cells/ name (case-insensitive; listed above) or a search's genotype.json",
               type=str, metavar="NAME"),
        save_option("eval"),
        RESUME,
        search["overwrite"],
        Option("seed", 0, "random seed", minimum=0, maximum=2 ** 32 - 1),
        search["device"], search["threads"], search["tensorboard"],
        Option("max_batches", None, "cap on batches per epoch and per evaluation (smoke runs)", type=int, minimum=1),
        Option("summary", False, "print the network's size and multiply-adds and exit (reads no data)", flag=True),
        Option("eval_only", False, "test the network saved at --model_path and exit", flag=True),
        Option("model_path", None, "saved network for --eval_only (a weights .pt file or a --save folder)", type=str,
               metavar="PATH"),
        search["no_progress"], search["gpu"],
    )


RECIPE = (  # default None: the genotype's space's recipe for the dataset
    Option("batch_size", None, "batch size", type=int, minimum=2),
    Option("epochs", None, "epochs", type=int, minimum=1),
    Option("time_budget", None, "train the epochs that fit in X minutes of wall time (measured on the first; "
                                "the last one cut short); --epochs is then the most", type=float, above=0.0),
    Option("learning_rate", None, "initial learning rate", type=float, minimum=0.0),
    Option("learning_rate_min", None, "final learning rate of the cosine schedule", type=float, minimum=0.0),
    Option("lr_schedule", None, "cosine (to --learning_rate_min) or step (by --gamma)", type=str,
           choices=("cosine", "step")),
    Option("gamma", None, "learning-rate decay per period (step schedule)", type=float, minimum=0.0),
    Option("decay_period", None, "epochs between decays (step schedule)", type=int, minimum=1),
    Option("momentum", None, "SGD momentum", type=float, minimum=0.0, below=1.0),
    Option("nesterov", None, "Nesterov momentum (NAS-Bench-201's recipe: true)", type=bool),
    Option("weight_decay", None, "weight decay", type=float, minimum=0.0),
    Option("grad_clip", None, "gradient norm clipping", type=float, minimum=0.0),
    Option("drop_path_prob", None, "final drop path probability, ramped linearly from 0", type=float,
           minimum=0.0, below=1.0),
    Option("label_smooth", None, "label smoothing of the training loss", type=float, minimum=0.0, below=1.0),
    Option("auxiliary_weight", None, "weight of the auxiliary loss", type=float, minimum=0.0),
    Option("report_freq", None, "log every N batches", type=int, minimum=1),
)
NETWORK = (
    Option("init_channels", None, "C, channels of the first cells", type=int, minimum=1),
    Option("layers", None, "number of cells", type=int, minimum=1, maximum=1000),
    Option("auxiliary", False, "auxiliary head after the 2/3 reduction cell", flag=True),
)
# The data's shape as the library's build_network takes it (the command lines read it from the data).
DATA_SHAPE = (
    Option("in_channels", 3, "image channels", minimum=1),
    Option("num_classes", 10, "classes", minimum=1),
)


def _augmentation_and_speed() -> tuple[tuple[Option, ...], tuple[Option, ...]]:
    from darts.settings import IMAGE
    search = {o.name: o for o in IMAGE}
    augmentation = (search["cutout"], search["cutout_length"])
    speed = (
        Option("fp32", False, "plain float32 NCHW (no bf16 autocast on CUDA, no channels_last)", flag=True),
        search["no_amp"], search["no_channels_last"],
        Option("cpu_bf16", False, "bf16 autocast on CPU too (CPUs with native bf16 such as AMX, not for every "
                                  "op: time it with benchmarks/final_throughput.py)", flag=True),
        Option("compile", False, "torch.compile the training step (the first compiles for 20-60 s; the test "
                                 "stays eager)", flag=True),
        Option("sync_bn", False, "under torchrun: BatchNorm statistics over all processes (SyncBatchNorm, CUDA)",
               flag=True),
        Option("workers", 4, "data-loading processes (imagenet only)", minimum=1),
    )
    return augmentation, speed


@functools.lru_cache(maxsize=None)
def option_groups() -> tuple[tuple[str, tuple[Option, ...]], ...]:
    """(title, options) of every retraining setting, in --help's order."""
    from darts.settings import OWN_DATA
    augmentation, speed = _augmentation_and_speed()
    return (("core", _core()), ("network", NETWORK), ("training recipe", RECIPE + augmentation),
            ("precision and speed", speed), ("your own data (--dataset folder / npz)", OWN_DATA))


def options() -> tuple[Option, ...]:
    return tuple(o for _, group in option_groups() for o in group)


def training_defaults(arch: str, dataset: str) -> dict:
    """Defaults of retraining `arch` on `dataset`: the paper's batch of 96 and FinalTrainingConfig's settings,
    the genotype's space's option defaults, then the space's recipe for the dataset (e.g. the DARTS ImageNet
    protocol, NAS-Bench-201's)."""
    from dataclasses import fields
    from darts.final_training import BATCH_SIZE, FinalTrainingConfig
    from darts.spaces.genotype_io import load_genotype
    from darts.spaces.registry import space_of
    back = {v: k for k, v in FLAG_FIELDS.items()}
    config = {back.get(f.name, f.name): f.default for f in fields(FinalTrainingConfig)}
    space = space_of(load_genotype(arch))
    recipe = {back.get(k, k): v for k, v in space.final_recipe(dataset).items()}
    return {"batch_size": BATCH_SIZE, **config, **{o.name: o.default for o in space.options}, **recipe}


def fill_recipe(settings: dict, arch: str) -> None:
    """The recipe's values for the settings left None (not typed, not saved)."""
    for name, value in training_defaults(arch, settings["dataset"]).items():
        if name in settings and settings[name] is None:
            settings[name] = value


def check_network_size(spec_at: Callable[[dict], Any], values: dict, defaults: dict, what: str,
                       prefix: str = "--") -> None:
    """Refuse sizes (`values`: init_channels, layers, in_channels, num_classes) whose network's weights cannot
    fit in memory, before it is built; `spec_at(sizes)` is the NetworkSpec of the network at those sizes."""
    from darts.network_size import check_weights_fit
    check_weights_fit(lambda sizes: spec_at(sizes).build(), NETWORK[:2] + DATA_SHAPE, values, what, defaults, prefix)


def _spec_at(settings: dict, arch: str, sizes: dict):
    """The NetworkSpec of the run's network at `sizes` (the data's shape assumed: 3 channels, 10 classes)."""
    from darts.final_training import NetworkSpec
    from darts.spaces.genotype_io import load_genotype
    from darts.spaces.registry import space_of
    genotype = load_genotype(arch)
    space = space_of(genotype)
    return NetworkSpec(genotype=space.genotype_to_dict(genotype), arch=settings["arch"], space=space.name,
                       kind="imagenet" if settings["dataset"] == "imagenet" else "cifar",
                       init_channels=sizes["init_channels"], layers=sizes["layers"],
                       auxiliary=bool(settings.get("auxiliary")),
                       options={o.name: settings.get(o.name) for o in space.options if o.name not in sizes})


def check_train_settings(settings: dict) -> None:
    """What the declarations' bounds cannot say."""
    if settings.get("tensorboard"):
        from darts.tensorboard_log import require_tensorboard
        require_tensorboard(settings["tensorboard"])
    arch = settings.get("arch_file") or settings["arch"]
    sizes = {"init_channels": settings["init_channels"], "layers": settings["layers"]}
    check_network_size(lambda values: _spec_at(settings, arch, values), sizes,
                       training_defaults(arch, settings["dataset"]), f"the {settings['arch']} network")
    if settings["cpu_bf16"] and (settings["fp32"] or settings["no_amp"]):
        raise UserError(f"--cpu_bf16 asks for bf16 autocast, --{'fp32' if settings['fp32'] else 'no_amp'} for "
                        "none: give one")
