"""The six steps of benchmarks/gpu_check.py, each a function of the run's configuration that returns
{"status": "pass" | "fail" | "skip", "figures": {...}, "notes": [...]}.

gpu_check.py runs every step in a process of its own; a step that measures memory per mode starts one more
process per mode (`measure_mode`), so torch.cuda.max_memory_allocated() (or VmHWM on the CPU) sees that
mode alone. Steps run the package's own commands (train_search.py, train_final.py, benchmarks/
final_throughput.py) where one exists, with the sizes of gpu_check.SIZES.
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(__file__).resolve().parent
DAY_HOURS = 24.0
# Liu, Simonyan, Yang, "DARTS: Differentiable Architecture Search", ICLR 2019 (arXiv:1806.09055): Table 1 gives
# 4 GPU days for the second-order CIFAR-10 search, and section 3.3 says it ran the search four times: one GPU day
# per 50-epoch search (first order: 1.5 GPU days for four).
PUBLISHED_SECOND_ORDER_GPU_DAYS = 1.0


def result(status: str, figures: dict, notes: list[str] | None = None) -> dict:
    return {"status": status, "figures": figures, "notes": list(notes or [])}


def env_for_children(threads: int | None = None) -> dict:
    """This checkout importable in a child (ahead of an installed copy), benchmarks/ beside it."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), str(BENCHMARKS),
                                                                    os.environ.get("PYTHONPATH")])))
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc), children first listed before theirs."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def run_group(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run whose timeout kills the whole tree under the command (a killed step must not leave its
    train_search.py or torchrun workers holding the GPU); raises TimeoutExpired then."""
    with subprocess.Popen(cmd, **kwargs) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for pid in [proc.pid] + descendants(proc.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.communicate()
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def run_command(cmd: list[str], log: Path, timeout: float, threads: int | None = None,
                extra_env: dict | None = None) -> float:
    """Run `cmd` from the repository root, output appended to `log`; its wall seconds (raises on failure)."""
    started = time.perf_counter()
    with open(log, "a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        done = run_group(cmd, timeout, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                         env={**env_for_children(threads), **(extra_env or {})})
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, cmd)
    return time.perf_counter() - started


def run_child(kind: str, spec: dict, timeout: float) -> dict:
    """`gpu_check.py --child KIND SPEC` in a fresh process: the JSON it prints last."""
    cmd = [sys.executable, str(BENCHMARKS / "gpu_check.py"), "--child", kind, json.dumps(spec)]
    out = run_group(cmd, timeout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_for_children())
    if out.returncode != 0:
        raise RuntimeError(f"{kind} child failed: {out.stderr.strip()[-1500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _device(cfg: dict):
    import torch
    return torch.device(cfg["device"])


# -- step 1 ------------------------------------------------------------------------------------------------
def step1_numerics(cfg: dict) -> dict:
    """The suite's CUDA tests and tiny searches, then CPU float64 against the device (darts numerics)."""
    import torch
    from gpu_check_numerics import compare
    s = cfg["sizes"]
    figures, notes, ok = {}, [], True
    log = Path(cfg["out"]) / "logs" / "step1-pytest.log"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *s["pytest_args"]]
    try:
        run_command(cmd, log, s["pytest_timeout"])
        figures["pytest"] = "passed"
    except subprocess.CalledProcessError:
        figures["pytest"], ok = "failed", False
        notes.append(f"suite tests failed: see {log.name}")
    except subprocess.TimeoutExpired:
        figures["pytest"], ok = "timed out", False
        notes.append(f"suite tests ran past {s['pytest_timeout']} s: see {log.name}")
    device = _device(cfg)
    dtype = torch.float32 if cfg["dry_run"] else torch.float64
    if cfg["dry_run"]:
        notes.append("dry run: the device side is the CPU in float32, so tolerances are float32's")
    rows = compare(device, dtype, s["numerics"])
    figures["comparisons"] = rows
    ok = ok and all(r["pass"] for r in rows.values())
    return result("pass" if ok else "fail", figures, notes)


