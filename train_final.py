"""The original DARTS entry point, kept so its commands run unchanged: see darts/cli/train.py
(installed as darts-train).

    python train_final.py --arch DARTS_V2 --auxiliary --cutout          # the paper's CIFAR-10 run
    python train_final.py --dataset ptb --arch DARTS_V2                 # the PTB language model
"""
import sys

import darts.cli  # noqa: F401  (first: a Ctrl-C while torch imports ends in one line, not a traceback)
from darts.cli.train import build_parser, cli, main, precision  # noqa: F401,E402  (for callers that pass an argument list)
from darts.runs import run_cli  # noqa: F401,E402

if __name__ == "__main__":
    sys.exit(cli())
