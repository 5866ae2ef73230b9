"""The original DARTS entry point, kept so its commands run unchanged: see darts/cli/search.py
(installed as darts-search).

    python train_search.py --unrolled                        # the paper's second-order CIFAR-10 search
    python train_search.py --dataset ptb --data data/ptb     # the recurrent cell
"""
import sys

try:
    from darts.cli.search import build_parser, cli, main  # noqa: F401  (main: for callers that pass an argument list)
    from darts.runs import run_cli  # noqa: F401
except KeyboardInterrupt:  # Ctrl-C while torch imports: one line, the status of a stopped command
    print("interrupted", file=sys.stderr)
    sys.exit(130)

if __name__ == "__main__":
    sys.exit(cli())