# -- step 2 ------------------------------------------------------------------------------------------------
def measure_mode(spec: dict) -> dict:
    """One search step kind in this process: median step seconds, its peak memory, the built-in estimate."""
    import torch
    if spec["impl"] == "original":
        step, model, x = _original_step(spec)
    else:
        step, model, x = _package_step(spec)
    from timing import seconds
    device = torch.device(spec["device"])
    cuda = device.type == "cuda"
    times = [seconds(step, device) for _ in range(spec["warmup"] + spec["steps"])][spec["warmup"]:]  # warm-up:
    # cuDNN picks its algorithms there
    from darts.memory_estimate import process_memory_gb
    peak = torch.cuda.max_memory_allocated(device) / 1e9 if cuda else process_memory_gb("VmHWM")
    row = {**spec, "step_s": statistics.median(times), "peak_gb": peak,
           "measures": "torch.cuda.max_memory_allocated" if cuda else "whole-process VmHWM"}
    if spec["impl"] == "package":
        from darts.memory_estimate import BUILT_IN, activation_profile, estimate_from_profile
        profile = activation_profile(model, 3, x.shape[-2], x.shape[-1])
        row["profile"] = {k: getattr(profile, k) for k in ("fixed", "per_image", "fixed_saving", "per_image_saving",
                                                           "weight_bytes")}
        row["builtin_estimate_gb"] = estimate_from_profile(profile, spec["batch_size"], spec["order"],
                                                           spec["memory_saving"], BUILT_IN).peak_gb
    return row


def _batches(torch, spec: dict, device, memory_format):
    g = torch.Generator().manual_seed(1)
    n, side = spec["batch_size"], spec["size"]

    def one():
        x = torch.randn(n, 3, side, side, generator=g).to(device).contiguous(memory_format=memory_format)
        return x, torch.randint(0, 10, (n,), generator=g).to(device)
    return one(), one()


def _package_step(spec: dict):
    """DartsSearch's loop body (architect step, weight step) in the asked precision and layout."""
    import contextlib
    import torch
    from darts.spaces.darts_cnn import SearchNetwork
    from darts.strategies.architect import Architect
    from darts.training import ImageClassification, autocast, weight_step
    device = torch.device(spec["device"])
    fmt = torch.channels_last if spec["channels_last"] else torch.contiguous_format
    torch.manual_seed(0)
    model = SearchNetwork(spec["C"], 10, spec["layers"], memory_saving=spec["memory_saving"])
    model = model.to(device, memory_format=fmt)
    task = ImageClassification()
    weights = model.weights()
    opt = torch.optim.SGD(weights, 0.025, momentum=0.9, weight_decay=3e-4)
    mixed = (lambda: autocast(device, True)) if spec["bf16"] else contextlib.nullcontext
    architect = Architect(model, task.loss, opt, unrolled=spec["order"] != "first", autocast=mixed)
    train, val = _batches(torch, spec, device, fmt)

    def step():
        architect.step(train, val)
        with mixed():
            loss, _ = task.loss_and_stats(model, train)
        weight_step(weights, loss, opt, 5.0)
    return step, model, train[0]


def _original_step(spec: dict):
    """The original code's train_search.py loop body, its modules imported from --original (fp32, NCHW)."""
    import torch
    import torch.nn as nn
    from types import SimpleNamespace
    device = torch.device(spec["device"])
    if device.type != "cuda":  # the original calls .cuda() throughout: a no-op on the CPU (dry run)
        torch.Tensor.cuda = lambda self, *a, **k: self
        nn.Module.cuda = lambda self, *a, **k: self
    sys.path.insert(0, spec["original"])
    from architect import Architect
    from model_search import Network
    torch.manual_seed(0)
    criterion = nn.CrossEntropyLoss().to(device)
    model = Network(spec["C"], 10, spec["layers"], criterion).to(device)
    optimizer = torch.optim.SGD(model.parameters(), 0.025, momentum=0.9, weight_decay=3e-4)
    architect = Architect(model, SimpleNamespace(momentum=0.9, weight_decay=3e-4, arch_learning_rate=3e-4,
                                                 arch_weight_decay=1e-3))
    (x, y), (xv, yv) = _batches(torch, spec, device, torch.contiguous_format)

    def step():
        architect.step(x, y, xv, yv, 0.025, optimizer, unrolled=spec["order"] != "first")
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    return step, model, x


