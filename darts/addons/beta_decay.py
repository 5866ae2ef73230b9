"""Add-on: beta-DARTS's Beta-Decay regulariser of the alphas (darts/robust/beta.py)."""
from __future__ import annotations

from darts.addons.base import SearchAddon, add_alpha_regularizer, register_addon
from darts.options import Option


@register_addon
class BetaDecayAddon(SearchAddon):
    name = "beta_decay"
    description = "beta-DARTS's Beta-Decay regulariser"
    options = (Option("beta_decay", 0.0, "beta-DARTS: final weight of the Beta-Decay regulariser (grows from 0)",
                      minimum=0.0),)

    def is_active(self, settings: dict) -> bool:
        return bool(settings.get("beta_decay"))

    def attach(self, searcher, settings: dict, context) -> None:
        from darts.robust.beta import BetaDecay
        add_alpha_regularizer(searcher, BetaDecay(settings["beta_decay"], searcher.config.epochs,
                                                  lambda: searcher.epoch))
