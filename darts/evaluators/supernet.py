"""Weight-sharing evaluation: a trained supernet scores a sampled architecture with the weights it inherits.

The supernet runs exactly the sampled path (`forward_path`: each edge computes its chosen op only, a one-hot
over the edge's candidates, as ENAS and random search with parameter sharing evaluate). Its BatchNorm running
statistics were accumulated over many different paths and fit none of them, so, as SPOS does for every sampled
path, they are recomputed first: reset, momentum None (a cumulative average over the batches), and forwarded in
train mode without gradients over `bn_batches` training batches through the path. The reward is then the
accuracy (percent) on the validation batches in eval mode. Every BatchNorm buffer, momentum and module mode is
restored afterwards, so one evaluation never affects the next (their order does not matter) and the weights
are never touched.

`from_run` loads the supernet of a search run folder (DARTS or ENAS on a space whose supernet runs one path).
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
import torch.nn as nn

Batch = tuple[torch.Tensor, torch.Tensor]


def batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers that keep running statistics."""
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@contextlib.contextmanager
def kept_statistics(model: nn.Module) -> Iterator[None]:
    """Restores every BatchNorm buffer and momentum, and every module's train/eval mode, on leaving."""
    norms = batch_norms(model)
    saved = [({k: v.clone() for k, v in m.named_buffers(recurse=False)}, m.momentum) for m in norms]
    modes = [(m, m.training) for m in model.modules()]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, (buffers, momentum) in zip(norms, saved):
                for k, v in buffers.items():
                    getattr(m, k).copy_(v)
                m.momentum = momentum
        for m, training in modes:
            m.training = training


@torch.no_grad()
def recompute_statistics(model: nn.Module, forward: Callable[[torch.Tensor], Any], inputs: Sequence[torch.Tensor]):
    """Every BatchNorm's running statistics as the cumulative average over `inputs` of what `forward` (run in train
    mode, no gradients) shows it: reset, momentum None. Layers `forward` does not reach stay reset."""
    for m in batch_norms(model):
        m.reset_running_stats()
        m.momentum = None
    model.train()
    for x in inputs:
        forward(x)


class SupernetEvaluator:
    def __init__(self, supernet: nn.Module, train_batches: Sequence[Batch], val_batches: Sequence[Batch],
                 bn_batches: int = 10, arch_to_path: Callable[[Any], Any] | None = None,
                 device: torch.device | str = "cpu", name: str = "supernet"):
        """`train_batches`: the first `bn_batches` recompute BatchNorm statistics; `val_batches`: scored.
        `arch_to_path(arch)`: what the supernet's `forward_path(x, path)` takes (default: the arch itself)."""
        if not hasattr(supernet, "forward_path"):
            raise ValueError(f"{type(supernet).__name__} cannot run one path (it has no forward_path)")
        if bn_batches < 0 or not val_batches:
            raise ValueError("bn_batches must be at least 0, and val_batches must hold at least one batch")
        self.device = torch.device(device)
        self.supernet = supernet.to(self.device)
        self.bn_inputs = [x.to(self.device) for x, _ in list(train_batches)[:bn_batches]]
        self.val_batches = [(x.to(self.device), y.to(self.device).long()) for x, y in val_batches]
        self.arch_to_path = arch_to_path or (lambda arch: arch)
        n_val = sum(len(y) for _, y in self.val_batches)
        self.name = f"{name}:bn{len(self.bn_inputs)}x:val{n_val}"

    def path_forward(self, arch: Any) -> Callable[[torch.Tensor], torch.Tensor]:
        path = self.arch_to_path(arch)
        return lambda x: self.supernet.forward_path(x, path)

    @contextlib.contextmanager
    def path_statistics(self, arch: Any) -> Iterator[Callable[[torch.Tensor], torch.Tensor]]:
        """Inside: the supernet in eval mode with BatchNorm statistics recomputed for `arch`'s path; yields that
        path's forward. Everything is restored on leaving."""
        forward = self.path_forward(arch)
        with kept_statistics(self.supernet):
            if self.bn_inputs:
                recompute_statistics(self.supernet, forward, self.bn_inputs)
            self.supernet.eval()
            yield forward

    @torch.no_grad()
    def logits(self, arch: Any, x: torch.Tensor) -> torch.Tensor:
        with self.path_statistics(arch) as forward:
            return forward(x.to(self.device))

    @torch.no_grad()
    def evaluate(self, arch: Any) -> float:
        """Validation accuracy (percent) of `arch`'s path with the supernet's weights and recomputed statistics."""
        correct = total = 0
        with self.path_statistics(arch) as forward:
            for x, y in self.val_batches:
                correct += int((forward(x).argmax(dim=1) == y).sum())
                total += len(y)
        return 100.0 * correct / total

    @classmethod
    def from_run(cls, run_dir: str | Path, shape, train_batches: Sequence[Batch], val_batches: Sequence[Batch],
                 space: str | None = None, **kwargs) -> "SupernetEvaluator":
        """The evaluator of the supernet a search run folder trained (`shape`: the data's DataShape); `space`, when
        given, must be the folder's. Refused with one line: no run folder, no supernet checkpoint, another space,
        a supernet that cannot run one path, or weights of another size."""
        supernet, label = load_run_supernet(run_dir, shape, space)
        return cls(supernet, train_batches, val_batches, name=f"supernet:{label}", **kwargs)


def load_run_supernet(run_dir: str | Path, shape, space: str | None = None) -> tuple[nn.Module, str]:
    """(supernet with the run's trained weights, a label of the run) from a search run folder."""
    from darts.checkpoint import load_checkpoint
    from darts.engine import CHECKPOINT
    from darts.errors import UserError
    from darts.runs import read_settings_file
    from darts.spaces.registry import get_space
    folder = Path(run_dir)
    hint = "give the folder of a DARTS or ENAS search (--save DIR), which holds args.json and checkpoint.pt"
    if not (folder / "args.json").is_file() or not (folder / CHECKPOINT).is_file():
        raise UserError(f"--supernet {folder}: no args.json and {CHECKPOINT} there; {hint}")
    settings = read_settings_file(folder / "args.json", "--supernet")
    if space is not None and settings.get("space") != space:
        raise UserError(f"--supernet {folder} searched the {settings.get('space')} space, not {space}; {hint} "
                        f"of the {space} space")
    state = load_checkpoint(folder / CHECKPOINT)
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
        raise UserError(f"--supernet {folder}: its {CHECKPOINT} holds no supernet (a sample-based search?); {hint}")
    found = get_space(settings["space"])
    if not found.supports("build_supernet"):
        raise UserError(f"--supernet {folder}: the {found.name} space has no supernet; {hint}")
    supernet = found.build_supernet({**settings, "relaxation": None}, shape)  # a single path mixes nothing
    if not hasattr(supernet, "forward_path"):
        raise UserError(f"--supernet {folder}: the {found.name} space's supernet cannot run one path")
    try:
        supernet.load_state_dict(state["model"])
    except RuntimeError as e:
        raise UserError(f"--supernet {folder} was trained on other data or settings (its weights do not fit: "
                        f"{str(e).splitlines()[-1].strip()[:100]})") from None
    return supernet, f"{settings['space']}:{settings.get('strategy')}:{folder.resolve().name}:epoch{state.get('epoch')}"
