"""Pickle files read without running code: datasets and benchmark tables published as pickles (CIFAR's python
batches, NATS-Bench's records, NAS-Bench-101's table) hold only containers, strings, numbers and numpy arrays.

A pickle names the callables that rebuild its objects, so a crafted file can name os.system; this
unpickler rebuilds only what such data holds and refuses any other name before calling anything.
"""
from __future__ import annotations

import pickle
from typing import IO, Any

# (module, name) of the callables that plain data needs: numpy arrays, their dtypes and scalars (under both of
# numpy's module names), the containers beyond pickle's built-in ones, and the text-to-bytes encoding that
# Python 3 writes bytes with in protocol 2 pickles.
PLAIN_DATA = frozenset({
    ("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"), ("_codecs", "encode"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
})


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds only the callables in `allowed` (default: PLAIN_DATA)."""

    def __init__(self, file: IO[bytes], allowed: frozenset = PLAIN_DATA, **kwargs):
        super().__init__(file, **kwargs)
        self.allowed = allowed

    def find_class(self, module: str, name: str):
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: the file may hold only containers, "
                                         f"strings, numbers and numpy arrays")
        return super().find_class(module, name)


def load_restricted(file: IO[bytes], **kwargs) -> Any:
    """The object pickled in the open binary `file`, rebuilt from plain data only (pickle.UnpicklingError
    otherwise); `kwargs` go to the unpickler (e.g. encoding="latin1" for Python 2 pickles)."""
    return RestrictedUnpickler(file, **kwargs).load()
