"""The DARTS recurrent search space: search supernet, discretizer, final language model, text task."""
from darts.rnn_ops import RNN_PRIMITIVES
from darts.spaces.darts_rnn.discretize import derive_recurrent_genotype
from darts.spaces.darts_rnn.model import DartsCell, LMOutput, RecurrentCell, RNNModel, language_model
from darts.spaces.darts_rnn.search import RNNSearchModel, SearchCell
from darts.spaces.darts_rnn.task import LanguageModel

__all__ = ["RNN_PRIMITIVES", "RecurrentCell", "DartsCell", "SearchCell", "RNNModel", "RNNSearchModel",
           "LMOutput", "LanguageModel", "derive_recurrent_genotype", "language_model"]