def original_cnn_folder(path: str | None) -> str | None:
    """The original's cnn/ folder (holding model_search.py) from the repository root or the folder itself."""
    if not path:
        return None
    for folder in (Path(path), Path(path) / "cnn"):
        if (folder / "model_search.py").is_file():
            return str(folder.resolve())
    return None


def _mode_name(m: dict) -> str:
    if m["impl"] == "original":
        return f"original fp32 {m['order']}"
    kind = ("bf16+channels_last" if m["bf16"] else "fp32" + ("+channels_last" if m["channels_last"] else ""))
    return f"package {kind}{' memory-saving' if m['memory_saving'] else ''} {m['order']}"


def step2_search_memory(cfg: dict) -> dict:
    """Search step time and peak per mode, one process each; the estimate against the peaks; a calibration."""
    s, notes = cfg["sizes"]["search"], []
    base = {"device": cfg["device"], "C": s["C"], "layers": s["layers"], "batch_size": s["batch_size"],
            "size": s["size"], "steps": s["steps"], "warmup": s["warmup"]}
    modes = [{**base, "impl": "package", **m} for m in s["modes"]]
    original = original_cnn_folder(cfg.get("original"))
    if original and (cfg["device"].startswith("cuda") or cfg["dry_run"]):
        modes += [{**base, "impl": "original", "original": original, "order": o, "bf16": False,
                   "channels_last": False, "memory_saving": False} for o in s["original_orders"]]
    elif cfg.get("original"):
        notes.append(f"original skipped: {cfg['original']} holds no model_search.py (nor cnn/model_search.py)"
                     if not original else "original skipped: it needs CUDA (no device here)")
    else:
        notes.append("original skipped: no --original PATH (a clone of quark0/darts)")
    rows, failed = [], []
    for m in modes:
        try:
            rows.append(run_child("mode", m, s["mode_timeout"]))
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            failed.append(_mode_name(m))
            notes.append(f"{_mode_name(m)} failed: {str(e)[-400:]}")
    table = {_mode_name(r): {k: r[k] for k in ("step_s", "peak_gb", "measures") if k in r} for r in rows}
    for r in rows:  # against the original's step of the same order, where measured
        ref = next((o for o in rows if o["impl"] == "original" and o["order"] == r["order"]), None)
        if ref is not None and r is not ref:
            table[_mode_name(r)]["time_vs_original"] = r["step_s"] / ref["step_s"]
            table[_mode_name(r)]["peak_vs_original"] = r["peak_gb"] / ref["peak_gb"]
    figures = {"batch_size": s["batch_size"], "C": s["C"], "layers": s["layers"], "modes": table}
    figures.update(calibrate(cfg, [r for r in rows if r["impl"] == "package"], notes))
    return result("fail" if failed else "pass", figures, notes)


