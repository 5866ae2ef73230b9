"""Moved to darts.spaces.nb201.benchmark; these names stay importable from here until callers move."""
from darts.spaces.nb201.benchmark import (  # noqa: F401
    COLUMNS, DATASETS, REWARDS, ArchKey, Nb201Benchmark, Nb201BenchmarkEvaluator, Nb201Record, Nb201Table,
    Nb201TableEvaluator, dataset_name, table_evaluator,
)
