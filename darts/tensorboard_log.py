"""Epoch rows as TensorBoard scalars (optional: needs `pip install tensorboard`).

    sink = TensorBoardLog("runs/search")   # then sink(epoch, row) after every epoch, sink.close() at the end

Every numeric entry of a row becomes a scalar at step `epoch`; nested dicts are flattened with "/"
({"metrics": {"valid_acc": 91.2}} -> "metrics/valid_acc"), so TensorBoard groups them by prefix.
"""
from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any, Iterator

from darts.errors import UserError


def scalars(row: dict, prefix: str = "") -> Iterator[tuple[str, float]]:
    """(name, value) for every real number in `row` (NaN too: a diverged run should show), nested dicts
    flattened with "/"; booleans, strings and lists (genotypes, alphas) are not scalars and are skipped."""
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from scalars(value, name + "/")
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            yield name, float(value)
        elif hasattr(value, "numel") and value.numel() == 1 and not value.dtype.is_complex:  # 0-d tensors
            yield name, float(value.item())


def require_tensorboard(log_dir: str | Path | None = None) -> None:
    """--tensorboard DIR is usable: the tensorboard package is installed and DIR is no file (checked before the
    run folder exists)."""
    try:
        import tensorboard  # noqa: F401  (SummaryWriter needs it; torch does not ship it)
    except ImportError:
        raise UserError("TensorBoard logging needs the tensorboard package: pip install tensorboard") from None
    if log_dir is not None and Path(log_dir).exists() and not Path(log_dir).is_dir():
        raise UserError(f"--tensorboard {log_dir} is a file; give a folder for the event files")


class TensorBoardLog:
    """A sink(epoch, row) that writes the row's numbers into a TensorBoard event file under `log_dir`."""

    def __init__(self, log_dir: str | Path):
        require_tensorboard(log_dir)
        from torch.utils.tensorboard import SummaryWriter
        self.log_dir = Path(log_dir)
        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def __call__(self, epoch: int, row: dict[str, Any]) -> None:
        for name, value in scalars(row):
            self.writer.add_scalar(name, value, global_step=epoch)
        self.writer.flush()  # one flush per epoch: the curve is visible while the run goes on

    def close(self) -> None:
        self.writer.close()
