"""darts-nas: Differentiable Architecture Search (DARTS) and the strategies it grew from, in plain PyTorch.

Kept light on purpose (no torch here), so that `import darts` and the command lines' --help are fast.
`__darts_nas__` marks this package: PyPI's unrelated time-series `darts` installs into the same
site-packages/darts/ folder, and darts._guard uses the marker to notice when the other one's
__init__ ran instead of ours.
"""
__darts_nas__ = True


def __getattr__(name: str):
    """`darts.__version__`, read on first use from the installed metadata, whose one source is
    pyproject.toml (lazy: importlib.metadata costs ~50 ms, which every --help would pay)."""
    if name != "__version__":
        raise AttributeError(f"module 'darts' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version
    try:
        value = version("darts-nas")
    except PackageNotFoundError:  # a source tree on PYTHONPATH, never installed
        value = "0+unknown"
    globals()["__version__"] = value
    return value
