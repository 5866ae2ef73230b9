"""Perturbation-based architecture selection (DARTS-PT, Wang et al., ICLR 2021): choose what the supernet
needs, not what has the largest alpha.

After the search, edges are decided one at a time, in random order: each candidate operation of the edge is
taken out of the mixture in turn (its mixing weight set to 0) and the supernet's validation accuracy
measured; the edge keeps the operation whose removal costs the most accuracy, and from then on mixes with a
one-hot row. Where nodes choose their inputs (the DARTS cell keeps 2), a node then drops, one at a time,
the incoming edge whose removal costs the least accuracy until it keeps its number. Between decisions the
supernet is tuned as in the search (architect and weight steps; decided rows stay fixed), with the weight
optimizer reset to a tenth of the learning rate and a cosine schedule over the tuning epochs: with D
decisions, `interval` epochs apart, the tuning runs interval (D - 1) + 1 epochs and decides at their
starts (the authors' code: interval 5, accuracy as the criterion, every op including 'none' on
NAS-Bench-201, 'none' excluded on the DARTS space where topology selection removes edges).

Accuracy is measured as the authors do: training-mode BatchNorm (batch statistics, running statistics
untouched), the relaxation in evaluation mode (no sample drawn), on the validation batches of the
end-of-epoch evaluation (`batches` of them; None: all). Ties go to the lower loss change, then to the
first candidate.

The selection is a few epochs appended to the DartsSearch loop (`extra_epochs`, an epoch-start hook), so it
is checkpointed and resumed with the search; its decisions are in the checkpoint and in alphas.jsonl.
A supernet whose `capabilities` include "selection" offers `use_relaxation(relaxation)` and
`selection_groups()`: per alphas tensor, the nodes' incoming rows, how many a node keeps,
and the op indices an edge may choose.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import random
from typing import Any

import torch

from darts.distributed import all_reduce_sum
from darts.spaces.relaxation import Relaxation
from darts.training import training_mode_frozen
from darts.training import Totals

log = logging.getLogger("darts")


class ProjectedRelaxation(Relaxation):
    """The supernet's relaxation with decided edges one-hot, dropped edges zero, and an optional trial
    (one op, or one whole edge, taken out) on top: mixing weights w' = w * mask + fixed."""

    def __init__(self, base: Relaxation, names: dict[int, str]):
        super().__init__()
        self.base = base
        self.names = names                             # id(alphas parameter) -> its name
        self.chosen: dict[str, dict[int, int]] = {}    # name -> {row: op index}
        self.dropped: dict[str, list[int]] = {}        # name -> rows removed by topology selection
        self.trial: tuple[str, int, int | None] | None = None  # (name, row, op; None: the whole edge)

    @property
    def name(self) -> str:  # the relaxation it wraps, for logs
        return self.base.name

    def mix(self, alphas: torch.Tensor) -> torch.Tensor:
        return self.project(alphas, self.base.mix(alphas))

    def probabilities(self, alphas: torch.Tensor) -> torch.Tensor:
        return self.project(alphas, self.base.probabilities(alphas))

    def project(self, alphas: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        name = self.names.get(id(alphas))
        chosen, dropped = self.chosen.get(name, {}), self.dropped.get(name, [])
        trial = self.trial if self.trial is not None and self.trial[0] == name else None
        if name is None or not (chosen or dropped or trial):
            return weights
        mask, fixed = torch.ones_like(weights), torch.zeros_like(weights)
        for row, op in chosen.items():
            mask[row] = 0
            fixed[row, op] = 1
        rows = list(dropped) + ([trial[1]] if trial is not None and trial[2] is None else [])
        for row in rows:
            mask[row] = 0
            fixed[row] = 0
        if trial is not None and trial[2] is not None:
            mask[trial[1], trial[2]] = 0
        return weights * mask + fixed

    @contextlib.contextmanager
    def trying(self, name: str, row: int, op: int | None):
        self.trial = (name, row, op)
        try:
            yield
        finally:
            self.trial = None

    # the wrapped relaxation's schedule and one-sample context
    def set_epoch(self, epoch: int, epochs: int) -> None:
        if hasattr(self.base, "set_epoch"):
            self.base.set_epoch(epoch, epochs)

    def frozen(self):
        return getattr(self.base, "frozen", contextlib.nullcontext)()


class PerturbationSelection:
    """The DARTS-PT phase of a DartsSearch: wraps the supernet's relaxation, appends the tuning epochs, and
    at the start of every `interval`-th of them makes one decision per alphas tensor."""

    def __init__(self, searcher, interval: int = 5, batches: int | None = None, seed: int = 0):
        model = searcher.model
        if "selection" not in getattr(model, "capabilities", ()):
            raise ValueError(f"{type(model).__name__} does not offer selection (selection_groups, use_relaxation)")
        self.searcher, self.interval, self.batches, self.seed = searcher, interval, batches, seed
        self.groups = model.selection_groups()
        params = dict(model.named_parameters())
        self.relaxation = ProjectedRelaxation(model.relaxation, {id(params[n]): n for n in self.groups})
        model.use_relaxation(self.relaxation)
        self.rows = {n: params[n].shape[0] for n in self.groups}
        self.op_decisions = max(self.rows.values())
        self.decisions = self.op_decisions + max(sum(len(rows) > g["keep"] for rows in g["nodes"])
                                                 for g in self.groups.values())
        self.search_epochs = searcher.config.epochs
        searcher.extra_epochs = interval * (self.decisions - 1) + 1
        self.history: list[dict] = []  # one entry per decision
        self.made_this_epoch: list[dict] = []

    # -- the hooks ---------------------------------------------------------------------------------------
    def __call__(self, epoch: int) -> None:
        t = epoch - self.search_epochs
        self.made_this_epoch = []
        if t < 0 or t % self.interval:
            return
        if t == 0:
            self._reset_optimizer()
        k = t // self.interval
        for name in self.groups:
            decision = self.decide_op(name, k) if k < self.op_decisions else self.decide_node(name, k)
            if decision is not None:
                self.history.append(decision)
                self.made_this_epoch.append(decision)
                log.info("perturbation selection %d/%d: %s", k + 1, self.decisions, decision)

    def epoch_end(self, epoch: int, genotype: Any, metrics: dict) -> None:
        if self.made_this_epoch:
            metrics["selection"] = list(self.made_this_epoch)

    def _reset_optimizer(self) -> None:
        """The tuning's weight optimizer: the search's, its momentum cleared, a tenth of the initial learning
        rate, annealed by cosine over the tuning epochs (the authors' reset)."""
        s, cfg = self.searcher, self.searcher.config
        s.optimizer.state.clear()
        for group in s.optimizer.param_groups:
            group["lr"] = group["initial_lr"] = cfg.learning_rate / 10
        s.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(s.optimizer, float(s.extra_epochs),
                                                                 eta_min=cfg.learning_rate_min)

    # -- decisions -------------------------------------------------------------------------------------------
    def _rng(self, name: str, k: int) -> random.Random:
        return random.Random(f"{self.seed}:{name}:{k}")  # a function of the decision only: resumes agree

    def decide_op(self, name: str, k: int) -> dict | None:
        chosen = self.relaxation.chosen.setdefault(name, {})
        open_rows = [r for r in range(self.rows[name]) if r not in chosen]
        if not open_rows:
            return None
        row = self._rng(name, k).choice(open_rows)
        scores = {}
        for op in self.groups[name]["ops"]:
            with self.relaxation.trying(name, row, op):
                scores[op] = self.score()
        op = min(scores, key=lambda o: scores[o])  # the removal that hurts most: lowest accuracy, highest loss
        chosen[row] = op
        return {"alphas": name, "edge": row, "op": self.searcher.model.primitives[op],
                "accuracy_without": {self.searcher.model.primitives[o]: v[0] for o, v in scores.items()}}

    def decide_node(self, name: str, k: int) -> dict | None:
        group = self.groups[name]
        done = self.relaxation.dropped.setdefault(name, [])
        open_nodes = [i for i, rows in enumerate(group["nodes"])
                      if len(rows) > group["keep"] and not any(r in done for r in rows)]
        if not open_nodes:
            return None
        node = self._rng(name, k).choice(open_nodes)
        rows = list(group["nodes"][node])
        while len(rows) > group["keep"]:
            scores = {}
            for row in rows:
                with self.relaxation.trying(name, row, None):
                    scores[row] = self.score()
            weakest = max(rows, key=lambda r: scores[r])  # its removal costs least: highest accuracy, lowest loss
            rows.remove(weakest)
            done.append(weakest)
        return {"alphas": name, "node": node, "keeps": rows}

    @torch.no_grad()
    def score(self) -> tuple[float, float]:
        """(accuracy, -loss) of the supernet on the selection batches; lower means the trial hurt more."""
        s, model = self.searcher, self.searcher.model
        source = s.valid_batches() if s.valid_batches else s.val_stream_pass()
        totals = Totals()
        with training_mode_frozen(model):
            for batch in itertools.islice(source, self.batches):
                totals.add(s.task.loss_and_stats(model, batch)[1])
        metrics = s.task.summarize(all_reduce_sum(totals))  # every rank decides alike
        return metrics["acc"], -metrics["loss"]

    # -- checkpointed with the loop ----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"chosen": {n: dict(r) for n, r in self.relaxation.chosen.items()},
                "dropped": {n: list(r) for n, r in self.relaxation.dropped.items()},
                "history": list(self.history)}

    def load_state_dict(self, state: dict) -> None:
        self.relaxation.chosen = {n: {int(r): int(o) for r, o in rows.items()} for n, rows in state["chosen"].items()}
        self.relaxation.dropped = {n: [int(r) for r in rows] for n, rows in state["dropped"].items()}
        self.history = list(state["history"])
