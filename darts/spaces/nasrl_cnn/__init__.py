"""Zoph & Le's layer-by-layer convolutional space: genotypes, sampling, the final network, its diagram."""
from darts.spaces.nasrl_cnn.genotype import ConvLayer, ConvNetGenotype, genotype_from_dict
from darts.spaces.nasrl_cnn.network import ConvNet
from darts.spaces.nasrl_cnn.sampling import NasRlCnnArchSpace

__all__ = ["ConvLayer", "ConvNet", "ConvNetGenotype", "NasRlCnnArchSpace", "genotype_from_dict"]
