"""Batches drawn from in-memory tensors on the model's device, with exact, resumable state.

A `BatchStream` owns a shuffle order, a position and a CPU random generator; `state_dict()` captures all
three, so a resumed run draws the same batches and augmentations as an uninterrupted one. The DARTS
validation stream is consumed with `next()` across epochs: it is never restarted each step (the original
rebuilt its iterator every step, always seeing the first batches of a fresh shuffle).

Distributed data parallelism: with `shard=(rank, world)` every rank draws the same permutation and the
same augmentation for a global batch of `batch_size * world` examples and keeps its own slice of
`batch_size`, so N ranks together see exactly the batches of one process with an N-times larger batch
(a final partial batch is split evenly, dropping at most world - 1 examples). Each rank augments the
whole global batch to keep the random draws aligned: cheap next to a network step.

On a GPU the split is kept there as uint8 and augmented in batches there; a split too large for a
quarter of the free GPU memory stays in pinned host memory instead, and each batch is copied over.
"""
from __future__ import annotations

from typing import Iterator

import torch

from darts.data.augment import cutout, normalize, random_crop, random_flip
from darts.data.images import Augmentation
from darts.errors import UserError


def fits_on_device(nbytes: int, device: torch.device) -> bool:
    """True on the CPU; on CUDA when `nbytes` is at most a quarter of the free memory (room for the model)."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= free // 4


class BatchStream:
    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, mean, std,
                 device: torch.device | str = "cpu", augmentation: Augmentation | None = None,
                 cutout_length: int = 0, shuffle: bool = True, seed: int = 0, dtype=torch.float32,
                 shard: tuple[int, int] = (0, 1), channels_last: bool = False):
        if len(x) == 0:
            raise ValueError("cannot draw batches from an empty split")
        self.rank, self.world = int(shard[0]), int(shard[1])
        if not 0 <= self.rank < self.world:
            raise ValueError(f"shard {shard} is not (rank, world size) with 0 <= rank < world size")
        self.device = torch.device(device)
        self.storage = self.device if fits_on_device(x.nbytes + y.nbytes, self.device) else torch.device("cpu")
        self.x = x.to(self.storage)
        self.y = y.to(self.storage)
        if self.storage != self.device:
            self.x, self.y = self.x.pin_memory(), self.y.pin_memory()
        self.batch_size = int(batch_size)
        self.mean = torch.tensor(mean, dtype=dtype, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=dtype, device=self.device).view(1, -1, 1, 1)
        self.augmentation = augmentation
        self.cutout_length = cutout_length
        self.shuffle = shuffle
        self.dtype = dtype
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.generator = torch.Generator().manual_seed(seed)
        self._order = None
        self._pos = 0

    @property
    def global_batch_size(self) -> int:
        return self.batch_size * self.world

    def __len__(self) -> int:
        """Batches in one pass (a final batch of a single example per rank is dropped: BatchNorm cannot
        train on it)."""
        full, rest = divmod(len(self.x), self.global_batch_size)
        return full + (1 if rest // self.world > 1 else 0)

    def _new_pass(self) -> None:
        n = len(self.x)
        self._order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        self._pos = 0

    def _take(self) -> tuple[torch.Tensor, torch.Tensor]:
        idx = self._order[self._pos:self._pos + self.global_batch_size].to(self.storage)
        self._pos += self.global_batch_size
        x = self.x[idx].to(self.device, non_blocking=True)
        aug = self.augmentation
        if aug is not None:
            x = random_crop(x, aug.crop_padding, self.generator)
            if aug.flip:
                x = random_flip(x, self.generator)
        x = normalize(x, self.mean, self.std, self.dtype)
        if self.cutout_length:
            x = cutout(x, self.cutout_length, self.generator)
        y = self.y[idx].to(self.device, non_blocking=True)
        if self.world > 1:  # this rank's equal share of the global batch
            per_rank = len(idx) // self.world
            mine = slice(self.rank * per_rank, (self.rank + 1) * per_rank)
            x, y = x[mine], y[mine]
        return x.contiguous(memory_format=self.memory_format), y

    def _pass_done(self) -> bool:
        return self._order is None or (len(self._order) - self._pos) // self.world <= 1

    def epoch(self, max_batches: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One pass in a fresh order (at most `max_batches` batches)."""
        self._new_pass()
        count = 0
        while not self._pass_done() and (max_batches is None or count < max_batches):
            count += 1
            yield self._take()

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next batch of an endless stream: passes follow each other, reshuffled each time."""
        if self._pass_done():
            self._new_pass()
        return self._take()

    def evaluation_batches(self, max_batches: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One pass in stored order without augmentation; the stream's own state is not touched.
        Sharded, each rank gets its slice of every global batch (every example is seen once in all)."""
        n = len(self.x)
        for i, start in enumerate(range(0, n, self.global_batch_size)):
            if max_batches is not None and i >= max_batches:
                break
            lo = start + self.rank * self.batch_size
            sl = slice(lo, min(lo + self.batch_size, n))
            if sl.start < sl.stop:
                x = normalize(self.x[sl].to(self.device, non_blocking=True), self.mean, self.std, self.dtype)
                yield x.contiguous(memory_format=self.memory_format), self.y[sl].to(self.device, non_blocking=True)

    def batches_per_epoch(self, max_batches: int | None = None) -> int:
        return len(self) if max_batches is None else min(len(self), max_batches)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "order": self._order, "pos": self._pos}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self._order = state["order"]
        self._pos = state["pos"]


def check_train_portion(n: int, train_portion: float) -> int:
    """Where --train_portion splits `n` training examples; one line when a side would hold fewer than 2."""
    if not 0 < train_portion < 1:
        raise UserError(f"--train_portion {train_portion} must be between 0 and 1 (exclusive)")
    split = int(n * train_portion)
    if split < 2 or n - split < 2:
        raise UserError(f"--train_portion {train_portion} leaves fewer than 2 examples in a split of {n}")
    return split


def search_streams(data: ImageDataset, batch_size: int, train_portion: float = 0.5, device="cpu", seed: int = 2,
                   cutout_length: int = 0, shard: tuple[int, int] = (0, 1),
                   channels_last: bool = False) -> tuple[BatchStream, BatchStream]:
    """(weight-training stream, alpha-training stream): the first `train_portion` of the training split
    trains the weights, the rest the alphas, as in the original code. `shard` = (rank, world size)."""
    n, split = len(data.train_x), check_train_portion(len(data.train_x), train_portion)
    return tuple(BatchStream(data.train_x[s], data.train_y[s], batch_size, data.mean, data.std, device,
                             data.augmentation, cutout_length, seed=seed * 1000 + i, shard=shard,
                             channels_last=channels_last)
                 for i, s in enumerate((slice(0, split), slice(split, n))))
