"""The chain-structured DARTS space, registered as "darts_chain": DARTS's cells (normal + reduction, 4 nodes of
two ops, the same candidate ops and final network) in which each node reads only the node before it (the first
node the newer cell input), as in the chain-structured spaces of ProxylessNAS and FBNet. An op beside the
identity on that edge is a residual block (ResidualSepConv's topology).

Its supernet holds only the edges such a cell can have (4 per cell, against DARTS's 14), so the search trains
and weighs nothing it cannot derive; each node keeps its edge's two strongest ops. The derived genotype is a
plain DARTS genotype (saved as the "darts" space's), retrained by the darts space's recipe.
"""
from __future__ import annotations

from darts.spaces.base import DataShape, Space, register_space
from darts.spaces.darts_cnn.space import DartsCnnSpace


class DartsChainSpace(DartsCnnSpace):
    name = "darts_chain"
    aliases = ()
    description = "DARTS cells whose nodes read the node before them: a chain of blocks (4 edges per cell)"
    options = tuple(o for o in DartsCnnSpace.options if o.name != "partial_channels")
    arch_space = Space.arch_space  # searched through its supernet (DARTS, ENAS), not by sampling whole cells

    def owns(self, genotype) -> bool:
        return False  # its genotypes are the darts space's

    def check_options(self, opts: dict, shape: DataShape | None = None) -> None:
        super().check_options({**opts, "partial_channels": 1}, shape)

    def build_supernet(self, opts: dict, shape: DataShape):
        from darts.spaces.darts_cnn.search import SearchNetwork
        self.check_options(opts, shape)
        return SearchNetwork(opts["init_channels"], shape.num_classes, opts["layers"], in_channels=shape.in_channels,
                             primitives=self.primitives(opts), relaxation=opts.get("relaxation"),
                             aux_skip=bool(opts.get("aux_skip")), memory_saving=bool(opts.get("memory_saving")),
                             chain=True)


SPACE = register_space(DartsChainSpace())
