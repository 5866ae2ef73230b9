"""A per-operation latency lookup table, as ProxylessNAS and HW-NAS-Bench build them: every distinct operation
(darts.latency.trace: type, configuration, input shapes with the batch) timed alone once on the device, and a
network's latency predicted as the sum of its operations' entries. Built on the device a network will run on,
saved as JSON with that machine's description, and used on any other machine (a search's) without timing.

    table = LatencyTable.build(networks, (3, 32, 32), batches=(1, 64), device="cpu:1")
    table.save("table.json")                                         # on the phone, the board, the server
    LatencyTable.load("table.json").predict(network, (3, 32, 32), 1)   # anywhere: milliseconds on that machine

An operation timed alone runs with warm caches and leaves out the Python between operations (container modules'
calls, a cell's loops), so the bare sum underestimates a whole pass. With `calibrate=K`, build also times K whole
networks at each batch and files, per batch, that gap per operation (the median over the K of (measured - sum) /
operations, at least 0); a prediction adds it once per operation. benchmarks/latency_table_error.py measures the
error that remains.
"""
from __future__ import annotations

import json
import statistics
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

import torch.nn as nn

from darts.checkpoint import atomic_write_json
from darts.errors import UserError
from darts.latency.measure import (DeviceSpec, machine_description, machine_line, measure_latency, on_device,
                                   parse_device, summarize, time_call)
from darts.latency.trace import OpCall, trace_ops

FORMAT = "darts-latency-table"
VERSION = 1


