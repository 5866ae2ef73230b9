"""One command that checks and measures every CUDA path of the package in at most ten minutes on one GPU.

    python benchmarks/gpu_check.py --out gpu-check --original ../darts        # on a GPU machine
    python benchmarks/gpu_check.py --dry-run --out gpu-check-dry              # on a CPU: tiny sizes, fake data

Steps (docs/gpu_check.md says what every figure means):
  1. the suite's CUDA tests and tiny searches; CPU float64 against the device (search logits and gradients,
     first-order, finite-difference and exact second-order alpha gradients, exact HVP, the final network)
  2. search step time and peak memory per mode, one process each (and the original's with --original);
     the memory estimate against the peaks, and a calibration file the estimate reads
  3. DARTS_V2's training images/s at batch 96 (fp32, bf16, compiled) and the largest batch that fits
  4. train_search.py (second order) and train_final.py under torchrun: NCCL on the GPUs present
  5. NB201 DARTS searches (first and second order, 2 seeds) on CIFAR-10, the derived cells' table accuracies
  6. the paper's CIFAR-10 search (C=16, 8 layers, batch 64, second order): projected hours for 50 epochs

Every step runs in a process of its own under a time limit (STEP_SECONDS, 535 s in all); the results go to
OUT/results.json and OUT/summary.md, each step's output to OUT/logs/. Exit status 1 when a check failed, 2 on
bad input, else 0 (a skipped step says why and is no failure).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gpu_check_steps as steps

STEP_SECONDS = {1: 75, 2: 95, 3: 120, 4: 60, 5: 120, 6: 65}  # on one H100: 535 s, data and start-up inside 600
DRY_STEP_SECONDS = {n: 300 for n in STEP_SECONDS}  # a shared CPU under load: generous, the sizes are tiny
STEP_TITLES = {1: "CUDA tests and float64 CPU-vs-device comparisons", 2: "search step per mode: time, peak "
               "memory, estimate, calibration", 3: "DARTS_V2 final network: images/s and largest batch",
               4: "DDP under torchrun (NCCL), second order included", 5: "NB201 DARTS searches and table accuracies",
               6: "the paper's CIFAR-10 search: projected 50-epoch hours"}
NEEDS_DATA = {5, 6}

_PYTEST_FULL = ["-n", "8", "tests/test_architect.py", "tests/test_train_search.py", "tests/test_train_final.py"]
SIZES = {
    "full": {
        "pytest_args": _PYTEST_FULL, "pytest_timeout": 50,
        "numerics": {"C": 8, "layers": 5, "batch": 8, "size": 16, "final_C": 16, "final_layers": 8,
                     "final_size": 32},
        "search": {"C": 16, "layers": 8, "batch_size": 64, "size": 32, "steps": 3, "warmup": 1,
                   "mode_timeout": 40, "original_orders": ["second"],
                   "modes": [{"order": "second", "bf16": False, "channels_last": False, "memory_saving": False},
                             {"order": "second", "bf16": True, "channels_last": True, "memory_saving": False},
                             {"order": "second", "bf16": True, "channels_last": True, "memory_saving": True},
                             {"order": "first", "bf16": True, "channels_last": True, "memory_saving": False}]},
        "final": {"C": 36, "layers": 20, "batch_size": 96, "repeats": 5, "warmup": 2, "throughput_timeout": 40,
                  "variants": ["fp32", "bf16_channels_last"], "compile_variants": ["bf16_channels_last_compile"],
                  "compile_timeout": 55, "largest_cap": 4096, "largest_seconds": 20},
        "ddp": {"C": 16, "layers": 5, "batch_size": 32, "max_batches": 5, "run_timeout": 25},
        "nb201": {"C": 16, "layers": 15, "batch_size": 64, "image_size": 32, "epochs": 2, "max_batches": 15,
                  "seeds": [0, 1], "run_timeout": 25},
        "paper": {"C": 16, "layers": 8, "batch_size": 64, "image_size": 32, "epochs": 2, "max_batches": 20,
                  "run_timeout": 60},
    },
    "dry": {  # the smallest sizes that run every code path: 8x8 images, 2-4 channels, 1-2 batches
        "pytest_args": ["-n", "0", "tests/test_train_final.py", "-k", "cuda"], "pytest_timeout": 240,
        "numerics": {"C": 2, "layers": 3, "batch": 2, "size": 8, "final_C": 2, "final_layers": 3, "final_size": 8},
        "search": {"C": 2, "layers": 3, "batch_size": 2, "size": 8, "steps": 1, "warmup": 0, "mode_timeout": 240,
                   "original_orders": ["second"],
                   "modes": [{"order": "second", "bf16": False, "channels_last": False, "memory_saving": False},
                             {"order": "second", "bf16": True, "channels_last": True, "memory_saving": True}]},
        "final": {"C": 2, "layers": 3, "batch_size": 2, "repeats": 1, "warmup": 1, "throughput_timeout": 240,
                  "variants": ["fp32", "bf16_channels_last"], "compile_variants": [], "compile_timeout": 0,
                  "largest_cap": 8, "largest_seconds": 10},
        "ddp": {"C": 2, "layers": 3, "batch_size": 4, "max_batches": 1, "run_timeout": 240},
        "nb201": {"C": 2, "layers": 3, "batch_size": 4, "image_size": 8, "epochs": 2, "max_batches": 1, "seeds": [0],
                  "run_timeout": 240},
        "paper": {"C": 2, "layers": 3, "batch_size": 4, "image_size": 8, "epochs": 1, "max_batches": 1,
                  "run_timeout": 240},
    },
}


class BadInput(Exception):
    """A one-line error about the command line (exit status 2)."""


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = os.environ.get("DARTS_SHARED_DATA")
    p.add_argument("--data", default=os.path.join(shared, "cifar10-jpeg") if shared else None,
                   help="CIFAR-10 as class folders (train/, test/), or a folder holding cifar10-jpeg.tar.gz "
                        "(extracted into OUT) (default: $DARTS_SHARED_DATA/cifar10-jpeg)")
    p.add_argument("--benchmark", default=os.path.join(shared, "nb201", "nats_bench_tss_200ep.csv") if shared
                   else None, help="NAS-Bench-201 table for step 5 (default: $DARTS_SHARED_DATA/nb201/...)")
    p.add_argument("--original", help="the original DARTS code (a clone of quark0/darts, or its cnn/ folder)")
    p.add_argument("--out", help="folder for results.json, summary.md and the runs (required)")
    p.add_argument("--dry-run", action="store_true", help="CPU, tiny sizes, fake images: checks this script")
    p.add_argument("--steps", type=int, nargs="+", default=list(STEP_SECONDS), help="a subset of 1..6")
    p.add_argument("--device", default="auto", help="auto, cuda, cuda:N or cpu (default: cuda when present)")
    p.add_argument("--jobs", type=int, default=1, help="steps run at once (dry run only: timings need 1)")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def check_args(args) -> dict:
    """The run's configuration, or BadInput before anything is written."""
    import torch
    if not args.out:
        raise BadInput("--out DIR is required: the folder for results.json, summary.md and the runs")
    bad = [n for n in args.steps if n not in STEP_SECONDS]
    if bad:
        raise BadInput(f"--steps {' '.join(map(str, bad))}: steps are 1 to 6")
    device = args.device
    if device == "auto":
        device = "cpu" if args.dry_run or not torch.cuda.is_available() else "cuda"
        if device == "cpu" and not args.dry_run:
            raise BadInput("no CUDA device here: run with --dry-run (CPU, tiny sizes) or --device cpu (full sizes)")
    elif device.startswith("cuda") and not torch.cuda.is_available():
        raise BadInput(f"--device {device}: no CUDA device is available; use --dry-run or --device cpu")
    elif not (device == "cpu" or device.startswith("cuda")):
        raise BadInput(f"--device {device}: use auto, cpu, cuda or cuda:N")
    if args.data and not args.dry_run and not _data_source(Path(args.data)):
        raise BadInput(f"--data {args.data}: neither train/ class folders nor cifar10-jpeg.tar.gz there; give the "
                       f"CIFAR-10 class folders (train/, test/) or the folder of cifar10-jpeg.tar.gz")
    if args.original and not steps.original_cnn_folder(args.original):
        raise BadInput(f"--original {args.original} holds no model_search.py (nor cnn/model_search.py): "
                       f"give a clone of quark0/darts")
    if args.jobs < 1 or (args.jobs > 1 and not args.dry_run):
        raise BadInput(f"--jobs {args.jobs}: 1, or more with --dry-run only (steps at once would skew the timings)")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise BadInput(f"--out {args.out} is a file: give a folder")
    return {"device": device, "dry_run": args.dry_run, "out": str(Path(args.out).resolve()),
            "original": args.original, "benchmark": args.benchmark,
            "sizes": SIZES["dry" if args.dry_run else "full"]}


