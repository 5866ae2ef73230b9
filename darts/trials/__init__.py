"""Trials in parallel: a sample-based search's proposals kept as trials in an Optuna storage, evaluated by worker
processes on this machine or joining from elsewhere.

store        the storage (a journal file, or a database by URL) and the trial records of one search
coordinator  owns the strategy: asks it for architectures, enqueues them, tells it the rewards; resume by replay
worker       claims waiting trials, evaluates them, heartbeats while it does
local        starts worker processes on this machine
join         `python -m darts.trials.join`: a worker rebuilt from the settings the study holds
"""