class LatencyTable:
    """Operation key -> median milliseconds on one machine (`machine`: darts.latency.measure.machine_description)."""

    def __init__(self, device: str | DeviceSpec = "cpu:1", repeats: int = 20, warmup: int = 3,
                 machine: dict | None = None, entries: dict | None = None, path: str | None = None,
                 overhead: dict | None = None):
        self.spec = parse_device(device)
        self.repeats, self.warmup = repeats, warmup
        self.machine = machine if machine is not None else machine_description(self.spec)
        self.entries: dict[str, dict] = dict(entries or {})
        self.overhead: dict[int, float] = {int(b): float(ms) for b, ms in (overhead or {}).items()}  # batch -> ms/op
        self.path = path

    # -- building --------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, networks: Iterable[nn.Module], input_shape: Sequence[int], batches: Sequence[int] = (1,),
              device: str = "cpu:1", threads: int | None = None, repeats: int = 20, warmup: int = 3,
              calibrate: int = 0, progress=None) -> "LatencyTable":
        """A table holding every operation of `networks` at every batch in `batches`, each timed alone on
        `device` (`progress(done, total)` is called as operations are timed); with `calibrate=K`, the per-batch
        overhead per operation measured on the last K networks (module docstring)."""
        networks = list(networks)
        table = cls(parse_device(device, threads), repeats, warmup)
        calls = {}
        for network in networks:
            for batch in batches:
                for call in trace_ops(network, tuple(input_shape), batch):
                    calls.setdefault(call.key, call)
        table._time([c for k, c in calls.items() if k not in table.entries], progress)
        if calibrate > 0:
            for batch in batches:
                table.calibrate(networks[-calibrate:], input_shape, batch)
        return table

    def calibrate(self, networks: Sequence[nn.Module], input_shape: Sequence[int], batch: int) -> float:
        """Time `networks` whole at `batch` and file the median gap per operation between those timings and the
        sums of their entries (at least 0) as this batch's overhead; returns it."""
        gaps = []
        for network in networks:
            ops_ms, ops = self._sum(network, input_shape, batch, measure_missing=True)
            whole = measure_latency(network, tuple(input_shape), batch, self.spec, repeats=max(3, self.repeats // 2),
                                    warmup=self.warmup)["median_ms"]
            gaps.append((whole - ops_ms) / max(1, ops))
        self.overhead[int(batch)] = max(0.0, statistics.median(gaps)) if gaps else 0.0
        return self.overhead[int(batch)]

    def add(self, key: str, ms: float, name: str = "", inputs: str = "") -> None:
        """File `ms` milliseconds under `key` (e.g. a figure measured on the device by other means)."""
        self.entries[key] = {"ms": float(ms), "op": name, "inputs": inputs}

    def measure(self, network: nn.Module, input_shape: Sequence[int], batch: int = 1) -> int:
        """Time the operations of `network` the table lacks (on this machine, which must be the table's);
        how many were added."""
        missing = {c.key: c for c in trace_ops(network, tuple(input_shape), batch) if c.key not in self.entries}
        if missing:
            self._check_same_machine()
        self._time(list(missing.values()))
        return len(missing)

    def _time(self, calls: list[OpCall], progress=None) -> None:
        device = self.spec.torch_device
        for i, call in enumerate(calls):
            target = on_device(call.target, self.spec) if isinstance(call.target, nn.Module) else call.target
            alone = OpCall(call.key, call.name, target, call.args, call.kwargs)
            try:
                times = time_call(alone.run_alone(device), self.spec, self.repeats, self.warmup)
            except (RuntimeError, TypeError, ValueError) as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise UserError(f"cannot time {call.name} alone on {call.inputs}: {first}") from None
            self.add(call.key, summarize(times)["median_ms"], call.name, call.inputs)
            if progress is not None:
                progress(i + 1, len(calls))

    def _check_same_machine(self) -> None:
        here = machine_description(parse_device(str(self.spec), self.spec.threads))  # CUDA asked here: checked
        fields = ("device_name", "cpu_model", "threads")
        if any(here.get(f) != self.machine.get(f) for f in fields):
            raise UserError(f"this table was built on {machine_line(self.machine)}; timing its missing operations "
                            f"here ({machine_line(here)}) would mix machines: measure them on the table's machine")

    # -- predicting ------------------------------------------------------------------------------------------
    def predict(self, network: nn.Module, input_shape: Sequence[int], batch: int = 1,
                measure_missing: bool = False) -> float:
        """Predicted milliseconds of an eval-mode forward pass of `network` on (batch, *input_shape) on the
        table's machine (`machine_line()`): the sum of its operations' entries. An operation the table lacks is
        a one-line UserError, or timed here and added with `measure_missing` (on the table's machine only)."""
        return self.predict_detail(network, input_shape, batch, measure_missing)["ms"]

    def predict_many(self, networks: Iterable[nn.Module], input_shape: Sequence[int], batch: int = 1) -> list[float]:
        return [self.predict(n, input_shape, batch) for n in networks]

    def predict_detail(self, network: nn.Module, input_shape: Sequence[int], batch: int = 1,
                       measure_missing: bool = False) -> dict:
        """{"ms": the prediction, "ops_ms": the sum of the operations' entries, "overhead_ms": the calibrated
        overhead (ops x this batch's overhead per operation; 0 when the table has none for the batch), "ops":
        operations in the pass, "machine": the table's, "by_op": operation type -> ms}."""
        calls = trace_ops(network, tuple(input_shape), batch)
        missing = [c for c in calls if c.key not in self.entries]
        if missing and measure_missing:
            self._check_same_machine()
            self._time(list({c.key: c for c in missing}.values()))
        elif missing:
            c = missing[0]
            where = f" {self.path}" if self.path else ""
            raise UserError(f"the latency table{where} has no entry for {c.name} on {c.inputs} (batch {batch}; "
                            f"{len({m.key for m in missing})} operation(s) missing): build it with networks that "
                            f"use it at this batch (darts-latency build --batch {batch}), or predict with "
                            f"measure_missing=True on the table's machine")
        by_op = Counter()
        for c in calls:
            by_op[c.name] += self.entries[c.key]["ms"]
        ops_ms = sum(self.entries[c.key]["ms"] for c in calls)
        overhead = len(calls) * self.overhead.get(int(batch), 0.0)
        return {"ms": ops_ms + overhead, "ops_ms": ops_ms, "overhead_ms": overhead, "ops": len(calls),
                "machine": self.machine, "by_op": dict(by_op)}

    def _sum(self, network: nn.Module, input_shape: Sequence[int], batch: int,
             measure_missing: bool = False) -> tuple[float, int]:
        detail = self.predict_detail(network, input_shape, batch, measure_missing)
        return detail["ops_ms"], detail["ops"]

    def machine_line(self) -> str:
        return machine_line(self.machine)

    # -- files -----------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "device": str(self.spec), "repeats": self.repeats,
                "warmup": self.warmup, "machine": self.machine,
                "overhead_ms_per_op": {str(b): ms for b, ms in sorted(self.overhead.items())},
                "saved": datetime.now(timezone.utc).isoformat(timespec="seconds"), "entries": self.entries}

    def save(self, path: str | Path) -> None:
        """Write the table as JSON (atomically: a reader never sees half a file)."""
        atomic_write_json(path, self.to_dict())
        self.path = str(path)

    @classmethod
    def load(cls, path: str | Path) -> "LatencyTable":
        """A table saved by `save`, on any machine (no device is touched: CUDA tables load without a GPU)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise UserError(f"cannot read the latency table {path}: {e}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("entries"), dict):
            raise UserError(f"{path} is not a latency table (darts-latency build writes them)")
        if data.get("version") != VERSION:
            raise UserError(f"{path} is a version {data.get('version')} latency table; this package reads {VERSION}")
        table = cls.__new__(cls)
        kind, _, rest = str(data["device"]).partition(":")
        table.spec = DeviceSpec(kind, int(rest) if kind == "cuda" and rest else None,
                                int(rest) if kind == "cpu" and rest else None)
        table.repeats, table.warmup = data.get("repeats", 20), data.get("warmup", 3)
        table.machine, table.entries, table.path = data["machine"], data["entries"], str(path)
        table.overhead = {int(b): float(ms) for b, ms in (data.get("overhead_ms_per_op") or {}).items()}
        return table
