"""Add-on: DARTS-ES, stop when the Hessian eigenvalue grows too fast and keep an earlier genotype
(darts/robust/early_stop.py); it reads the eigenvalue of the hessian_eigen add-on, attached before it."""
from __future__ import annotations

from darts.addons.base import SearchAddon, register_addon
from darts.errors import UserError
from darts.options import Option


@register_addon
class EarlyStopAddon(SearchAddon):
    name = "early_stop"
    description = "DARTS-ES: early stopping on the Hessian eigenvalue"
    options = (
        Option("early_stop", False, "DARTS-ES: stop when the eigenvalue grows too fast, keep an earlier genotype",
               flag=True),
        Option("early_stop_window", 5, "DARTS-ES: k, epochs between the two compared k-epoch means",
               minimum=1),
        Option("early_stop_ratio", 0.75, "DARTS-ES: stop when mean eigenvalue(i-k) / mean eigenvalue(i) < ratio",
               minimum=0.0))

    def is_active(self, settings: dict) -> bool:
        return bool(settings.get("early_stop"))

    def check(self, settings: dict) -> None:
        if settings.get("early_stop") and settings.get("selection") == "pt":
            raise UserError("--early_stop and --selection pt both decide when and what the search returns: use one")

    def attach(self, searcher, settings: dict, context) -> None:
        from darts.robust.early_stop import EarlyStop
        k = self.value(settings, "early_stop_window")
        stopper = EarlyStop(searcher, k, k, self.value(settings, "early_stop_ratio"))
        searcher.epoch_end_hooks.append(stopper)
        searcher.extra_parts["early_stop"] = stopper
