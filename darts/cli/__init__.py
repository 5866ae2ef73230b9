"""The command lines, installed as darts-search, darts-train and darts-draw (and `python -m darts ...`).

Importing them takes seconds (torch); Ctrl-C in that time would end in a traceback of the import, since the
commands' own handling (darts.runs.run_cli) starts only once they run. So a Ctrl-C that nothing caught ends
the process with one line and status 130, as a stopped command does.
"""
import os
import sys


def _one_line_interrupt(previous):
    def hook(kind, value, tb):
        if not issubclass(kind, KeyboardInterrupt):
            return previous(kind, value, tb)
        print("interrupted", file=sys.stderr)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(130)  # the status of a command stopped by Ctrl-C (Python would re-raise SIGINT instead)
    hook._darts_interrupt = True
    return hook


if not getattr(sys.excepthook, "_darts_interrupt", False):
    sys.excepthook = _one_line_interrupt(sys.excepthook)
