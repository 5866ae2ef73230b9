"""NAS-Bench-101: cells (ModelSpec, pruning, the benchmark's graph hash), the benchmark's network, its table."""
from darts.spaces.nb101.benchmark import NB101Benchmark, Nb101TableEvaluator
from darts.spaces.nb101.network import Nb101Network
from darts.spaces.nb101.sampling import Nb101ArchSpace
from darts.spaces.nb101.spec import OPS, ModelSpec, Nb101SpecError, graph_hash, is_valid, prune

__all__ = ["NB101Benchmark", "ModelSpec", "Nb101ArchSpace", "Nb101Network", "Nb101SpecError", "Nb101TableEvaluator",
           "OPS", "graph_hash", "is_valid", "prune"]
