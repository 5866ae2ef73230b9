"""How a supernet turns its alphas into the final architecture: a `Derivation` handed to its genotype().

The default is the paper's: each choice's strongest operation (and, in a DARTS cell, each node's two strongest
inputs). Other rules, each offered by the supernets that can apply it (their `capabilities` name it):
- node_rule: how a DARTS cell's node picks its inputs (a name in the space's table of node rules:
  distinct_inputs, the paper's; same_input; chain);
- max_skip: P-DARTS's cap on the normal cell's skip connections;
- cost_cap: the strongest cells within a cost budget (the space's cost model, e.g. darts_cnn/resource_cost.py), under the node rule.
A derivation is a plain value, built by the search add-ons that choose it (darts/addons) and read by the space's
discretizer, so neither side imports the other. Selection by perturbation (DARTS-PT) needs no rule here: it
projects the supernet's relaxation, and the default derivation then reads its decisions.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

DEFAULT_NODE_RULE = "distinct_inputs"


@dataclass(frozen=True)
class Derivation:
    node_rule: str = DEFAULT_NODE_RULE
    max_skip: int | None = None
    cost_cap: tuple | None = None   # ((normal costs[edge, op], budget, input costs), (reduce ...))

    def rules(self) -> frozenset:
        """The rules that differ from the paper's argmax (capability names a supernet must offer)."""
        return frozenset(name for name, on in (("node_rule", self.node_rule != DEFAULT_NODE_RULE),
                                               ("max_skip", self.max_skip is not None),
                                               ("cost_cap", self.cost_cap is not None)) if on)

    def but(self, **changes) -> "Derivation":
        """This derivation with some rules changed."""
        return dataclasses.replace(self, **changes)


ARGMAX = Derivation()


def offered(derivation: Derivation | None, capabilities, supernet: str) -> Derivation:
    """`derivation` (None: ARGMAX), refused with a ValueError when it needs rules the supernet does not offer."""
    derivation = derivation or ARGMAX
    missing = derivation.rules() - frozenset(capabilities)
    if missing:
        raise ValueError(f"{supernet} cannot derive with {', '.join(sorted(missing))}")
    return derivation