def calibrate(cfg: dict, rows: list[dict], notes: list[str]) -> dict:
    """The built-in estimate against each measured peak, and a calibration fitted to the package's default
    device mode (bf16 on CUDA), written to OUT/memory_calibration.json and read back through the estimate."""
    from darts.memory_estimate import (BUILT_IN, ORDERS, ActivationProfile, Calibration, STATE,
                                       estimate_from_profile, mode_key)
    figures = {"estimate_vs_measured": {
        _mode_name(r): {"measured_gb": r["peak_gb"], "builtin_estimate_gb": r["builtin_estimate_gb"],
                        "measured_over_estimate": r["peak_gb"] / r["builtin_estimate_gb"]} for r in rows}}
    fit_rows = [r for r in rows if r["bf16"] == cfg["device"].startswith("cuda")] or rows
    if not fit_rows:
        notes.append("no calibration: no package mode was measured")
        return figures
    cuda = cfg["device"].startswith("cuda")
    baseline = 0.0 if cuda else BUILT_IN.baseline_gb  # the allocator's peak leaves the CUDA context out
    fitted = {}
    for r in fit_rows:
        profile = ActivationProfile(**r["profile"])
        act = profile.activations(r["batch_size"], r["memory_saving"] and r["order"] != "exact") / 1e9
        state = STATE[r["order"]] * profile.weight_bytes / 1e9
        fitted[r["memory_saving"], r["order"]] = max(1e-3, (r["peak_gb"] - baseline - state) / act)
    scale = statistics.mean(f / BUILT_IN.factor[k] for k, f in fitted.items())
    factor = {(m, o): fitted.get((m, o), BUILT_IN.factor[m, o] * scale) for m in (False, True) for o in ORDERS}
    cal = Calibration(baseline, factor, _device_name(cfg["device"]),
                      ("torch.cuda.max_memory_allocated" if cuda else "whole-process VmHWM") +
                      (", bf16 autocast + channels_last" if fit_rows[0]["bf16"] else ", float32"))
    path = Path(cfg["out"]) / "memory_calibration.json"
    path.write_text(json.dumps(cal.to_json(), indent=1) + "\n")
    read_back = Calibration.load(str(path))
    figures["calibration_file"] = str(path)
    figures["calibration_fitted"] = sorted(mode_key(*k) for k in fitted)
    figures["calibration_fitted_modes"] = [_mode_name(r) for r in fit_rows]
    figures["calibration_scaled_from_fitted"] = sorted(mode_key(*k) for k in factor if k not in fitted)
    figures["calibrated_estimate_gb"] = {
        _mode_name(r): estimate_from_profile(ActivationProfile(**r["profile"]), r["batch_size"], r["order"],
                                             r["memory_saving"], read_back).peak_gb for r in rows}
    return figures


def _device_name(device: str) -> str:
    import torch
    return torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else "cpu (dry run)"


# -- step 3 ------------------------------------------------------------------------------------------------
def step3_final_throughput(cfg: dict) -> dict:
    """DARTS_V2's training images/s (benchmarks/final_throughput.py; the compiled variant in a run of its own,
    so a slow or failing compilation costs no other figure) and the largest batch that fits."""
    s, notes, ok = cfg["sizes"]["final"], [], True
    figures = {"batch_size": s["batch_size"], "C": s["C"], "layers": s["layers"], "train_images_per_s": {},
               "peak_memory_mb": {}}
    runs = [(s["variants"], s["throughput_timeout"])] + ([(s["compile_variants"], s["compile_timeout"])]
                                                         if s["compile_variants"] else [])
    for variants, timeout in runs:
        cmd = [sys.executable, str(BENCHMARKS / "final_throughput.py"), "--json", "--device", cfg["device"],
               "--init_channels", str(s["C"]), "--layers", str(s["layers"]), "--batch_size", str(s["batch_size"]),
               "--repeats", str(s["repeats"]), "--warmup", str(s["warmup"]), "--variants", *variants]
        try:
            out = run_group(cmd, timeout, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env_for_children())
        except subprocess.TimeoutExpired:
            ok = False
            notes.append(f"{' '.join(variants)}: ran past {timeout} s")
            continue
        if out.returncode != 0:
            ok = False
            notes.append(f"{' '.join(variants)} failed: {out.stderr.strip()[-600:]}")
            continue
        for r in json.loads(out.stdout.strip().splitlines()[-1])["variants"]:
            figures["train_images_per_s"][r["variant"]] = r["train_images_per_s"]
            if "peak_memory_mb" in r:
                figures["peak_memory_mb"][r["variant"]] = r["peak_memory_mb"]
    if not s["compile_variants"]:
        notes.append("torch.compile variant left out of the dry run (compiling takes minutes on a CPU)")
    figures["largest_batch"] = largest_final_batch(cfg, s)
    return result("pass" if ok else "fail", figures, notes)


