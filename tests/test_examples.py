"""The scripts in examples/ run, as a user would run them, on tiny settings."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--epochs", "1", "--layers", "3", "--init_channels", "4", "--max_batches", "2"]


def run_example(name, args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}  # the script must find darts by itself
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def tiny_folder(root):
    rng = np.random.default_rng(0)
    for c in ("circle", "square"):
        for i in range(8):
            (root / c).mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(root / c / f"{i}.png")
    (root / "circle" / "corrupt.jpg").write_bytes(b"\xff\xd8 truncated")
    return root


def test_search_image_folder(tmp_path):
    out = run_example("search_image_folder.py", ["--data", str(tiny_folder(tmp_path / "imgs")), "--image_size", "8",
                                                 "--cache", str(tmp_path / "cache"), "--batch_size", "4",
                                                 "--save", "s", *TINY], tmp_path)
    assert "classes: circle, square" in out and "genotype: Genotype(" in out
    assert (tmp_path / "s" / "genotype.json").is_file()
    assert any(p.name.startswith("genotype_normal") for p in (tmp_path / "s").iterdir())


def test_add_operation(tmp_path):
    out = run_example("add_operation.py", [*TINY, "--train_epochs", "1", "--save", "s"], tmp_path)
    assert "conv_3x3 kept on" in out and "test accuracy" in out
    assert (tmp_path / "s" / "final" / "weights.pt").is_file()


def test_retrain_published_genotype(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.integers(0, 256, (24, 8, 8, 3), dtype=np.uint8), y=np.arange(24) % 3)
    out = run_example("retrain_published_genotype.py", ["--data", "d.npz", "--batch_size", "4", "--auxiliary",
                                                        "--save", "e", *TINY], tmp_path)
    assert "DARTS_V2:" in out and "3 classes, 3x8x8 input" in out and "test accuracy" in out
    assert (tmp_path / "e" / "weights.pt").is_file()
