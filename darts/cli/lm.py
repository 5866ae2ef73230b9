"""train_final.py --dataset ptb|wikitext2 (darts-train): train the language model of a recurrent genotype (the
original rnn/train.py; its flags and defaults).

    python train_final.py --dataset ptb --arch DARTS_V2                 # the paper's PTB model
    python train_final.py --dataset ptb --arch DARTS_V2 --summary       # its size (23M), reads no data
    python train_final.py --resume eval-EXP-...                         # continue a stopped run exactly
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from darts.cli.common import add_options, explicit_flags, new_parser, read_saved_run
from darts.errors import UserError
from darts.lm_options import OPTION_GROUPS, RESUME_MAY_CHANGE, resolve_lm_settings
from darts.options import merge_saved


def build_parser() -> argparse.ArgumentParser:
    p = new_parser("train_final.py --dataset ptb|wikitext2", __doc__)
    owners: dict[str, list[str]] = {}
    for title, group in OPTION_GROUPS:
        add_options(p, title, group, owners)
    return p


def settings_from_argv(argv: Sequence[str]) -> dict:
    """Every setting of the run: the flags typed now, a --resume folder's saved ones folded in, defaults."""
    parser = build_parser()
    args = parser.parse_args(argv)
    explicit = explicit_flags(parser, argv)
    given = {k: v for k, v in vars(args).items() if v is not None}
    if args.gpu is not None and args.device in (None, "auto"):
        given["device"] = f"cuda:{args.gpu}"
    if args.continue_train and not args.resume:
        if not args.save:
            raise UserError("--continue_train needs --save naming the run folder to continue")
        given["resume"] = args.save
    if given.get("resume") and not args.summary:
        if args.save and args.save != given["resume"]:
            raise UserError(f"--resume {given['resume']} continues that folder; leave out --save {args.save}")
        saved = read_saved_run(parser, given["resume"], "train_final.py", ("arch",))
        # the upper epoch limit may be raised on resume (the original's --epochs 8000 is a ceiling)
        may_change = RESUME_MAY_CHANGE | ({"epochs"} & explicit)
        given = {**merge_saved(saved, given, explicit, may_change, "--resume"), "save": given["resume"]}
    return resolve_lm_settings(given)


def summary(settings: dict) -> int:
    """The model's size; the vocabulary from --data when it is a corpus folder, else the standard corpus's."""
    from darts.data.text import KNOWN_VOCAB_SIZES, read_corpus
    from darts.spaces.genotype_io import genotype_from_dict
    from darts.lm_training import spec_from_settings
    from darts.summary import count_parameters
    data, dataset = settings["data"], settings["dataset"]
    if data and Path(data).is_dir():
        ntokens, source = read_corpus(data).ntokens, data
    else:
        ntokens, source = KNOWN_VOCAB_SIZES[dataset], f"the standard {dataset}"
    spec = spec_from_settings(settings, ntokens)
    n = count_parameters(spec.build())
    print(f"DARTS language model {settings['arch']}: {genotype_from_dict(spec.genotype)}")
    print(f"emsize {spec.emsize}, nhid {spec.nhid}, vocabulary {ntokens:,} ({source}), decoder tied to the embedding")
    print(f"Model total parameters: {n}")
    print(f"param size = {n / 1e6:f}MB")
    return n


def main(argv: Sequence[str] | None = None) -> dict | None:
    """Train (or with --summary, size) the language model; returns the final metrics."""
    from darts.lm_training import prepare_lm, train_lm
    from darts.runs import EarlyLog, RunDir, new_run_name, setup_console_logging
    settings = settings_from_argv(list(sys.argv[1:] if argv is None else argv))
    if settings["summary"]:
        summary(settings)
        return None
    settings["save"] = settings["save"] or new_run_name("eval")
    setup_console_logging()
    early = EarlyLog()  # the preparation's log lines, for log.txt once the folder exists
    try:
        prepared = prepare_lm(settings)  # device, corpus, genotype, checkpoint: read and checked, nothing written
    except BaseException:
        early.close()
        raise
    run = RunDir(settings["save"], resume=bool(settings["resume"]))
    try:
        return train_lm(prepared, run)
    finally:
        run.close()


def cli() -> int:
    from darts.runs import run_cli
    return run_cli(main)


if __name__ == "__main__":
    sys.exit(cli())
