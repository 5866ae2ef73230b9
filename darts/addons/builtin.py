"""The built-in search add-ons, in the order they attach (the eigenvalue monitor before the early stop that reads
it, the node rule before the cost cap derived under it); add-ons registered from outside attach after them."""
from darts.addons.aux_skip import AuxSkip
from darts.addons.beta_decay import BetaDecayAddon
from darts.addons.cost import CostTerm
from darts.addons.early_stop import EarlyStopAddon
from darts.addons.hessian_eigen import HessianEigen
from darts.addons.node_rule import NodeRuleAddon
from darts.addons.pt_selection import PerturbationSelectionAddon
from darts.addons.skip_cap import SkipCap

BUILTIN = (HessianEigen, EarlyStopAddon, BetaDecayAddon, AuxSkip, SkipCap, NodeRuleAddon, PerturbationSelectionAddon,
           CostTerm)
