"""A dependency-free progress bar: a live line on a terminal, periodic log lines otherwise (CI, files)."""
from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("darts")


def _fmt_time(s: float) -> str:
    s = int(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


class Progress:
    def __init__(self, total: int, desc: str, report_freq: int = 50, unit: str = "batch",
                 enabled: bool = True, stream=None):
        self.total, self.desc, self.unit = total, desc, unit
        self.report_freq = max(1, report_freq)
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.live = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.count = 0
        self.start = time.perf_counter()
        self.metrics: dict[str, float] = {}

    def update(self, n: int = 1, **metrics: float) -> None:
        self.count += n
        self.metrics.update(metrics)
        if not self.enabled:
            return
        if self.live:
            self.stream.write("\r" + self.line())
            self.stream.flush()
        elif self.count % self.report_freq == 0 or self.count == self.total:
            log.info(self.line())

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.count) / rate if rate > 0 else 0.0
        width = 20
        filled = int(width * self.count / self.total) if self.total else width
        bar = "#" * filled + "." * (width - filled)
        stats = " ".join(f"{k} {v:.4g}" for k, v in self.metrics.items())
        return (f"{self.desc} [{bar}] {self.count}/{self.total} {stats} "
                f"{rate:.2f} {self.unit}/s eta {_fmt_time(eta)}")

    def close(self) -> None:
        if self.enabled and self.live:
            self.stream.write("\n")
            self.stream.flush()