def prepare_data(args, cfg: dict) -> list[str]:
    """cfg["data"]: the class folders steps 5 and 6 read (fake ones in a dry run); notes about them."""
    out = Path(cfg["out"])
    if args.dry_run:
        cfg["data"] = str(fake_images(out / "fake-images"))
        return ["dry run: random 8x8 JPEG images, 10 classes (no CIFAR-10)"]
    if not args.data:
        cfg["data"] = None
        return ["no --data: steps 5 and 6 skipped"]
    data = _data_source(Path(args.data))
    if data.is_dir():
        cfg["data"] = str(data.resolve())
    else:
        archive, target = data, out / "cifar10-jpeg"
        if not (target / "train").is_dir():
            with tarfile.open(archive) as tar:
                try:
                    tar.extractall(target, filter="data")
                except TypeError:  # a Python without extraction filters
                    tar.extractall(target)
        cfg["data"] = str(target)
    jpeg = next((True for p in (Path(cfg["data"]) / "train").rglob("*.jp*g")), False)
    return [f"data: {cfg['data']}" + (" - JPEG images: if this is the JPEG rebuild of CIFAR-10 (quality ~75) it is "
                                      "lossy, so its accuracies are JPEG-rebuilt CIFAR-10 figures, not CIFAR-10's"
                                      if jpeg else "")]


