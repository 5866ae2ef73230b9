"""The DARTS convolutional search space: search supernet, discretizer, final networks."""
from darts.spaces.darts_cnn.search import SearchCell, SearchNetwork
from darts.spaces.darts_cnn.discretize import derive_genotype
from darts.spaces.darts_cnn.network import Cell, NetworkCIFAR, NetworkImageNet, drop_path

__all__ = ["SearchCell", "SearchNetwork", "derive_genotype", "Cell", "NetworkCIFAR", "NetworkImageNet", "drop_path"]
