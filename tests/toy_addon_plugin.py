"""A toy search add-on, added from outside the package (no edit inside darts/): an L2 penalty on the alphas,
W * sum ||alpha||^2 added to the architecture loss by `--toy_l2 W` (api.search(..., toy_l2=W)). It needs
nothing of the supernet beyond its alphas, so every DARTS supernet carries it. Imported with --ops_module by the
command line, or directly by the tests."""
from __future__ import annotations

from darts.addons.registry import SearchAddon, add_alpha_regularizer, register_addon
from darts.options import Option


@register_addon
class ToyL2(SearchAddon):
    name = "toy_l2"
    description = "toy: an L2 penalty on the alphas"
    options = (Option("toy_l2", 0.0, "toy add-on: weight W of W * ||alpha||^2 in the architecture loss; 0 = none",
                      minimum=0.0),)

    def is_active(self, settings: dict) -> bool:
        return bool(settings.get("toy_l2"))

    def attach(self, searcher, settings: dict, context) -> None:
        weight = settings["toy_l2"]
        add_alpha_regularizer(searcher, lambda alphas: weight * sum((a ** 2).sum() for a in alphas))
