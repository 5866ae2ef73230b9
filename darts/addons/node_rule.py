"""Add-on (a derivation rule): how a derived DARTS cell's node picks its two inputs, when not as the paper does
(two distinct inputs): one input twice (--allow_same_input) or the node before it (--chain_cells, which wins when
both are given). The rules themselves belong to the space's discretizer; this picks one by name."""
from __future__ import annotations

from darts.addons.base import SearchAddon, capabilities, register_addon
from darts.errors import UserError
from darts.options import Option
from darts.spaces.derivation import ARGMAX


@register_addon
class NodeRuleAddon(SearchAddon):
    name = "node_rule"
    description = "derivation of cells whose nodes read one input twice, or the node before them"
    options = (
        Option("allow_same_input", False, "derive nodes that may take both ops from one input (a residual block)",
               flag=True),
        Option("chain_cells", False, "derive chain cells: each node takes two ops of the node before it", flag=True))
    needs = frozenset({"node_rule"})

    @staticmethod
    def rule(settings: dict) -> str | None:
        return "chain" if settings.get("chain_cells") else "same_input" if settings.get("allow_same_input") else None

    def is_active(self, settings: dict) -> bool:
        return self.rule(settings) is not None

    def check(self, settings: dict) -> None:
        if settings.get("selection") != "pt":
            return
        for flag in ("chain_cells", "allow_same_input"):
            if settings.get(flag):
                raise UserError(f"--{flag} derives the cells from the alphas; --selection pt does not: use one")

    def requires(self, supernet, space, settings: dict) -> None:
        if "node_rule" in capabilities(supernet):
            return
        flag = "--allow_same_input" if settings.get("allow_same_input") else "--chain_cells"
        raise UserError(f"{flag} changes how a derived DARTS cell's node picks its inputs; the {space.name} space's "
                        f"supernet offers no such choice")

    def attach(self, searcher, settings: dict, context) -> None:
        searcher.derivation = (searcher.derivation or ARGMAX).but(node_rule=self.rule(settings))
