"""The one command-line layer: every command's flags come from declared options, keep the original code's
names, aliases and values, show grouped help that fits a screen, and follow one resume rule; the library
modules below the command lines never import them."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from darts.errors import UserError
from darts.options import merge_saved

ROOT = Path(__file__).resolve().parents[1]


def test_default_search_help_fits_a_screen():
    from darts.strategies.registry import get_strategy
    # in its own process: add-ons that other tests register would add their groups; a narrow terminal (the layout
    # is 120 columns at least)
    out = subprocess.run([sys.executable, "train_search.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "80"}).stdout
    lines = out.splitlines()
    assert len(lines) <= 120, f"{len(lines)} lines"
    titles = [line for line in lines if line and not line.startswith(" ") and line.endswith(":")]
    darts = get_strategy("darts")  # its built-in add-ons' groups (a test may have registered one of its own here)
    builtin = [f"add-on {a.name}" for a in darts.addons() if a.options and type(a).__module__.startswith("darts.")]
    for title in ["core", "images", "space darts", "strategy darts"] + builtin:
        assert any(t.startswith(title) for t in titles), (title, titles)
    assert "--model_path" not in out  # an original flag the code does not use: accepted, not shown


def test_every_flag_of_the_default_run_is_accepted():
    """Each flag (and alias) --help shows for the default run parses, with the full parser, to its value."""
    from darts.cli.search import build_parser
    shown, full = build_parser("darts", "darts"), build_parser()
    checked = 0
    for action in shown._actions:
        if action.dest == "help":
            continue
        if action.nargs == 0:
            text, value = None, True
        elif action.choices:
            text = value = list(action.choices)[-1]
        elif action.type in (int, float):
            text, value = "3", action.type(3)
        else:
            text = value = "x"
        for flag in action.option_strings:
            args = full.parse_args([flag] + ([] if text is None else [text]))
            got = getattr(args, action.dest)
            assert got == ([value] if action.dest == "ops_module" else value), (flag, got)
            checked += 1
    assert checked >= 69


@pytest.mark.parametrize("flag,value,setting,expected", [
    ("--lr", "0.1", "learning_rate", 0.1), ("--wdecay", "1e-4", "weight_decay", 1e-4),
    ("--clip", "2", "grad_clip", 2.0), ("--arch_lr", "1e-3", "arch_learning_rate", 1e-3),
    ("--arch_wdecay", "0", "arch_weight_decay", 0.0), ("--log-interval", "7", "report_freq", 7),
])
def test_the_original_search_aliases_set_their_settings(flag, value, setting, expected):
    from darts.cli.search import settings_from_argv
    _, settings, _ = settings_from_argv([flag, value])
    assert settings[setting] == expected


# The retraining flags of the original train.py / train_imagenet.py and those added since, with a value each.
TRAIN_FLAGS = {
    "data": "d", "batch_size": 8, "learning_rate": 0.5, "momentum": 0.5, "weight_decay": 0.01, "report_freq": 3,
    "gpu": 1, "epochs": 2, "time_budget": 1.5, "init_channels": 8, "layers": 5, "model_path": "m.pt",
    "auxiliary": True, "auxiliary_weight": 0.3, "cutout": True, "cutout_length": 8, "drop_path_prob": 0.1,
    "save": "s", "seed": 7, "arch": "DARTS_V1", "grad_clip": 1.0, "label_smooth": 0.2, "gamma": 0.5,
    "decay_period": 2, "dataset": "folder", "lr_schedule": "step", "learning_rate_min": 0.001, "device": "cpu",
    "no_amp": True, "no_channels_last": True, "compile": True, "sync_bn": True,
    "overwrite": True, "threads": "2", "tensorboard": "tb", "max_batches": 4, "summary": True,
    "workers": 2, "no_progress": True, "nesterov": True, "image_size": 16, "cache": "c", "strict": True,
    "test_fraction": 0.25,
}


def _argv(values: dict) -> list[str]:
    argv = []
    for name, value in values.items():
        if name == "nesterov":  # a true / false value, not a switch
            argv += [f"--{name}", str(value).lower()]
        else:
            argv += [f"--{name}"] if value is True else [f"--{name}", str(value)]
    return argv


def test_the_retraining_flags_keep_their_names_and_values():
    from darts.cli.train import build_parser, fill_defaults, settings_from_argv
    args = settings_from_argv(build_parser(), _argv(TRAIN_FLAGS))
    fill_defaults(args)
    for name, value in TRAIN_FLAGS.items():
        assert getattr(args, name) == value, name
    assert args.device == "cpu"  # --gpu maps to the device only when --device is not typed
    assert settings_from_argv(build_parser(), ["--gpu", "1"]).device == "cuda:1"
    for other in (["--fp32"], ["--cpu_bf16"], ["--eval_only"], ["--resume", "r"], ["--ops_module", "m"]):
        parsed = vars(settings_from_argv(build_parser(), other)) if other[0] != "--resume" else \
            vars(build_parser().parse_args(other))
        assert parsed[other[0][2:]] in (True, "r", ["m"])


def test_retraining_defaults_come_from_the_recipe():
    from darts.cli.train import build_parser, fill_defaults, settings_from_argv
    cifar = settings_from_argv(build_parser(), [])
    fill_defaults(cifar)
    imagenet = settings_from_argv(build_parser(), ["--dataset", "imagenet"])
    fill_defaults(imagenet)
    assert (cifar.batch_size, cifar.epochs, cifar.init_channels, cifar.layers, cifar.seed) == (96, 600, 36, 20, 0)
    assert (imagenet.batch_size, imagenet.lr_schedule, imagenet.label_smooth) == (128, "step", 0.1)
    assert (cifar.cutout_length, cifar.workers, cifar.nesterov, cifar.auxiliary) == (16, 4, False, False)


LM_FLAGS = {
    "data": "d", "dataset": "wikitext2", "arch": "DARTS_V1", "emsize": 10, "nhid": 10, "nhidlast": 10, "lr": 3.0,
    "clip": 0.5, "epochs": 2, "batch_size": 4, "bptt": 5, "dropout": 0.1, "dropouth": 0.2, "dropoutx": 0.3,
    "dropouti": 0.4, "dropoute": 0.05, "seed": 9, "nonmono": 2, "save": "s", "alpha": 1.0, "beta": 2.0,
    "wdecay": 1e-5, "small_batch_size": 4, "max_seq_len_delta": 3, "eval_batch_size": 2, "test_batch_size": 3,
    "cuda": True, "single_gpu": True, "device": "cpu", "max_batches": 5, "summary": True, "no_progress": True,
    "gpu": 0,
}


def test_the_language_model_flags_keep_their_names_and_values():
    from darts.cli.lm import settings_from_argv
    settings = settings_from_argv(_argv(LM_FLAGS) + ["--log-interval", "11"])
    for name, value in LM_FLAGS.items():
        assert settings[name] == value, name
    assert settings["report_freq"] == 11 and settings_from_argv(["--report_freq", "12"])["report_freq"] == 12
    ptb, wt2 = settings_from_argv([]), settings_from_argv(["--dataset", "wikitext2"])
    assert (ptb["emsize"], ptb["nhidlast"], ptb["dropouth"], ptb["wdecay"], ptb["lr"], ptb["seed"]) == \
        (850, 850, 0.25, 8e-7, 20.0, 1267)
    assert (wt2["emsize"], wt2["dropouth"], wt2["wdecay"]) == (700, 0.15, 5e-7)
    assert settings_from_argv(["--emsize", "300"])["nhidlast"] == 300  # the sizes follow --emsize
    assert settings_from_argv(["--gpu", "2"])["device"] == "cuda:2"


@pytest.mark.parametrize("command", [[], ["--dataset", "ptb"]])
def test_retraining_help_is_grouped(command):
    out = subprocess.run([sys.executable, str(ROOT / "train_final.py"), *command, "--help"], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    titles = [line.split(" (")[0].rstrip(":") for line in out.stdout.splitlines()
              if line and not line.startswith(" ") and line.endswith(":")]
    wanted = ["core", "model", "training", "original flags"] if command else \
        ["core", "network", "training recipe", "precision and speed", "your own data", "your own code"]
    assert all(any(t.startswith(w) for t in titles) for w in wanted), titles


def test_one_resume_rule():
    saved = {"epochs": 5, "device": "cpu", "layers": 8}
    merged = merge_saved(saved, {"device": "cuda", "epochs": 5, "layers": 9}, {"device", "epochs"},
                         {"device"}, "--resume")
    assert merged == {"epochs": 5, "device": "cuda", "layers": 8}  # typed and allowed; an untyped one is kept
    with pytest.raises(UserError, match="--layers 9"):
        merge_saved(saved, {"layers": 9}, {"layers"}, {"device"}, "--resume")
    assert merge_saved(saved, {"layers": 9}, {"layers"}, None, "--config")["layers"] == 9  # a config: typed wins


def test_the_library_does_not_import_the_command_lines():
    code = ("import sys, darts.settings, darts.options, darts.lm_training, darts.lm_options, darts.train_options, "
            "darts.modalities, darts.runs, darts.api\n"
            "print(sorted(m for m in sys.modules if m.startswith('darts.cli')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
