"""Add-on: log the dominant Hessian eigenvalue of the validation loss w.r.t. the alphas each epoch
(RobustDARTS; darts/robust/eigen.py)."""
from __future__ import annotations

from darts.addons.base import SearchAddon, register_addon
from darts.options import Option


@register_addon
class HessianEigen(SearchAddon):
    name = "hessian_eigen"
    description = "RobustDARTS's Hessian eigenvalue monitor"
    options = (
        Option("hessian_eigen",
               False, "log the dominant Hessian eigenvalue w.r.t. the alphas each epoch (RobustDARTS)", flag=True),
        Option("hessian_eigen_batches", 2, "evaluation batches of the eigenvalue", minimum=1),
        Option("hessian_eigen_iterations", 20, "power iterations of the eigenvalue", minimum=1))

    def is_active(self, settings: dict) -> bool:
        return bool(settings.get("hessian_eigen") or settings.get("early_stop"))  # early stopping reads it

    def attach(self, searcher, settings: dict, context) -> None:
        from darts.robust.eigen import EigenMonitor
        searcher.epoch_end_hooks.append(EigenMonitor(searcher, self.value(settings, "hessian_eigen_batches"),
                                                     self.value(settings, "hessian_eigen_iterations"),
                                                     settings.get("seed", 0)))
