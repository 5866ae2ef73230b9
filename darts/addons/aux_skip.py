"""Add-on: DARTS-'s auxiliary skip connections, their weight decayed over the search (darts/robust/aux_skip.py).
The space builds the supernet with the auxiliary modules when `aux_skip` is set; it then offers "aux_skip"."""
from __future__ import annotations

from darts.addons.base import SearchAddon, register_addon
from darts.options import Option


@register_addon
class AuxSkip(SearchAddon):
    name = "aux_skip"
    description = "DARTS-'s decayed auxiliary skip connections"
    options = (Option("aux_skip", 0.0, "DARTS-: initial weight of a skip beside each edge, decayed to 0 (paper: 1)",
                      minimum=0.0),)
    needs = frozenset({"aux_skip"})
    refusal = "--aux_skip is not available for the {space} space's supernet"

    def is_active(self, settings: dict) -> bool:
        return bool(settings.get("aux_skip"))

    def attach(self, searcher, settings: dict, context) -> None:
        from darts.robust.aux_skip import AuxiliarySkipDecay
        searcher.epoch_start_hooks.append(AuxiliarySkipDecay(searcher.model, settings["aux_skip"],
                                                             searcher.config.epochs))
