"""Zoph & Le's recurrent tree-cell space: genotypes, sampling, the cell and its language model, rewards."""
from darts.spaces.nasrl_rnn.genotype import TreeGenotype, genotype_from_dict
from darts.spaces.nasrl_rnn.model import TanhCell, TreeCell, language_model
from darts.spaces.nasrl_rnn.sampling import NasRlRnnArchSpace

__all__ = ["NasRlRnnArchSpace", "TanhCell", "TreeCell", "TreeGenotype", "genotype_from_dict", "language_model"]
