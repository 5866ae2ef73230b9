"""Rewards for sample-based strategies: a benchmark table look-up, or low-fidelity training."""
from darts.evaluators.base import Evaluator
from darts.evaluators.nb201_table import Nb201Record, Nb201Table, Nb201TableEvaluator
from darts.evaluators.training import TrainingEvaluator

__all__ = ["Evaluator", "Nb201Record", "Nb201Table", "Nb201TableEvaluator", "TrainingEvaluator"]
