import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("DARTS_SHARED_DATA", ROOT.parent / "shared" / "data"))

# Unit tests run tiny tensors, where extra threads only add synchronisation (and oversubscribe shared cores);
# OMP_NUM_THREADS also makes the command lines' `--threads auto` keep one thread.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)


@pytest.fixture
def shared_data() -> Path:
    return SHARED_DATA
