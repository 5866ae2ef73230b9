"""The DARTS convolutional supernet: cells whose every edge is a MixedOp over the candidate ops.

Built exactly as the paper's code builds it (stem multiplier 3, reduction cells at 1/3 and 2/3 of
the depth, BatchNorm without affine parameters inside cells, pooling followed by BatchNorm), so the
parameter count matches the original's. Alphas are registered Parameters, kept out of `weights()`
so the weight optimizer never sees them. `forward_path(x, genotype)` runs one discrete cell through the
shared weights instead (ENAS): per node only the genotype's two edges, each with its one chosen op.

`partial_channels=K > 1` gives PC-DARTS (Xu et al., ICLR 2020; K=4 in the paper): each edge's ops see
1/K of the channels (see `MixedOp`), and edge-normalisation weights `betas_normal` / `betas_reduce`
(one per edge, softmaxed over the edges entering each node) scale every edge's output,

    node_j = sum_{i<j} softmax_i(beta_{i->j}) * o_bar_{i,j}(x_i),

which offsets the noise of sampling channels; they also scale each edge's strength when the genotype
is derived. The betas exist only when K > 1 and are returned by `alphas()` with the alphas; K=1
builds exactly the DARTS supernet (same parameters, same random draws).

`memory_saving=True` checkpoints each cell (torch.utils.checkpoint, non-reentrant): the forward keeps only
the cells' inputs, and each cell's inner activations (14 edges x 7 ops, nearly all of the memory) are
recomputed during the backward pass, one cell at a time: a DARTS step takes ~1.4x the time (one more
cell forward per backward pass) and, second order at batch 32, ~0.35x the peak memory (measured by
benchmarks/search_memory.py). The exact Hessian gains little (~0.85x): its double backward keeps the
recomputed tensors. Logits and every gradient (weights, alphas, and the architect's second-order terms,
double backward included) are those of the default mode. Two things make that so: the recomputation runs the
cell with the parameter tensors of the forward pass (the architect's virtual weights w', w+-, passed by
functional_call, are no longer the module's by the time the backward pass runs), and it leaves
BatchNorm's running statistics as they are (only the real forward updates them, once).
"""
from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call
from torch.utils.checkpoint import checkpoint

from darts.genotype import Genotype
from darts.ops import PRIMITIVES, FactorizedReduce, Identity, ReLUConvBN, build_op
from darts.spaces.darts_cnn.discretize import cell_edges, derive_genotype
from darts.spaces.derivation import Derivation, offered
from darts.spaces.mixed_op import MixedOp
from darts.spaces.relaxation import Relaxation, make_relaxation
from darts.training import frozen_batchnorm_stats


def search_op(name: str, C: int, stride: int) -> nn.Module:
    """A candidate op as used inside the supernet: no affine BN; pooling gets a BN of its own."""
    op = build_op(name, C, stride, affine=False)
    if "pool" in name:
        op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False))
    return op


def edge_normalization(betas: torch.Tensor, steps: int, inputs: int = 2) -> torch.Tensor:
    """Per-edge weights from betas (n_edges,): a softmax over the edges entering each node."""
    parts, start = [], 0
    for i in range(steps):
        n = inputs + i
        parts.append(F.softmax(betas[start:start + n], dim=-1))
        start += n
    return torch.cat(parts)


def auxiliary_skip(C: int, stride: int) -> nn.Module:
    """DARTS-'s auxiliary skip of an edge: the identity, or a factorized reduction on a stride-2 edge."""
    return Identity() if stride == 1 else FactorizedReduce(C, C, affine=False)


