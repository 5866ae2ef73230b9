"""For benchmarks made of many command-line runs: each run is a subprocess (one thread unless told) writing into
its own folder, and a run killed part-way (its args.json written) is continued with --resume, not started again."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def started_in(folder: Path) -> bool:
    """Whether a run was started in `folder` (and is continued there with --resume)."""
    return (folder / "args.json").is_file()


def run_in_folder(command: list[str], argv: list[str], folder: Path, log: Path, always: list[str] = (),
                  threads: int = 1) -> float:
    """`command argv --save folder`, or `command --resume folder` where a run was started there, each followed by
    `always`; OMP_NUM_THREADS=threads, output appended to `log`. Returns the wall seconds of this call."""
    cmd = command + (["--resume", str(folder)] if started_in(folder) else argv + ["--save", str(folder)])
    started = time.perf_counter()
    with open(log, "a") as out:
        subprocess.run(cmd + list(always), check=True, stdout=out, stderr=subprocess.STDOUT,
                       env=dict(os.environ, OMP_NUM_THREADS=str(threads)))
    return time.perf_counter() - started
