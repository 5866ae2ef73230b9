"""NAS-Bench-201 (the topology space of NATS-Bench): architectures, supernet, final network, sampling."""
from darts.spaces.common.nb201_arch import EDGES, NUM_ARCHS, Nb201Arch, Nb201ArchError, all_archs, parse_arch
from darts.spaces.common.nb201_ops import NB201_OPS
from darts.spaces.nb201.network import Nb201Network, build_nb201_network
from darts.spaces.nb201.sampling import Nb201ArchSpace
from darts.spaces.nb201.search import Nb201SearchNetwork, derive_arch

__all__ = ["EDGES", "NUM_ARCHS", "NB201_OPS", "Nb201Arch", "Nb201ArchError", "Nb201ArchSpace", "Nb201Network",
           "Nb201SearchNetwork", "all_archs", "build_nb201_network", "derive_arch", "parse_arch"]