class SearchCell(nn.Module):
    def __init__(self, primitives: Sequence[str], steps: int, multiplier: int, C_prev_prev: int, C_prev: int,
                 C: int, reduction: bool, reduction_prev: bool, partial_channels: int = 1, aux_skip: bool = False,
                 chain: bool = False):
        super().__init__()
        self.reduction = reduction
        self.steps, self.multiplier = steps, multiplier
        self.reads_older = not chain  # a chain cell never reads its older input: no preprocessing of it
        if not self.reads_older:
            self.preprocess0 = None
        elif reduction_prev:
            self.preprocess0 = FactorizedReduce(C_prev_prev, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0, affine=False)
        self.edge_list = cell_edges(steps, chain)
        self.row = {edge: r for r, edge in enumerate(self.edge_list)}
        self.edges = nn.ModuleList()
        for _, j in self.edge_list:
            stride = 2 if reduction and j < 2 else 1
            ops = [search_op(p, C // partial_channels, stride) for p in primitives]
            aux = auxiliary_skip(C // partial_channels, stride) if aux_skip else None
            self.edges.append(MixedOp(ops, primitives, partial_channels, stride, aux))

    def _inputs(self, s0, s1) -> list:
        return [self.preprocess0(s0) if self.reads_older else None, self.preprocess1(s1)]

    def forward(self, s0, s1, weights, edge_weights=None):
        """weights: (n_edges, n_ops) softmaxed alphas; edge_weights: (n_edges,) edge normalisation or None."""
        states = self._inputs(s0, s1)
        for i in range(self.steps):
            states.append(sum(self.edges[r](states[j], weights[r], None if edge_weights is None else edge_weights[r])
                              for r, (node, j) in enumerate(self.edge_list) if node == i))
        return torch.cat(states[-self.multiplier:], dim=1)

    def forward_path(self, s0, s1, edges: Sequence[tuple[int, int]]):
        """One discrete cell: `edges` holds two (op index, input) pairs per node, in genotype order."""
        states = self._inputs(s0, s1)
        for i in range(self.steps):
            states.append(sum(self.edges[self.row[i, j]].path(states[j], k) for k, j in edges[2 * i: 2 * i + 2]))
        return torch.cat(states[-self.multiplier:], dim=1)


def _cell_with(cell: SearchCell, params: dict, *inputs):
    """The cell run with `params` as its parameters: the recomputation then uses the forward's tensors."""
    return functional_call(cell, params, inputs)


class _StatsFrozen:
    """BatchNorm running statistics held fixed while a checkpointed cell is recomputed. A class, not a
    generator: checkpoint enters the same object at every recomputation (double backward recomputes twice)."""

    def __init__(self, module: nn.Module):
        self.module = module

    def __enter__(self):
        self._frozen = frozen_batchnorm_stats(self.module)
        return self._frozen.__enter__()

    def __exit__(self, *exc):
        return self._frozen.__exit__(*exc)


class SearchNetwork(nn.Module):
    """The supernet searched by DARTS (`Network` in the original model_search.py)."""

    def __init__(self, C: int = 16, num_classes: int = 10, layers: int = 8, steps: int = 4, multiplier: int = 4,
                 stem_multiplier: int = 3, in_channels: int = 3, primitives: Sequence[str] = PRIMITIVES,
                 partial_channels: int = 1, relaxation: Relaxation | str | None = None, aux_skip: bool = False,
                 memory_saving: bool = False, chain: bool = False):
        """`aux_skip`: every edge gets DARTS-'s auxiliary skip connection (weighted by the search).
        `memory_saving`: checkpoint each cell (see the module docstring); same results, less memory.
        `chain`: chain cells (cell_edges): one edge per node, from the node before it; the derived node keeps
        that edge's two strongest ops."""
        super().__init__()
        self.relaxation = make_relaxation(relaxation)
        self.memory_saving = bool(memory_saving)
        if partial_channels < 1 or C % partial_channels:
            raise ValueError(f"partial_channels {partial_channels} must be at least 1 and divide C={C} "
                             f"(each edge's ops get C / partial_channels channels)")
        self.config = dict(C=C, num_classes=num_classes, layers=layers, steps=steps, multiplier=multiplier,
                           stem_multiplier=stem_multiplier, in_channels=in_channels, primitives=list(primitives),
                           partial_channels=partial_channels, **({"aux_skip": True} if aux_skip else {}),
                           **({"chain": True} if chain else {}))
        if chain and partial_channels > 1:
            raise ValueError("chain cells have one edge per node: PC-DARTS's edge normalisation has nothing to weigh")
        self.chain = bool(chain)
        self.partial_channels = partial_channels
        self.primitives = list(primitives)
        self.steps, self.multiplier = steps, multiplier
        C_curr = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C_curr, 3, padding=1, bias=False), nn.BatchNorm2d(C_curr))
        C_prev_prev, C_prev, C_curr = C_curr, C_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                C_curr *= 2
            cell = SearchCell(self.primitives, steps, multiplier, C_prev_prev, C_prev, C_curr, reduction,
                              reduction_prev, partial_channels, aux_skip, chain)
            self.cells.append(cell)
            reduction_prev = reduction
            C_prev_prev, C_prev = C_prev, multiplier * C_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, num_classes)
        n_edges = len(cell_edges(steps, chain))
        self.alphas_normal = nn.Parameter(1e-3 * torch.randn(n_edges, len(self.primitives)))
        self.alphas_reduce = nn.Parameter(1e-3 * torch.randn(n_edges, len(self.primitives)))
        if partial_channels > 1:  # PC-DARTS edge normalisation
            self.betas_normal = nn.Parameter(1e-3 * torch.randn(n_edges))
            self.betas_reduce = nn.Parameter(1e-3 * torch.randn(n_edges))

    # --- the contract every searchable space offers the strategies -------------------------------
    ALPHA_NAMES = ("alphas_normal", "alphas_reduce", "betas_normal", "betas_reduce")
    # What this supernet offers the search add-ons: the derivation rules of darts.spaces.derivation, op cost
    # tables per edge (cost_model(), resource_cost.py), selection by perturbation, and DARTS-'s auxiliary skips when built
    # with them.
    CAPABILITIES = frozenset({"node_rule", "max_skip", "cost_cap", "op_costs", "selection"})

    CHAIN_CAPABILITIES = frozenset({"max_skip", "cost_cap", "op_costs"})  # its node rule is fixed: the chain

    @property
    def capabilities(self) -> frozenset:
        offered = self.CHAIN_CAPABILITIES if self.chain else self.CAPABILITIES
        return offered | ({"aux_skip"} if self.config.get("aux_skip") else frozenset())

    def cost_model(self):
        """The DARTS cells' cost model (op cost table, expected cost, cost cap) the cost add-on uses."""
        from darts.spaces.darts_cnn.resource_cost import DartsCellCosts
        return DartsCellCosts(self.primitives, self.steps, self.chain)

    def use_relaxation(self, relaxation: Relaxation) -> None:
        """Mix and derive through `relaxation` from now on (e.g. DARTS-PT's projection of the current one)."""
        self.relaxation = relaxation

    def selection_groups(self) -> dict:
        """For perturbation-based selection (darts/robust/perturbation.py): per cell type's alphas, the rows
        (edges) entering each node, how many of them a node keeps, and the ops a choice may pick ('none' is
        no op of a discrete cell here)."""
        nodes, start = [], 0
        for i in range(self.steps):
            nodes.append(list(range(start, start + 2 + i)))
            start += 2 + i
        ops = [j for j, name in enumerate(self.primitives) if name != "none"]
        return {name: {"nodes": nodes, "keep": 2, "ops": ops} for name in ("alphas_normal", "alphas_reduce")}

    def alphas(self) -> list[nn.Parameter]:
        """The architecture parameters: alphas, and the edge-normalisation betas when partial_channels > 1."""
        if self.partial_channels > 1:
            return [self.alphas_normal, self.alphas_reduce, self.betas_normal, self.betas_reduce]
        return [self.alphas_normal, self.alphas_reduce]

    def edge_weights(self) -> tuple[torch.Tensor, torch.Tensor] | tuple[None, None]:
        """(normal, reduce) edge-normalisation weights, or (None, None) without partial channels."""
        if self.partial_channels == 1:
            return None, None
        return (edge_normalization(self.betas_normal, self.steps),
                edge_normalization(self.betas_reduce, self.steps))

    def named_weights(self) -> Iterator[tuple[str, nn.Parameter]]:
        return ((n, p) for n, p in self.named_parameters() if n not in self.ALPHA_NAMES)

    def weights(self) -> list[nn.Parameter]:
        return [p for _, p in self.named_weights()]

    def genotype(self, derivation: Derivation | None = None) -> Genotype:
        """The cells derived from the alphas by `derivation` (default: the paper's argmax)."""
        derivation = offered(derivation, self.capabilities, type(self).__name__)
        if self.chain:
            derivation = derivation.but(node_rule="chain")
        with torch.no_grad():
            e_normal, e_reduce = self.edge_weights()
            return derive_genotype(self._every_edge(self.relaxation.probabilities(self.alphas_normal)),
                                   self._every_edge(self.relaxation.probabilities(self.alphas_reduce)),
                                   self.primitives, self.steps, self.multiplier, edge_scale_normal=e_normal,
                                   edge_scale_reduce=e_reduce, derivation=derivation)

    def _every_edge(self, weights: torch.Tensor) -> torch.Tensor:
        """Per-edge rows laid out as a DARTS cell's 14 (a chain's absent edges weigh 0), the layout the
        discretizer, the cost tables and the plots read."""
        if not self.chain:
            return weights
        full = weights.new_zeros(len(cell_edges(self.steps)), weights.shape[-1])
        rows = {edge: r for r, edge in enumerate(cell_edges(self.steps))}
        full[[rows[edge] for edge in cell_edges(self.steps, chain=True)]] = weights
        return full

    def alpha_summary(self) -> dict:
        """Softmaxed alphas per cell type, as plain lists (one row per edge) for logs and plots."""
        return {"primitives": self.primitives,
                "normal": self._every_edge(self.relaxation.probabilities(self.alphas_normal.detach().float()))
                .cpu().tolist(),
                "reduce": self._every_edge(self.relaxation.probabilities(self.alphas_reduce.detach().float()))
                .cpu().tolist(),
                **self._edge_summary()}

    def _edge_summary(self) -> dict:
        """Edge-normalisation weights (one number per edge) when partial channels are on."""
        e_normal, e_reduce = self.edge_weights()
        if e_normal is None:
            return {}
        return {"edges_normal": e_normal.detach().float().cpu().tolist(),
                "edges_reduce": e_reduce.detach().float().cpu().tolist()}

    # ---------------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        w_normal = self.relaxation.mix(self.alphas_normal)
        w_reduce = self.relaxation.mix(self.alphas_reduce)
        e_normal, e_reduce = self.edge_weights()
        for cell in self.cells:
            if cell.reduction:
                s0, s1 = s1, self._run_cell(cell, s0, s1, w_reduce, e_reduce)
            else:
                s0, s1 = s1, self._run_cell(cell, s0, s1, w_normal, e_normal)
        out = self.global_pooling(s1)
        return self.classifier(out.flatten(1))

    def _run_cell(self, cell: SearchCell, s0, s1, weights, edge_weights):
        """The cell, checkpointed in memory-saving mode when a graph is being recorded."""
        if not (self.memory_saving and torch.is_grad_enabled()):
            return cell(s0, s1, weights, edge_weights)
        params = dict(cell.named_parameters())  # under functional_call: the virtual weights of this pass
        return checkpoint(_cell_with, cell, params, s0, s1, weights, edge_weights, use_reentrant=False,
                          context_fn=lambda: (contextlib.nullcontext(), _StatsFrozen(cell)))

    def forward_path(self, x: torch.Tensor, genotype: Genotype) -> torch.Tensor:
        """Logits of the discrete network `genotype` with the supernet's weights (alphas unused)."""
        normal, reduce = self.path_edges(genotype, "normal"), self.path_edges(genotype, "reduce")
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell.forward_path(s0, s1, reduce if cell.reduction else normal)
        out = self.global_pooling(s1)
        return self.classifier(out.flatten(1))

    def path_edges(self, genotype: Genotype, cell: str) -> list[tuple[int, int]]:
        """A genotype cell as (op index, input) pairs, checked against this supernet's shape."""
        edges, concat = getattr(genotype, cell), getattr(genotype, cell + "_concat")
        if len(edges) != 2 * self.steps:
            raise ValueError(f"{cell} cell has {len(edges)} edges; this supernet has {self.steps} nodes of two")
        if list(concat) != list(range(2 + self.steps - self.multiplier, 2 + self.steps)):
            raise ValueError(f"{cell} cell concatenates nodes {list(concat)}; this supernet concatenates its "
                             f"last {self.multiplier}")
        pairs = []
        for k, (op, j) in enumerate(edges):
            if op not in self.primitives or (k // 2, j) not in self.cells[0].row:
                raise ValueError(f"{cell} edge {k} ({op!r}, {j}) is not an edge of this supernet")
            pairs.append((self.primitives.index(op), int(j)))
        return pairs
