"""The NAS-Bench-201 supernet: every edge of the (shared) cell is a MixedOp over the five operations.

One alpha matrix (6 edges x 5 ops) is shared by all 15 cells, as in the benchmark's DARTS baseline.
Inside cells BatchNorm has no affine parameters (as in DARTS search); the skeleton (stem, residual
reductions, head) is the final network's. The discretizer takes each edge's argmax operation, 'none'
included, as the benchmark's DARTS baseline does: this is how DARTS's collapse shows up here.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import torch
import torch.nn as nn

from darts.spaces.common.nb201_arch import EDGES, Nb201Arch
from darts.spaces.common.nb201_cell import Nb201Cell
from darts.spaces.common.nb201_ops import NB201_OPS, nb201_op
from darts.spaces.common.nb201_skeleton import Nb201Skeleton
from darts.spaces.derivation import Derivation, offered
from darts.spaces.mixed_op import MixedOp
from darts.spaces.relaxation import Relaxation, make_relaxation


def search_cell(C: int, primitives: Sequence[str], aux_skip: bool = False) -> Nb201Cell:
    """`aux_skip`: each edge gets DARTS-'s auxiliary skip connection (every edge here has stride 1)."""
    return Nb201Cell([MixedOp([nb201_op(p, C, affine=False) for p in primitives], primitives,
                              aux=nn.Identity() if aux_skip else None) for _ in EDGES])


def derive_arch(weights: torch.Tensor, primitives: Sequence[str] = NB201_OPS) -> Nb201Arch:
    """Alphas (6 x n_ops, softmaxed or not) -> the argmax operation of every edge."""
    return Nb201Arch(tuple(primitives[int(j)] for j in weights.detach().argmax(dim=-1).tolist()))


class Nb201SearchNetwork(Nb201Skeleton):
    ALPHA_NAMES = ("alphas_edges",)

    def __init__(self, C: int = 16, N: int = 5, num_classes: int = 10, in_channels: int = 3,
                 primitives: Sequence[str] = NB201_OPS, relaxation: Relaxation | str | None = None,
                 aux_skip: bool = False):
        primitives = list(primitives)
        if sorted(primitives) != sorted(NB201_OPS):
            # The discrete cell must be a benchmark cell, so the table can score it.
            raise ValueError(f"the NAS-Bench-201 supernet searches exactly {NB201_OPS}, got {primitives}")
        super().__init__(lambda C_stage: search_cell(C_stage, primitives, aux_skip), C, N, num_classes, in_channels)
        self.config = dict(C=C, N=N, num_classes=num_classes, in_channels=in_channels, primitives=primitives,
                           **({"aux_skip": True} if aux_skip else {}))
        self.primitives = primitives
        self.relaxation = make_relaxation(relaxation)
        self.alphas_edges = nn.Parameter(1e-3 * torch.randn(len(EDGES), len(primitives)))

    # --- the contract every searchable supernet offers the strategies ----------------------------
    @property
    def capabilities(self) -> frozenset:
        """What it offers the search add-ons: selection by perturbation; DARTS-'s auxiliary skips when built
        with them. Its cells derive by the argmax of every edge only."""
        return frozenset({"selection"} | ({"aux_skip"} if self.config.get("aux_skip") else set()))

    def use_relaxation(self, relaxation: Relaxation) -> None:
        """Mix and derive through `relaxation` from now on (e.g. DARTS-PT's projection of the current one)."""
        self.relaxation = relaxation

    def alphas(self) -> list[nn.Parameter]:
        return [self.alphas_edges]

    def named_weights(self) -> Iterator[tuple[str, nn.Parameter]]:
        return ((n, p) for n, p in self.named_parameters() if n not in self.ALPHA_NAMES)

    def weights(self) -> list[nn.Parameter]:
        return [p for _, p in self.named_weights()]

    def selection_groups(self) -> dict:
        """For perturbation-based selection: every edge chooses among all five ops ('none' is a benchmark
        op); every edge stays, so no node chooses its inputs."""
        return {"alphas_edges": {"nodes": [], "keep": 0, "ops": list(range(len(self.primitives)))}}

    def genotype(self, derivation: Derivation | None = None) -> Nb201Arch:
        offered(derivation, self.capabilities, type(self).__name__)
        with torch.no_grad():  # through the relaxation: its expected weights, or the selection's projection
            return derive_arch(self.relaxation.probabilities(self.alphas_edges), self.primitives)

    def alpha_summary(self) -> dict:
        """Softmaxed alphas, one row per edge in EDGES order (1<-0, 2<-0, 2<-1, 3<-0, ...), for logs and plots."""
        return {"primitives": self.primitives,
                "edges": self.relaxation.probabilities(self.alphas_edges.detach().float()).cpu().tolist()}

    # ---------------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with(x, self.relaxation.mix(self.alphas_edges))

    def forward_path(self, x: torch.Tensor, arch: Nb201Arch) -> torch.Tensor:
        """Logits of the discrete cell `arch` with the supernet's weights: each edge runs only its op (ENAS)."""
        return self.forward_with(x, [self.primitives.index(op) for op in arch.ops])