def largest_final_batch(cfg: dict, s: dict) -> dict:
    """The largest batch whose training step (bf16 + channels_last on CUDA) runs without running out of
    memory: doubling from the batch above, then bisection, until `largest_seconds` are spent."""
    import torch
    from argparse import Namespace
    from final_throughput import steps
    device = _device(cfg)
    variant = "bf16_channels_last" if device.type == "cuda" else "fp32_channels_last"
    started, tried = time.perf_counter(), {}

    def fits(batch: int) -> bool:
        args = Namespace(init_channels=s["C"], layers=s["layers"], batch_size=batch, in_channels=3, image_size=32,
                         auxiliary=True, drop_path_prob=0.2)
        try:
            train_step, _ = steps(args, device, "DARTS_V2", variant)
            train_step()
            ok = True
        except torch.cuda.OutOfMemoryError:
            ok = False
        train_step = None
        if device.type == "cuda":
            torch.cuda.empty_cache()
        tried[batch] = ok
        return ok

    low, high = 0, None
    batch = s["batch_size"]
    while high is None and batch <= s["largest_cap"] and time.perf_counter() - started < s["largest_seconds"]:
        if fits(batch):
            low, batch = batch, batch * 2
        else:
            high = batch
    high = high or min(batch, s["largest_cap"] + 1)
    while high - low > max(1, low // 32) and time.perf_counter() - started < s["largest_seconds"]:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return {"variant": variant, "largest_fitting": low, "smallest_failing": high if high in tried else None,
            "cap": s["largest_cap"], "trials": len(tried), "seconds": time.perf_counter() - started}


# -- step 4 ------------------------------------------------------------------------------------------------
def collectives(spec: dict) -> dict:
    """The collectives the package calls (all_reduce, broadcast, all_gather_object) in a world of one, on
    the device's backend: darts.distributed skips them at world size 1, so they are called directly."""
    import torch
    import torch.distributed as dist
    device = torch.device(spec["device"])
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend, init_method=f"file://{spec['rendezvous']}", rank=0, world_size=1)
    try:
        t = torch.arange(4.0, device=device)
        dist.all_reduce(t)
        dist.broadcast(t, src=0)
        names = [None]
        dist.all_gather_object(names, ["a", "b"])
        ok = t.tolist() == [0.0, 1.0, 2.0, 3.0] and names == [["a", "b"]]
    finally:
        dist.destroy_process_group()
    return {"backend": backend, "ok": ok}


