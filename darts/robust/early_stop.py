"""DARTS-ES (RobustDARTS, Zela et al., ICLR 2020): stop the search once the dominant Hessian eigenvalue
grows too fast and keep the genotype of k epochs before.

With lambda_bar_i the mean eigenvalue over the last `window` epochs, stop at epoch i >= k when
lambda_bar_{i-k} / lambda_bar_i < ratio  (the paper: k = 5, window 5, ratio 0.75),
and return the genotype of epoch i - k. An epoch-end hook after the EigenMonitor; its state is
checkpointed with the loop (DartsSearch.extra_parts), so a resumed run stops at the same epoch.
"""
from __future__ import annotations

import logging
from typing import Any

from darts.spaces.registry import genotype_from_record, genotype_record

log = logging.getLogger("darts")


def should_stop(eigenvalues: list[float], k: int = 5, window: int = 5, ratio: float = 0.75) -> bool:
    """lambda_bar_{i-k} / lambda_bar_i < ratio for the last epoch i (False before epoch k)."""
    i = len(eigenvalues) - 1
    if i < k:
        return False

    def smoothed(j: int) -> float:
        values = eigenvalues[max(0, j - window + 1): j + 1]
        return sum(values) / len(values)

    now = smoothed(i)
    return now > 0 and smoothed(i - k) / now < ratio


class EarlyStop:
    """Sets `searcher.stop_requested` and `searcher.stop_genotype` (the genotype of epoch i - k)."""

    def __init__(self, searcher, k: int = 5, window: int = 5, ratio: float = 0.75):
        self.searcher, self.k, self.window, self.ratio = searcher, k, window, ratio
        self.eigenvalues: list[float] = []
        self.genotypes: list[dict] = []
        self.stopped_at: int | None = None

    def __call__(self, epoch: int, genotype: Any, metrics: dict) -> None:
        self.eigenvalues.append(float(metrics["hessian_eigenvalue"]))
        self.genotypes.append(genotype_record(genotype))
        if self.stopped_at is None and should_stop(self.eigenvalues, self.k, self.window, self.ratio):
            self.stopped_at = epoch
            log.info("early stop at epoch %d: the Hessian eigenvalue grew past the ratio %.2f over %d epochs; "
                     "keeping the genotype of epoch %d", epoch, self.ratio, self.k, epoch - self.k)
            self._apply()
        metrics["early_stopped"] = int(self.stopped_at is not None)

    def _apply(self) -> None:
        self.searcher.stop_requested = True
        self.searcher.stop_genotype = genotype_from_record(self.genotypes[-1 - self.k])

    def state_dict(self) -> dict:
        return {"eigenvalues": list(self.eigenvalues), "genotypes": list(self.genotypes),
                "stopped_at": self.stopped_at}

    def load_state_dict(self, state: dict) -> None:
        self.eigenvalues, self.genotypes = list(state["eigenvalues"]), list(state["genotypes"])
        self.stopped_at = state["stopped_at"]
        if self.stopped_at is not None:
            self._apply()
