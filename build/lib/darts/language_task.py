"""How a text batch becomes a loss (the text modality's task, for every language-model space): next-token cross-entropy, plus the AWD-LSTM activation regularisers
for weight steps. Reports loss (nats per token) and perplexity.

The architect differentiates the plain cross-entropy (`loss`), as the original does; weight steps add
alpha * mean(dropped outputs^2) (AR, off by default) and beta * mean((h_t - h_{t-1})^2) (TAR) on the
cell's raw outputs. Every pass stores its final hidden state in the batch (see darts.data.text).
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

from darts.data.text import TextBatch


class LMOutput(NamedTuple):
    logits: torch.Tensor      # (T, B, ntoken)
    hidden: torch.Tensor      # (B, nhid): state after the last step, carried to the next window
    raw_output: torch.Tensor  # (T, B, nhid) cell outputs, for temporal activation regularisation
    output: torch.Tensor      # (T, B, nhid) after output dropout, for activation regularisation


class LanguageModel:
    metric_names = ("loss", "ppl")

    def __init__(self, alpha: float = 0.0, beta: float = 1e-3):
        self.alpha, self.beta = alpha, beta

    @staticmethod
    def _run(forward: Callable, batch: TextBatch) -> LMOutput:
        out = forward(batch.data, batch.hidden_in)
        batch.hidden_out = out.hidden.detach()
        return out

    @staticmethod
    def _cross_entropy(out: LMOutput, batch: TextBatch) -> torch.Tensor:
        return F.cross_entropy(out.logits.reshape(-1, out.logits.shape[-1]), batch.targets.reshape(-1))

    def regularization(self, out: LMOutput) -> torch.Tensor | float:
        reg = 0.0
        if self.alpha:
            reg = reg + self.alpha * out.output.pow(2).mean()
        if self.beta and out.raw_output.shape[0] > 1:
            reg = reg + self.beta * (out.raw_output[1:] - out.raw_output[:-1]).pow(2).mean()
        return reg

    def loss(self, forward: Callable, batch: TextBatch) -> torch.Tensor:
        return self._cross_entropy(self._run(forward, batch), batch)

    def loss_and_stats(self, forward: Callable, batch: TextBatch) -> tuple[torch.Tensor, dict]:
        out = self._run(forward, batch)
        raw = self._cross_entropy(out, batch)
        n = batch.targets.numel()
        return raw + self.regularization(out), {"loss_sum": raw.detach() * n, "n": n}

    @staticmethod
    def summarize(totals: dict) -> dict:
        loss = float(totals["loss_sum"]) / max(float(totals.get("n", 0)), 1.0)
        return {"loss": loss, "ppl": math.exp(min(loss, 700.0))}

    @staticmethod
    def lr_scale(batch: TextBatch) -> float:
        """Shorter windows take proportionally smaller steps (lr * seq_len / bptt), as the original."""
        return batch.lr_scale