def _launcher(world: int, dry_run: bool, out: Path) -> tuple[list[str], dict]:
    """torchrun on every GPU present; in a dry run the one process torchrun would start, with the variables it
    sets (a second interpreter for the launcher costs as much as the run itself there)."""
    if not dry_run:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={world}"], {}
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return [sys.executable], {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1",
                              "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}


def step4_ddp(cfg: dict) -> dict:
    """train_search.py (second order) and train_final.py under torchrun on every GPU present (NCCL), or one
    CPU process (gloo) in a dry run; the raw collectives in a world of one."""
    import torch
    s, out = cfg["sizes"]["ddp"], Path(cfg["out"])
    cuda = cfg["device"].startswith("cuda")
    world = torch.cuda.device_count() if cuda else 1
    common = ["--dataset", "digits", "--layers", str(s["layers"]), "--init_channels", str(s["C"]),
              "--batch_size", str(s["batch_size"]), "--epochs", "1", "--max_batches", str(s["max_batches"]),
              "--device", "cuda" if cuda else "cpu", "--no_progress", "--overwrite"]
    runs = {"search_second_order": ["train_search.py", *common, "--unrolled", "--no_plots",
                                    "--save", str(out / "ddp-search")],
            "final_training": ["train_final.py", *common, "--arch", "DARTS_V2", "--auxiliary",
                               "--save", str(out / "ddp-final")]}
    figures, notes, ok = {"world_size": world, "backend": "nccl" if cuda else "gloo"}, [], True
    for name, argv in runs.items():
        launcher, env = _launcher(world, cfg["dry_run"], out)
        try:
            figures[f"{name}_seconds"] = run_command(launcher + argv, out / "logs" / f"step4-{name}.log",
                                                     s["run_timeout"], extra_env=env)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
            ok = False
            notes.append(f"{name} under torchrun failed ({type(e).__name__}): see logs/step4-{name}.log")
    rendezvous = out / "ddp-rendezvous"
    rendezvous.unlink(missing_ok=True)
    try:
        c = collectives({"device": cfg["device"], "rendezvous": str(rendezvous)})  # this step's own process
        figures["collectives"] = "ok" if c["ok"] else "wrong values"
        ok = ok and c["ok"]
    except Exception as e:  # any failure of the backend is this check's finding
        ok = False
        notes.append(f"collectives failed: {type(e).__name__}: {str(e)[-400:]}")
    if not cuda:
        notes.append("gloo on the CPU, not NCCL" + ("; one process started with torchrun's variables (dry run)"
                                                    if cfg["dry_run"] else ""))
    return result("pass" if ok else "fail", figures, notes)


# -- steps 5 and 6 -----------------------------------------------------------------------------------------
def _search(cfg: dict, name: str, argv: list[str], timeout: float, image_size: int) -> dict:
    """One train_search.py run into OUT/NAME; per-epoch seconds and the derived genotype."""
    out = Path(cfg["out"]) / name
    seconds = run_command([sys.executable, "train_search.py", "--dataset", "folder", "--data", cfg["data"],
                           "--image_size", str(image_size),
                           "--cache", str(Path(cfg["out"]) / "image-cache"), "--device", cfg["device"],
                           "--no_progress", "--no_plots", "--overwrite", "--save", str(out), *argv],
                          Path(cfg["out"]) / "logs" / f"{name}.log", timeout)
    rows = [json.loads(line) for line in (out / "alphas.jsonl").read_text().splitlines()]
    return {"epoch_seconds": [r["metrics"]["seconds"] for r in rows], "wall_seconds": seconds,
            "genotype": json.loads((out / "genotype.json").read_text())}


def batches_per_epoch(cfg: dict, batch_size: int) -> int:
    """Weight steps in a full search epoch: the training half of the data's train/ split."""
    train = Path(cfg["data"]) / "train"
    images = sum(1 for p in train.rglob("*") if p.is_file())
    return -(-int(images * 0.5) // batch_size)


def step5_nb201(cfg: dict) -> dict:
    """NB201 DARTS searches (first and second order, several seeds), their cells in the benchmark's tables
    and the per-epoch time extrapolated to 50 epochs."""
    s, notes = cfg["sizes"]["nb201"], []
    full = batches_per_epoch(cfg, s["batch_size"])
    bench = None
    if cfg.get("benchmark") and Path(cfg["benchmark"]).is_file():
        from darts.spaces.nb201.benchmark import Nb201Benchmark
        bench = Nb201Benchmark(cfg["benchmark"], isomorphs="exact")
    else:
        notes.append(f"table lookup skipped: no NAS-Bench-201 table at {cfg.get('benchmark')} (--benchmark)")
    started = time.perf_counter()  # decode the images into the runs' cache once, outside their time limits
    from darts.data.folder import decoded_folder
    decoded_folder(cfg["data"], s["image_size"], cache=Path(cfg["out"]) / "image-cache")
    decode_seconds, runs, ok = time.perf_counter() - started, {}, True
    for order in ("first", "second"):
        for seed in s["seeds"]:
            name = f"nb201-{order}-seed{seed}"
            argv = ["--space", "nb201", "--layers", str(s["layers"]), "--init_channels", str(s["C"]),
                    "--batch_size", str(s["batch_size"]), "--epochs", str(s["epochs"]),
                    "--max_batches", str(s["max_batches"]), "--seed", str(seed)] + (
                ["--unrolled"] if order == "second" else [])
            try:
                r = _search(cfg, name, argv, s["run_timeout"], s["image_size"])
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
                ok = False
                notes.append(f"{name} failed ({type(e).__name__}): see logs/{name}.log")
                continue
            epoch = r["epoch_seconds"][-1] * full / s["max_batches"]  # the last epoch: warm
            row = {"arch": r["genotype"]["arch"], "epoch_seconds_capped": r["epoch_seconds"],
                   "full_epoch_seconds": epoch, "fifty_epochs_hours": 50 * epoch / 3600}
            for key, epochs, split in (("cifar10_test200", 200, "test"), ("cifar10_valid12", 12, "valid")):
                try:
                    if bench is not None:
                        row[key] = bench.query(row["arch"], "cifar10", epochs, split)
                except Exception as e:  # e.g. no 12-epoch table beside the 200-epoch one: the run still counts
                    notes.append(f"{name}: {epochs}-epoch lookup failed: {type(e).__name__}: {e}")
            runs[name] = row
    figures = {"batches_per_full_epoch": full, "batches_run_per_epoch": s["max_batches"], "epochs": s["epochs"],
               "decode_seconds": decode_seconds, "runs": runs}
    notes.append(f"{s['epochs']} epochs of {s['max_batches']} batches: the derived cells are far from converged; "
                 "the table accuracies say which cell came out, not how good a 50-epoch search is")
    return result("pass" if ok else "fail", figures, notes)


def step6_paper_search(cfg: dict) -> dict:
    """The paper's CIFAR-10 search (C=16, 8 layers, batch 64, second order) for a few batches: per-step time
    and the projected hours for 50 epochs beside the published one GPU day."""
    s = cfg["sizes"]["paper"]
    full = batches_per_epoch(cfg, s["batch_size"])
    argv = ["--unrolled", "--layers", str(s["layers"]), "--init_channels", str(s["C"]), "--batch_size",
            str(s["batch_size"]), "--epochs", str(s["epochs"]), "--max_batches", str(s["max_batches"])]
    try:
        r = _search(cfg, "paper-search", argv, s["run_timeout"], s["image_size"])
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        return result("fail", {}, [f"paper search failed ({type(e).__name__}): see logs/paper-search.log"])
    step = r["epoch_seconds"][-1] / s["max_batches"]
    hours = 50 * full * step / 3600
    figures = {"C": s["C"], "layers": s["layers"], "batch_size": s["batch_size"], "order": "second",
               "precision": "bf16 autocast + channels_last" if cfg["device"].startswith("cuda") else "fp32",
               "seconds_per_step": step, "batches_per_full_epoch": full, "projected_hours_50_epochs": hours,
               "published_hours": PUBLISHED_SECOND_ORDER_GPU_DAYS * DAY_HOURS,
               "speedup_vs_published": PUBLISHED_SECOND_ORDER_GPU_DAYS * DAY_HOURS / hours}
    notes = ["seconds per step: the last epoch's seconds over its batches (its validation pass included)",
             "published: 1 GPU day per second-order search (DARTS paper, Table 1: 4 GPU days for 4 searches, "
             "section 3.3), on the GPUs of 2018"]
    return result("pass", figures, notes)


STEPS = {1: step1_numerics, 2: step2_search_memory, 3: step3_final_throughput, 4: step4_ddp, 5: step5_nb201,
         6: step6_paper_search}
CHILDREN = {"mode": measure_mode}
