"""The dominant eigenvalue of the validation loss's Hessian w.r.t. the alphas (RobustDARTS, Zela et al.,
ICLR 2020): its growth during the search goes with the collapse of the cell to parameter-free operations.

Power iteration on exact Hessian-vector products (double backward):  H v = grad_alpha (grad_alpha L . v),
v_{k+1} = H v_k / ||H v_k||,  lambda_k = v_k . H v_k,  from a seeded random start, a fixed number of steps.
It converges to the eigenvalue of largest magnitude.
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, Iterable

import torch

from darts.distributed import all_reduce_mean
from darts.training import training_mode_frozen


def dominant_eigenvalue(loss: torch.Tensor, params: list[torch.Tensor], iterations: int = 20,
                        seed: int = 0) -> float:
    """The largest-magnitude eigenvalue of d^2 loss / d params^2 (params flattened together)."""
    grads = torch.autograd.grad(loss, params, create_graph=True)
    gen = torch.Generator().manual_seed(seed)  # its own generator: the search's RNG stream is untouched
    v = [torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p) for p in params]
    eigenvalue = 0.0
    for _ in range(iterations):
        norm = torch.sqrt(sum((vi.double() ** 2).sum() for vi in v))
        v = [vi / norm for vi in v]
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        eigenvalue = float(sum((vi.double() * hi.double()).sum() for vi, hi in zip(v, hv)))
        if all(not h.any() for h in hv):  # a loss flat in the params (e.g. every edge already selected)
            break
        v = [h.detach() for h in hv]
    return eigenvalue


PARAM_FREE = ("skip", "pool")


def param_free_ops(genotype: Any) -> int:
    """Parameter-free operations (names with "skip" or "pool", or "none") in the normal cell (or the
    whole genotype where it has no normal cell)."""
    cell = getattr(genotype, "normal", None) or getattr(genotype, "ops", None) or genotype
    names = list(_strings(cell))
    return sum(1 for n in names if n == "none" or any(word in n for word in PARAM_FREE))


def _strings(obj: Any) -> Iterable[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _strings(item)


class EigenMonitor:
    """An epoch-end hook of DartsSearch adding `hessian_eigenvalue` (on the first `batches` evaluation
    batches, relaxation in evaluation mode so that no sample is drawn; averaged over ranks) and
    `param_free_ops` to the row."""

    def __init__(self, searcher, batches: int = 2, iterations: int = 20, seed: int = 0):
        self.searcher, self.batches, self.iterations, self.seed = searcher, batches, iterations, seed

    def eigenvalue(self) -> float:
        s = self.searcher
        source = s.valid_batches() if s.valid_batches else s.val_stream_pass()
        batches = list(itertools.islice(iter(source), self.batches))
        return _eigen_in_train_mode(s.model, lambda: sum(s.task.loss(s.model, b) for b in batches) / len(batches),
                                    list(s.model.alphas()), self.iterations, self.seed)

    def __call__(self, epoch: int, genotype: Any, metrics: dict) -> None:
        device = next(iter(self.searcher.model.alphas())).device
        value = torch.tensor([self.eigenvalue()], dtype=torch.float64, device=device)
        all_reduce_mean([value])  # every rank logs (and early-stops on) the same number
        metrics["hessian_eigenvalue"] = float(value)
        metrics["param_free_ops"] = param_free_ops(genotype)


def _eigen_in_train_mode(model: torch.nn.Module, loss: Callable[[], torch.Tensor], params, iterations, seed):
    """As the architect sees the loss (batch statistics, running statistics untouched), expected weights;
    the random draws of training mode (dropout) come from a generator seeded here, so the search's stream
    is untouched."""
    cuda = sorted({p.device.index or 0 for p in params if p.device.type == "cuda"})
    with training_mode_frozen(model), torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        return dominant_eigenvalue(loss(), params, iterations, seed)
