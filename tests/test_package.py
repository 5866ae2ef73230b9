"""The installed package: its version, a light `import darts`, and refusing another distribution's darts."""
import shutil
import subprocess
import sys
from pathlib import Path

import darts

PACKAGE = Path(darts.__file__).parent
FOREIGN_INIT = '"""Time series made easy (a stand-in for PyPI\'s darts / u8darts)."""\n__version__ = "0.30.0"\n'


def run_python(code: str, path: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(path), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_version_comes_from_the_distribution_metadata():
    from importlib.metadata import version
    assert darts.__version__ == version("darts-nas") and darts.__darts_nas__ is True


def test_import_darts_does_not_import_torch(tmp_path):
    code = "import sys, darts; print('torch' in sys.modules, darts.__version__)"
    out = run_python(code, PACKAGE.parent, tmp_path)
    assert out.returncode == 0 and out.stdout.split()[0] == "False", out.stderr


def merged_site(tmp_path: Path) -> Path:
    """site/darts/: our modules with the time-series package's __init__.py written over ours, as
    `pip install darts` after darts-nas leaves site-packages/darts/."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "darts", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "darts" / "__init__.py").write_text(FOREIGN_INIT)
    return site


def test_a_foreign_darts_init_is_refused_with_one_line(tmp_path):
    out = run_python("from darts import api", merged_site(tmp_path), tmp_path)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert "not darts-nas" in lines[0] and "pip uninstall" in lines[0] and "pip install ." in lines[0]


def test_a_foreign_darts_init_raises_import_error_to_a_library_caller(tmp_path):
    code = ("try:\n    import darts.errors\nexcept ImportError as e:\n    print('caught', type(e).__name__)\n")
    out = run_python(code, merged_site(tmp_path), tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "caught ForeignDartsError", out.stderr


def test_the_real_package_passes_the_check(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "darts", ignore=shutil.ignore_patterns("__pycache__"))
    out = run_python("from darts import api; import darts; print(darts.__darts_nas__)", site, tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr
