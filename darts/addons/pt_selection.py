"""Add-on: DARTS-PT's perturbation-based selection, tuning epochs after the search that decide the cell edge by
edge (darts/robust/perturbation.py). It projects the supernet's relaxation; the default derivation reads it."""
from __future__ import annotations

from darts.addons.base import SearchAddon, register_addon
from darts.options import Option


@register_addon
class PerturbationSelectionAddon(SearchAddon):
    name = "pt_selection"
    description = "DARTS-PT: perturbation-based selection of the cell"
    options = (
        Option("selection", "argmax", "argmax (the alphas, DARTS) or pt (DARTS-PT's perturbation-based choice)",
               choices=("argmax", "pt")),
        Option("pt_interval", 5, "DARTS-PT: tuning epochs between two decisions (paper: 5)", minimum=1),
        Option("pt_batches", None, "DARTS-PT: validation batches per accuracy (default: the whole evaluation)",
               type=int, minimum=1))
    needs = frozenset({"selection"})
    refusal = "--selection pt is not available for the {space} space's supernet"

    def is_active(self, settings: dict) -> bool:
        return settings.get("selection") == "pt"

    def attach(self, searcher, settings: dict, context) -> None:
        from darts.robust.perturbation import PerturbationSelection
        selection = PerturbationSelection(searcher, self.value(settings, "pt_interval"), settings.get("pt_batches"),
                                          settings.get("seed", 0))
        searcher.epoch_start_hooks.append(selection)
        searcher.epoch_end_hooks.append(selection.epoch_end)
        searcher.extra_parts["selection"] = selection
