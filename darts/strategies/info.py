"""What a registered strategy is (StrategyInfo) and what a search returns (SearchOutcome); the strategies' own
modules build one, darts/strategies/registry.py lists them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from darts.options import Option

KIND_REQUIRES = {"gradient": ("build_supernet",), "weight-sharing": ("build_supernet", "arch_space"),
                 "sample": ("arch_space",)}


@dataclass
class SearchOutcome:
    genotype: Any
    history: list[dict] = field(default_factory=list)  # a row per epoch (DARTS, ENAS) or per evaluation
    model: Any = None                                   # the trained supernet (DARTS, ENAS)


@dataclass(frozen=True)
class StrategyInfo:
    """A registered strategy. `run(prepared, run_dir, callbacks) -> SearchOutcome` searches with what
    experiment.prepare_search built (prepared.model, .adapter, .data, .evaluator, .settings, ...)."""
    name: str
    kind: str                        # "gradient", "weight-sharing" or "sample"
    description: str
    own_options: tuple[Option, ...] | Callable[[], tuple[Option, ...]] = ()  # a callable: computed at lookup
    own_check: Callable[[dict], None] | None = None  # refuses contradictory settings (one-line UserError)
    run: Callable[..., SearchOutcome] | None = None
    takes_addons: bool = False       # the search add-ons plug into its loop (DARTS)
    # builds, before the run folder exists, what the run needs beyond the supernet (a sample strategy's object
    # and evaluator) onto `prepared`, so that their checks refuse bad options while nothing is written yet
    prepare: Callable[[Any], None] | None = None
    # (setting, value) pairs this strategy defaults otherwise than the settings' own defaults (a space's
    # strategy_defaults still win), e.g. multi-fidelity's most epochs per trial
    setting_defaults: tuple[tuple[str, Any], ...] = ()

    @property
    def requires(self) -> tuple[str, ...]:
        """The space capabilities this strategy needs."""
        return KIND_REQUIRES[self.kind]

    @property
    def uses_supernet(self) -> bool:
        return "build_supernet" in self.requires

    def addons(self) -> list:
        if not self.takes_addons:
            return []
        from darts.addons.registry import addons
        return list(addons().values())

    @property
    def option_groups(self) -> tuple[tuple[str, tuple[Option, ...]], ...]:
        """(title, options) pairs for help: the strategy's own, then each add-on's that has options."""
        own = self.own_options() if callable(self.own_options) else self.own_options
        return ((f"strategy {self.name}", tuple(own)),) + tuple(
            (f"add-on {a.name}", tuple(a.options)) for a in self.addons() if a.options)

    @property
    def options(self) -> tuple[Option, ...]:
        """Every option of this strategy: its own and its add-ons' (those registered now)."""
        return tuple(o for _, group in self.option_groups for o in group)

    def check(self, settings: dict) -> None:
        """Refuse contradictory settings: the strategy's own rules, then each add-on's."""
        if self.own_check is not None:
            self.own_check(settings)
        for addon in self.addons():
            addon.check(settings)

    def check_supernet(self, supernet, space, settings: dict) -> None:
        """Refuse, before anything is written, an active add-on the supernet cannot carry."""
        for addon in self.addons():
            if addon.is_active(settings):
                addon.requires(supernet, space, settings)
