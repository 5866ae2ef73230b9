"""Add-on (a derivation rule): P-DARTS's cap on the skip connections of the derived normal cell."""
from __future__ import annotations

from darts.addons.base import SearchAddon, register_addon
from darts.options import Option
from darts.spaces.derivation import ARGMAX


@register_addon
class SkipCap(SearchAddon):
    name = "skip_cap"
    description = "P-DARTS's cap on skip connections in the derived normal cell"
    options = (Option("max_skip", None, "P-DARTS: at most N skips in the derived normal cell (paper: 2; default: none)",
                      type=int, minimum=0),)
    needs = frozenset({"max_skip"})
    refusal = "--max_skip caps skip connections in a DARTS normal cell; the {space} space has none"

    def is_active(self, settings: dict) -> bool:
        return settings.get("max_skip") is not None

    def attach(self, searcher, settings: dict, context) -> None:
        searcher.derivation = (searcher.derivation or ARGMAX).but(max_skip=settings["max_skip"])
