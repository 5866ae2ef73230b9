"""Rewards for sample-based strategies by low-fidelity training (tables live with their spaces)."""
from darts.evaluators.base import Evaluator
from darts.evaluators.training import TrainingEvaluator

__all__ = ["Evaluator", "TrainingEvaluator"]
