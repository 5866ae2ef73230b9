"""The original DARTS entry point, kept so its commands run unchanged: see darts/cli/search.py
(installed as darts-search).

    python train_search.py --unrolled                        # the paper's second-order CIFAR-10 search
    python train_search.py --dataset ptb --data data/ptb     # the recurrent cell
"""
import sys

import darts.cli  # noqa: F401  (first: a Ctrl-C while torch imports ends in one line, not a traceback)
from darts.cli.search import build_parser, cli, main  # noqa: F401,E402  (main: for callers that pass an argument list)
from darts.runs import run_cli  # noqa: F401,E402

if __name__ == "__main__":
    sys.exit(cli())
