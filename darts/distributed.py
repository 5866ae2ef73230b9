"""Thin helpers over torch.distributed so single-process code paths need no special cases.

Launching: `torchrun --nproc_per_node=N train_search.py ...` sets RANK, WORLD_SIZE and LOCAL_RANK;
`init_from_env` joins the process group (gloo on CPU, NCCL on CUDA) and gives each process its device,
cuda:LOCAL_RANK. Every helper below is a no-op in a single process, so the training code calls them
unconditionally.

BatchNorm across ranks (the documented choice): each rank normalises with the statistics of its own
slice of the batch, as one GPU per replica does; only the weight gradients are averaged. Final training
can synchronise them instead (`--sync_bn`, torch.nn.SyncBatchNorm).
"""
from __future__ import annotations

import gc
import os
from typing import Iterable, Mapping, Sequence

import torch
import torch.distributed as dist
import torch.nn as nn

from darts.errors import UserError


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    return rank() == 0


def shard() -> tuple[int, int]:
    """(rank, world size) of this process, as `BatchStream(shard=...)` takes it."""
    return rank(), world_size()


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def _communication_device() -> torch.device:
    """NCCL reduces CUDA tensors only; gloo reduces CPU tensors."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_mean(tensors: Sequence[torch.Tensor]) -> None:
    """Average tensors in place across ranks (one flat all-reduce); a no-op in a single process."""
    if not is_distributed() or world_size() == 1:
        return
    tensors = [t for t in tensors if t is not None]
    if not tensors:
        return
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for t in tensors:
        n = t.numel()
        t.copy_(flat[offset:offset + n].view_as(t))
        offset += n


def all_reduce_sum(totals: Mapping[str, torch.Tensor | float]) -> dict[str, float]:
    """Sum per-rank statistics (loss sums, correct counts, example counts) across ranks.

    A rank that saw no batch may lack keys the others have: they count as zero there. Values come back
    as Python floats (float64 sums, so counts stay exact); a single process returns its own values.
    """
    if not is_distributed() or world_size() == 1:
        return {k: float(v) for k, v in totals.items()}
    names: list = [None] * world_size()
    dist.all_gather_object(names, sorted(totals))
    keys = sorted(set().union(*names))
    flat = torch.tensor([float(totals.get(k, 0.0)) for k in keys], dtype=torch.float64,
                        device=_communication_device())
    dist.all_reduce(flat)
    return dict(zip(keys, flat.tolist()))


def broadcast_from_main(tensors: Iterable[torch.Tensor]) -> None:
    """Overwrite `tensors` on every rank with rank 0's values, so replicas start identical."""
    if not is_distributed() or world_size() == 1:
        return
    device = _communication_device()
    for t in tensors:
        t = t.detach()
        buf = t if t.device.type == device.type else t.to(device)
        dist.broadcast(buf, src=0)
        if buf is not t:
            t.copy_(buf)


def average_batchnorm_statistics(model: nn.Module) -> None:
    """Average BatchNorm running means and variances across ranks (each rank tracked its own slice),
    so that evaluation and the checkpoint see one model, identical on every rank."""
    stats = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats and m.running_mean is not None:
            stats += [m.running_mean, m.running_var]
    all_reduce_mean(stats)


def pick_device(name: str = "auto"):
    """'auto' -> CUDA when present, else CPU; anything else is passed to torch.device (checked)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"--device {name!r} is not a device name; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise UserError(f"--device {name}: this package runs on cpu or cuda; use --device cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name} asked for CUDA but no CUDA device is available; use --device cpu")
    return device


def init_from_env(device_arg: str = "auto") -> torch.device:
    """This process's device; under torchrun also joins the process group.

    Outside torchrun this is `pick_device(device_arg)`. Under torchrun, 'auto' and 'cuda' give
    cuda:LOCAL_RANK with NCCL when CUDA is present, 'cpu' (or no CUDA) gives the CPU with gloo.
    """
    if not launched_by_torchrun():
        return pick_device(device_arg)
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if device_arg == "auto":
        use_cuda = torch.cuda.is_available()
    else:
        requested = pick_device(device_arg)  # checks the name and CUDA's presence
        if requested.type == "cuda" and requested.index is not None and int(os.environ["WORLD_SIZE"]) > 1:
            raise UserError(f"--device {device_arg}: under torchrun each process uses cuda:LOCAL_RANK; "
                            f"pass --device cuda (or auto) and choose GPUs with CUDA_VISIBLE_DEVICES")
        if requested.type not in ("cpu", "cuda"):
            raise UserError(f"--device {device_arg}: distributed runs support cpu (gloo) and cuda (nccl)")
        use_cuda = requested.type == "cuda"
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise UserError(f"LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} CUDA devices are "
                            f"visible; start at most that many processes per node")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if not is_distributed():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return device


def destroy_process_group() -> None:
    """Leave the process group (the end of a torchrun process); a no-op when none was joined.

    Objects still bound to the group (a dropped DistributedDataParallel wrapper caught in a reference
    cycle) are collected first: destroyed after the group, they abort the process at exit.
    """
    if is_distributed():
        gc.collect()
        dist.destroy_process_group()


def same_on_every_rank(table: dict[str, dict]) -> dict[str, dict]:
    """Rank 0's table of numbers on every rank (every rank's table has the same rows, each {name: number or
    [numbers]}): what rank 0 measured (op costs, a fitted factor) is what every rank uses."""
    values = torch.tensor([x for row in table.values() for v in row.values() for x in (v if isinstance(v, list) else [v])],
                          dtype=torch.float64)
    broadcast_from_main([values])
    flat = iter(values.tolist())
    return {t: {k: [next(flat) for _ in v] if isinstance(v, list) else next(flat) for k, v in row.items()}
            for t, row in table.items()}
