"""The hostile-input battery's harness (benchmarks/hostile_inputs.py) lists its cases and classifies outcomes:
a refusal with nothing written is clean, a printed traceback is a traceback, a refusal that wrote a file is
damaged, a library error that names its argument is named."""
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import hostile_inputs  # noqa: E402


def test_list_prints_every_case_once():
    out = subprocess.run([sys.executable, str(BENCH / "hostile_inputs.py"), "--list"], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    names = [line.split("\t")[0] for line in out]
    assert len(names) >= 150 and len(names) == len(set(names))
    workloads = {line.split("\t")[1] for line in out}
    assert {"search1", "search2", "enas", "sample", "retrain", "lmsearch", "lmtrain", "nb201", "draw",
            "library"} <= workloads


def test_outcomes_are_classified(tmp_path):
    only = r"^(self\.(clean-refusal|traceback|damaged|library-named|library-raw)|search1\.num--learning_rate=nan)$"
    hostile_inputs.main(["--only", only, "--out", str(tmp_path), "--jobs", "2"])
    outcomes = {r["name"]: r["outcome"] for r in json.loads((tmp_path / "cases.json").read_text())}
    assert outcomes == {"self.clean-refusal": "clean", "self.traceback": "traceback", "self.damaged": "damaged",
                        "self.library-named": "named", "self.library-raw": "raw",
                        "search1.num--learning_rate=nan": "clean"}
    assert "| self | 5 |" in (tmp_path / "summary.md").read_text()