def _data_source(data: Path) -> Path | None:
    """The class folders under `data`, or the archive to extract them from, or None."""
    if (data / "train").is_dir():
        return data
    archive = data if data.is_file() else data / "cifar10-jpeg.tar.gz"
    return archive if archive.is_file() and archive.name.endswith((".tar.gz", ".tgz", ".tar")) else None


def fake_images(folder: Path, per_class: int = 4) -> Path:
    """A tiny class-folder data set of random JPEGs (train/ and test/), as the real run reads CIFAR-10."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for split, n in (("train", per_class), ("test", 1)):
        for c in range(10):
            d = folder / split / f"class{c}"
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(d / f"{i}.jpg")
    return folder


def run_step(n: int, cfg: dict, limit: float) -> dict:
    """Step n in a process of its own, killed at `limit` seconds."""
    out = Path(cfg["out"])
    if n in NEEDS_DATA and not cfg.get("data"):
        return steps.result("skip", {}, ["no CIFAR-10 folder (--data)"])
    spec_file = out / "steps" / f"step{n}-config.json"
    spec_file.write_text(json.dumps(cfg))
    result_file = out / "steps" / f"step{n}.json"
    result_file.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", f"step{n}", str(spec_file)]
    started = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out / "logs" / f"step{n}.log", "w") as log:
        try:
            code = steps.run_group(cmd, limit, stdout=log, stderr=subprocess.STDOUT,
                                   env=steps.env_for_children()).returncode
        except subprocess.TimeoutExpired:
            code = None
    seconds = time.perf_counter() - started
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code is None:
        r = steps.result("fail", {}, [f"ran past its {limit:.0f} s limit: see logs/step{n}.log"])
    elif code != 0 or not result_file.is_file():
        r = steps.result("fail", {}, [f"the step's process failed (exit {code}): see logs/step{n}.log"])
    else:
        r = json.loads(result_file.read_text())
    r["seconds"] = seconds
    r["cpu_seconds"] = (cpu.ru_utime + cpu.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)  # with --jobs 1
    return r


def child(kind: str, arg: str) -> int:
    """Inside a step's or a mode's process: run it and report (a step into its result file, a mode on stdout)."""
    if kind.startswith("step"):
        cfg = json.loads(Path(arg).read_text())
        r = steps.STEPS[int(kind[4:])](cfg)
        write_json(Path(arg).with_name(f"{kind}.json"), r)
    else:
        print(json.dumps(steps.CHILDREN[kind](json.loads(arg))))
    return 0


def write_json(path: Path, data) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str) + "\n")
    os.replace(tmp, path)


def environment(cfg: dict) -> dict:
    import torch
    cuda = cfg["device"].startswith("cuda")
    return {"device": torch.cuda.get_device_name(torch.device(cfg["device"])) if cuda else "cpu",
            "gpus": torch.cuda.device_count() if cuda else 0, "torch": torch.__version__,
            "cuda": torch.version.cuda, "python": platform.python_version(), "dry_run": cfg["dry_run"],
            "host": platform.node()}


def summary_markdown(results: dict) -> str:
    env = results["environment"]
    lines = [f"# GPU check: {env['device']}" + (" (dry run: CPU, tiny sizes, fake data)" if env["dry_run"] else ""),
             "", f"torch {env['torch']}, CUDA {env['cuda']}, {env['gpus']} GPU(s); total "
             f"{results['seconds']:.0f} s; failed steps: {', '.join(map(str, results['failed'])) or 'none'}", ""]
    lines += [f"- {n}" for n in results["notes"]]
    for n, r in results["steps"].items():
        lines += ["", f"## {n}. {STEP_TITLES[int(n)]}: {r['status'].upper()} ({r.get('seconds', 0):.0f} s)", ""]
        lines += [f"- {k}: {_short(v)}" for k, v in r["figures"].items()]
        lines += [f"- note: {x}" for x in r["notes"]]
    return "\n".join(lines) + "\n"


def _short(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return "; ".join(f"{k} = {_short(x)}" for k, x in v.items())
    if isinstance(v, list):
        return ", ".join(_short(x) for x in v)
    return str(v)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        return child(*args.child)
    try:
        cfg = check_args(args)
        out = Path(cfg["out"])
        for sub in ("logs", "steps"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        notes = prepare_data(args, cfg)
    except BadInput as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    notes.append(f"data prepared in {time.perf_counter() - started:.0f} s")
    limits = DRY_STEP_SECONDS if cfg["dry_run"] else STEP_SECONDS
    results = {"environment": environment(cfg), "command": " ".join(sys.argv), "notes": notes, "steps": {}}

    def one(n: int) -> dict:
        r = run_step(n, cfg, limits[n])
        print(f"step {n} ({STEP_TITLES[n]}): {r['status']} in {r['seconds']:.0f} s" +
              "".join(f"\n  {x}" for x in r["notes"]), flush=True)
        return r
    chosen = sorted(set(args.steps))
    with ThreadPoolExecutor(args.jobs) as pool:
        for n, r in zip(chosen, pool.map(one, chosen)):
            results["steps"][str(n)] = r
    results["seconds"] = time.perf_counter() - started
    results["failed"] = [int(n) for n, r in results["steps"].items() if r["status"] == "fail"]
    write_json(out / "results.json", results)
    (out / "summary.md").write_text(summary_markdown(results))
    shutil.rmtree(out / "image-cache", ignore_errors=True)
    print(f"wrote {out / 'results.json'} and {out / 'summary.md'}")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
