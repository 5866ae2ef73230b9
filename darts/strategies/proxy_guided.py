"""Proxy-guided search: any sample strategy, with a zero-cost proxy choosing which architectures cost a real
evaluation. A wrapper, not a strategy of its own: `ProxyGuided(inner, scorer)` asks and tells `inner`, so
random search, evolution, BO, REINFORCE, PPO and plug-ins all gain it the same way.

Two ways the proxy guides, usable together:

- Screening (warm start; `screen_top` > 0): before the inner strategy proposes anything, `screen_candidates`
  distinct random architectures (from the wrapper's own random stream, not the inner strategy's) are scored,
  and the `screen_top` best-scored are the first proposals, best first. Their rewards are told to the inner
  strategy by its own `tell`, as architectures it did not propose: evolution takes them into its population
  (its initial population when `screen_top` >= its population size, else it fills the rest at random), BO adds
  them as completed trials (its initial points; TPE counts them among its random start-up trials), random
  search ignores them, REINFORCE and PPO learn from them as from their own samples.
- Filtering (`filter_k` > 1): each later proposal is the best-scored of `filter_k` proposals of the inner
  strategy. The other k-1 are told nothing. After the k proposals the inner strategy is reloaded from its own
  state (its random stream advanced past all k), so what it keeps about an open proposal is dropped and the
  chosen one is told like any architecture: random search and evolution keep nothing of a proposal, so this
  changes nothing for them; BO's k open Optuna trials are dropped and the chosen architecture is added as a
  completed trial; REINFORCE and PPO learn from the chosen sample only (a sample filtered by the proxy, so
  their policy gradient is biased towards what the proxy prefers). The reload is also what makes a resumed
  search equal an uninterrupted one.

The proxy costs measured time: every score is timed (or charged the seconds the scorer reports, for cached
scores), and `history_fields()` gives, for the proposal just made, its proxy score and the proxy seconds spent
since the previous proposal (the whole screen on the first), with their running total, for the search's
history lines. Scores are kept by architecture, so no architecture is scored (or charged) twice; the screen's
results, the queue, the scores and the inner strategy's state are all in `state_dict()`.
"""
from __future__ import annotations

import json
import math
import random
import time
from typing import Any, Callable

from darts.errors import UserError
from darts.strategies.base import Strategy

# arch -> score, or (score, seconds) where the seconds were measured elsewhere (a cache of scores)
Scorer = Callable[[Any], "float | tuple[float, float]"]


class ProxyGuided(Strategy):
    """Any sample strategy, screened and filtered by a zero-cost proxy (see the module's docstring)."""

    def __init__(self, inner: Strategy, scorer: Scorer, proxy: str = "proxy", screen_candidates: int = 100,
                 screen_top: int = 10, filter_k: int = 1):
        check_guide_options(screen_candidates, screen_top, filter_k)
        super().__init__(inner.space, inner.seed)
        self.rng = random.Random(f"proxy screen {inner.seed}")  # apart from the inner strategy's own stream
        self.inner, self.scorer, self.proxy = inner, scorer, proxy
        self.name = f"{inner.name}+{proxy}"
        self.screen_candidates, self.screen_top, self.filter_k = screen_candidates, screen_top, filter_k
        self.screened = screen_top == 0
        self.candidates: list[list] = []  # [encoded arch, score] of the screen, in sampling order
        self.queue: list[Any] = []  # the screen's best, not yet proposed
        self.scores: dict[str, float] = {}  # architecture key -> proxy score
        self.proxy_seconds = 0.0  # all proxy time so far
        self._fields = {"proxy_score": None, "proxy_seconds": 0.0, "proxy_seconds_total": 0.0}

    def _key(self, arch: Any) -> str:
        return json.dumps(self.space.encode(arch), sort_keys=True)

    def score(self, arch: Any) -> float:
        """The proxy's score of `arch` (NaN counts as -inf), timed; each architecture scored once."""
        key = self._key(arch)
        if key not in self.scores:
            start = time.perf_counter()
            out = self.scorer(arch)
            value, seconds = out if isinstance(out, tuple) else (out, time.perf_counter() - start)
            value = float(value)
            self.scores[key] = value if not math.isnan(value) else float("-inf")
            self.proxy_seconds += float(seconds)
        return self.scores[key]

    def _screen(self) -> None:
        """Score `screen_candidates` distinct random architectures; queue the `screen_top` best, best first."""
        seen, tries = {}, 0
        while len(seen) < self.screen_candidates and tries < 20 * self.screen_candidates:
            arch, tries = self.space.sample_random(self.rng), tries + 1
            seen.setdefault(self._key(arch), arch)
        archs = list(seen.values())
        scores = [self.score(a) for a in archs]
        self.candidates = [[self.space.encode(a), s] for a, s in zip(archs, scores)]
        order = sorted(range(len(archs)), key=lambda i: (-scores[i], i))
        self.queue = [archs[i] for i in order[:self.screen_top]]
        self.screened = True

    def _filtered(self) -> Any:
        """The best-scored of `filter_k` proposals of the inner strategy (the first among equals)."""
        proposals = [self.inner.ask() for _ in range(self.filter_k)]
        self.inner.load_state_dict(self.inner.state_dict())  # drop the open proposals, keep the advanced stream
        return max(proposals, key=self.score)

    def ask(self) -> Any:
        before = self.proxy_seconds
        if not self.screened:
            self._screen()
        if self.queue:
            arch = self.queue.pop(0)
        elif self.filter_k > 1:
            arch = self._filtered()
        else:
            arch = self.inner.ask()
        self._fields = {"proxy_score": self.scores.get(self._key(arch)),
                        "proxy_seconds": round(self.proxy_seconds - before, 6),
                        "proxy_seconds_total": round(self.proxy_seconds, 6)}
        return arch

    def tell(self, arch: Any, reward: float) -> None:
        self.inner.tell(arch, reward)

    def history_fields(self) -> dict:
        """For the history line of the proposal just made: its proxy score (None when it was not scored), the
        proxy seconds spent since the previous proposal, and all proxy seconds so far."""
        return dict(self._fields)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "inner": self.inner.state_dict(), "screened": self.screened,
                "candidates": self.candidates, "queue": [self.space.encode(a) for a in self.queue],
                "scores": dict(self.scores), "proxy_seconds": self.proxy_seconds, "fields": dict(self._fields)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.inner.load_state_dict(state["inner"])
        self.screened, self.candidates = bool(state["screened"]), [list(c) for c in state["candidates"]]
        self.queue = [self.space.decode(a) for a in state["queue"]]
        self.scores, self.proxy_seconds = dict(state["scores"]), float(state["proxy_seconds"])
        self._fields = dict(state["fields"])


