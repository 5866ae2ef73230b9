"""The built-in search add-ons, one import each; they attach in this order (the eigenvalue monitor before the
early stop that reads it, the node rule before the cost cap derived under it)."""
import darts.addons.hessian_eigen  # noqa: F401
import darts.addons.early_stop  # noqa: F401
import darts.addons.beta_decay  # noqa: F401
import darts.addons.aux_skip  # noqa: F401
import darts.addons.skip_cap  # noqa: F401
import darts.addons.node_rule  # noqa: F401
import darts.addons.pt_selection  # noqa: F401
import darts.addons.cost  # noqa: F401
