"""A dependency-free progress bar that shows up wherever the run is watched:
- on a terminal, a live line redrawn in place;
- in a Jupyter notebook (the stream is the kernel's), the same live line, redrawn at most 5 times a second;
- elsewhere (a log file, CI), a log line every `report_freq` steps and at least every 30 seconds, so a
  slow epoch (a Penn Treebank epoch is minutes) is never silent.
"""
from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("darts")

clock = time.monotonic  # module-level so tests can drive a fake clock
LOG_EVERY_S = 30.0      # not live: the longest silence between log lines
NOTEBOOK_EVERY_S = 0.2  # notebook: each redraw is a message to the browser, so fewer of them


def _fmt_time(s: float) -> str:
    s = int(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def _mode(stream) -> str:
    """'terminal', 'notebook' (an ipykernel output stream: isatty() is False there, yet \\r redraws) or 'log'."""
    if getattr(stream, "isatty", None) and stream.isatty():
        return "terminal"
    return "notebook" if type(stream).__module__.startswith("ipykernel") else "log"


class Progress:
    def __init__(self, total: int, desc: str, report_freq: int = 50, unit: str = "batch",
                 enabled: bool = True, stream=None):
        self.total, self.desc, self.unit = total, desc, unit
        self.report_freq = max(1, report_freq)
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.mode = _mode(self.stream)
        self.live = enabled and self.mode != "log"
        self.count = 0
        self.start = self.last_shown = clock()
        self.metrics: dict[str, float] = {}

    def update(self, n: int = 1, **metrics: float) -> None:
        self.count += n
        self.metrics.update(metrics)
        if not self.enabled:
            return
        now, done = clock(), self.count == self.total
        if self.live:
            if self.mode == "terminal" or done or now - self.last_shown >= NOTEBOOK_EVERY_S:
                self.stream.write("\r" + self.line())
                self.stream.flush()
                self.last_shown = now
        elif self.count % self.report_freq == 0 or done or now - self.last_shown >= LOG_EVERY_S:
            log.info(self.line())
            self.last_shown = now

    def line(self) -> str:
        elapsed = clock() - self.start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.count) / rate if rate > 0 else 0.0
        width = 20
        filled = min(width, int(width * self.count / self.total)) if self.total else width
        bar = "#" * filled + "." * (width - filled)
        stats = " ".join(f"{k} {v:.4g}" for k, v in self.metrics.items())
        return (f"{self.desc} [{bar}] {self.count}/{self.total} {stats} "
                f"{rate:.2f} {self.unit}/s eta {_fmt_time(eta)}")

    def close(self) -> None:
        if self.enabled and self.live:
            self.stream.write("\r" + self.line() + "\n")  # the last state, even if a redraw was skipped
            self.stream.flush()
