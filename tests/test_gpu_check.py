"""benchmarks/gpu_check.py goes through every step on the CPU (--dry-run), and a memory calibration file changes
the estimate as it says."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from darts.errors import UserError
from darts.memory_estimate import (BUILT_IN, CALIBRATION_ENV, GB, STATE, ActivationProfile, Calibration,
                                   estimate_from_profile, largest_batch, mode_key, summary_lines)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


def run_script(*args, timeout=900):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT)


def test_dry_run_goes_through_every_step(tmp_path):
    out = tmp_path / "check"
    r = run_script("--dry-run", "--jobs", "2", "--out", str(out))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert sorted(results["steps"]) == ["1", "2", "3", "4", "5", "6"]
    for n, step in results["steps"].items():
        assert step["status"] == "pass", (n, step["notes"])
        assert step["figures"], n
    comparisons = results["steps"]["1"]["figures"]["comparisons"]
    assert {"hypergradient_finite_difference", "hypergradient_exact_hessian", "exact_hvp",
            "final_weight_grads"} <= set(comparisons)
    assert all(0 <= c["rel_err"] <= c["tolerance"] for c in comparisons.values())
    search = results["steps"]["2"]["figures"]
    assert all(m["step_s"] > 0 and m["peak_gb"] > 0 for m in search["modes"].values())
    # the calibration is fitted to the measured peaks: read back, it reproduces the fitted modes' peaks
    cal = Calibration.load(search["calibration_file"])
    assert cal.baseline_gb == BUILT_IN.baseline_gb  # the CPU's whole-process peak keeps the built-in baseline
    assert search["calibration_fitted_modes"]
    for name in search["calibration_fitted_modes"]:
        assert search["calibrated_estimate_gb"][name] == pytest.approx(search["modes"][name]["peak_gb"], rel=1e-6)
    final = results["steps"]["3"]["figures"]
    assert final["train_images_per_s"]["fp32"] > 0 and final["largest_batch"]["largest_fitting"] >= 2
    assert results["steps"]["4"]["figures"]["collectives"] == "ok"
    assert results["steps"]["6"]["figures"]["projected_hours_50_epochs"] > 0
    summary = (out / "summary.md").read_text()
    assert summary.count("PASS") == 6 and "dry run" in summary


def test_bad_steps_are_a_one_line_error_and_write_nothing(tmp_path):
    r = run_script("--dry-run", "--steps", "7", "--out", str(tmp_path / "check"), timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: --steps 7") and len(r.stderr.splitlines()) == 1
    assert not (tmp_path / "check").exists()


def profile():
    return ActivationProfile(fixed=2e8, per_image=3e7, fixed_saving=1e8, per_image_saving=1e7, weight_bytes=8e6)


def write_calibration(path, baseline, scale):
    factor = {mode_key(m, o): scale * f for (m, o), f in BUILT_IN.factor.items()}
    path.write_text(json.dumps({"device": "test GPU", "measures": "allocator peak", "baseline_gb": baseline,
                                "factor": factor}))


def test_a_calibration_file_changes_the_estimate(tmp_path, monkeypatch):
    p = profile()
    builtin = estimate_from_profile(p, 64, "second", False)
    path = tmp_path / "calibration.json"
    write_calibration(path, baseline=0.0, scale=2.0)
    monkeypatch.setenv(CALIBRATION_ENV, str(path))
    calibrated = estimate_from_profile(p, 64, "second", False)
    state = STATE["second"] * p.weight_bytes / GB
    assert calibrated.baseline_gb == 0.0 and calibrated.factor == 2 * BUILT_IN.factor[False, "second"]
    assert calibrated.peak_gb - state == pytest.approx(2 * (builtin.peak_gb - BUILT_IN.baseline_gb - state))
    # twice the bytes per image: the largest batch within a budget roughly halves
    budget = 20.0
    monkeypatch.delenv(CALIBRATION_ENV)
    before = largest_batch(p, budget, "second")
    monkeypatch.setenv(CALIBRATION_ENV, str(path))
    after = largest_batch(p, budget, "second")
    assert after < before and after == pytest.approx(before / 2, rel=0.1)
    # and --summary says which calibration a CUDA run's estimate uses
    from darts.spaces.darts_cnn import SearchNetwork
    lines = summary_lines(SearchNetwork(2, 10, 3), 3, 8, 8, 4, "second", cuda=True)
    assert "calibrated on test GPU, allocator peak" in lines[-1]


def test_a_broken_calibration_file_is_a_one_line_error(tmp_path, monkeypatch):
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"baseline_gb": 0.0, "factor": {"default/first": 1.0}}))  # five keys missing
    monkeypatch.setenv(CALIBRATION_ENV, str(path))
    with pytest.raises(UserError, match="not a memory calibration file"):
        estimate_from_profile(profile(), 8, "first", False)


def test_a_step_past_its_limit_fails_the_run(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import gpu_check
    monkeypatch.setattr(gpu_check, "DRY_STEP_SECONDS", {**gpu_check.DRY_STEP_SECONDS, 6: 0.5})
    out = tmp_path / "check"
    assert gpu_check.main(["--dry-run", "--steps", "6", "--out", str(out)]) == 1
    results = json.loads((out / "results.json").read_text())
    assert results["failed"] == [6] and "limit" in results["steps"]["6"]["notes"][0]
    assert "FAIL" in (out / "summary.md").read_text()