def check_guide_options(screen_candidates: int, screen_top: int, filter_k: int) -> None:
    """One-line refusals of options that cannot work together."""
    if screen_candidates < 1 or screen_top < 0 or filter_k < 1:
        raise UserError(f"--screen_candidates must be at least 1 (got {screen_candidates}), --screen_top at least 0 "
                        f"(got {screen_top}) and --proxy_filter at least 1 (got {filter_k})")
    if screen_top > screen_candidates:
        raise UserError(f"--screen_top {screen_top} exceeds --screen_candidates {screen_candidates}: the best are "
                        f"chosen among the candidates; give at most as many as are screened")
    if screen_top == 0 and filter_k == 1:
        raise UserError("--proxy_screen with --screen_top 0 and --proxy_filter 1 leaves the proxy nothing to do: "
                        "give --screen_top N (evaluate the N best-scored first) or --proxy_filter K")


def guide_by_proxy(strategy: Strategy, prepared) -> Strategy:
    """`strategy` wrapped as the settings ask (--proxy_screen NAME, --screen_candidates, --screen_top,
    --proxy_filter), scoring each architecture's network by the proxy on a seeded minibatch of the training
    portion of the prepared data; `strategy` itself without --proxy_screen."""
    s = prepared.settings
    if not s.get("proxy_screen"):
        return strategy
    check_guide_options(s["screen_candidates"], s["screen_top"], s["proxy_filter"])
    from dataclasses import replace
    from darts.evaluators.proxy import ProxyEvaluator
    from darts.proxies import get_proxy
    get_proxy(s["proxy_screen"])  # an unknown name: one line naming the registered ones
    data = getattr(prepared.data, "data", None)
    if data is None or not hasattr(prepared.data, "proxy_evaluator"):
        raise UserError(f"--proxy_screen scores image networks on the data; the {prepared.space.name} space "
                        f"{'has no such networks' if data is not None else 'search read no data'}: leave it out")
    space, shape = prepared.space, prepared.data.shape
    evaluator = ProxyEvaluator.from_dataset(
        lambda arch, c, k: space.build_network(arch, s, replace(shape, in_channels=c, num_classes=k)), data,
        s["proxy_screen"], portion=s.get("train_portion", 1.0), seed=s["seed"], device=prepared.device, arch_key=str)
    return ProxyGuided(strategy, evaluator.evaluate, s["proxy_screen"], s["screen_candidates"], s["screen_top"],
                       s["proxy_filter"])
