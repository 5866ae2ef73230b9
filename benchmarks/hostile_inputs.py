"""A hostile user's battery: run every case of benchmarks/hostile_cases.py in a fresh folder and classify it.

Outcomes of a command line: clean (exit 2 with an "error:" line and nothing created or changed that should not
be, or exit 0 where the input may be accepted, its files readable), traceback (a Python traceback, exit 1 or a
signal), damaged (files created or changed by a refused input, a run that continued with mixed settings, a file
left unreadable), accepted (exit 0 for an input no run can use), hang (timeout). Library calls: named (a
ValueError subclass or the package's UserError whose message names the argument) or raw, and damaged/accepted/
hang as above.

    python benchmarks/hostile_inputs.py --list
    python benchmarks/hostile_inputs.py --jobs 2 --out battery-out [--only REGEX]

Writes DIR/cases.json (every case: workload, class, command, outcome, first error line, reason) and
DIR/summary.md (counts per workload and outcome, then the failing cases).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

import hostile_cases  # noqa: E402  (beside this file)
from hostile_cases import Case  # noqa: E402

TRACEBACK = "Traceback (most recent call last)"
FAILING = {"traceback", "damaged", "accepted", "hang", "raw", "setup-failed", "harness-error"}
LIB_MARK = "HOSTILE-LIB-RESULT "


# --- running --------------------------------------------------------------------------------------------
def environment() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def expand(argv, folder: Path) -> list[str]:
    values = {"py": sys.executable, "search": str(REPO / "train_search.py"), "final": str(REPO / "train_final.py"),
              "nb201": hostile_cases.nb201_table(), "tmp": str(folder)}
    return [a.format(**values) for a in argv]


def run_command(argv: list[str], folder: Path, timeout: float) -> dict:
    """Run argv in `folder` in its own process group; kill the group at the timeout."""
    proc = subprocess.Popen(argv, cwd=folder, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, errors="replace", start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return {"rc": proc.returncode, "stdout": out, "stderr": err, "hang": False}
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return {"rc": None, "stdout": out, "stderr": err, "hang": True}


def run_until(argv: list[str], folder: Path, trigger: str, timeout: float) -> str:
    """Start argv, SIGKILL its process group as soon as `folder/trigger` exists; say what happened."""
    proc = subprocess.Popen(argv, cwd=folder, env=environment(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"finished before the kill (exit {proc.returncode})"
        if (folder / trigger).exists():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return f"killed when {trigger} appeared"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return "killed at the timeout"


# --- fixtures: tiny finished runs, made once and copied into each case folder -----------------------------
_fixture_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
_fixture_guard = threading.Lock()


def fixture(name: str, cache: Path) -> Path:
    with _fixture_guard:
        lock = _fixture_locks[name]
    with lock:
        target = cache / name
        if (target / ".ready").exists():
            return target
        if (target / ".failed").exists():
            raise RuntimeError((target / ".failed").read_text())
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        try:
            hostile_cases.make_fixture(name, target, lambda argv, t=180: run_command(expand(argv, target), target, t))
        except Exception as e:  # recorded so that every case needing it says why
            (target / ".failed").write_text(f"fixture {name}: {e}")
            raise RuntimeError(f"fixture {name}: {e}") from None
        (target / ".ready").write_text("")
        return target


def install_fixtures(case: Case, folder: Path, cache: Path) -> None:
    for name in case.fixtures:
        src = fixture(name, cache)
        for item in src.iterdir():
            if item.name in (".ready", ".failed"):
                continue
            dest = folder / item.name
            if item.is_dir():
                shutil.copytree(item, dest, dirs_exist_ok=True)
            else:
                shutil.copy2(item, dest)


# --- the folder before and after --------------------------------------------------------------------------
def snapshot(folder: Path) -> dict[str, str]:
    tree = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for d in dirs:
            tree[os.path.relpath(os.path.join(root, d), folder) + "/"] = "dir"
        for f in files:
            path = os.path.join(root, f)
            try:
                with open(path, "rb") as fh:
                    tree[os.path.relpath(path, folder)] = hashlib.sha256(fh.read()).hexdigest()
            except OSError:
                tree[os.path.relpath(path, folder)] = "unreadable"
    return tree


def changes(before: dict, after: dict) -> list[str]:
    out = [f"+{p}" for p in sorted(set(after) - set(before))]
    out += [f"-{p}" for p in sorted(set(before) - set(after))]
    out += [f"~{p}" for p in sorted(set(before) & set(after)) if before[p] != after[p]]
    return out


def unreadable(folder: Path, paths) -> list[str]:
    """Of the given files, those a reader of the run folder cannot load (JSON, JSONL, torch files)."""
    bad = []
    for rel in paths:
        path = folder / rel
        if not path.is_file():
            continue
        try:
            if path.suffix == ".json":
                json.loads(path.read_text())
            elif path.suffix == ".jsonl":
                for line in path.read_text().splitlines():
                    if line.strip():
                        json.loads(line)
            elif path.suffix == ".pt":
                import torch
                torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # any failure to load is the finding
            bad.append(f"{rel} ({type(e).__name__})")
    return bad


def duplicated_epochs(folder: Path) -> list[str]:
    bad = []
    for path in folder.rglob("*.jsonl"):
        try:
            rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        except Exception:
            continue
        epochs = [r.get("epoch") for r in rows if isinstance(r, dict) and "epoch" in r]
        distinct = len(set(map(str, epochs)))
        if len(epochs) != distinct:
            bad.append(f"{path.relative_to(folder)} repeats an epoch ({len(epochs)} rows, {distinct} epochs)")
    return bad


def first_error_line(text: str) -> str:
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    for x in lines:
        if re.match(r"^([\w.]+: )?error: ", x) or x.startswith("error:"):
            return x[:300]
    if TRACEBACK in text:  # the exception's line: the first unindented line after the last traceback header
        tail = text[text.rindex(TRACEBACK) + len(TRACEBACK):].splitlines()[1:]
        ends = [x for x in tail if x.strip() and not x[0].isspace()]
        return ends[0][:300] if ends else ""
    for x in lines:
        if "error" in x.lower():
            return x[:300]
    return lines[-1][:300] if lines else ""


# --- classification ---------------------------------------------------------------------------------------
def classify_command(case: Case, res: dict, diff: list[str], folder: Path) -> tuple[str, str]:
    text = res["stdout"] + res["stderr"]
    if res["hang"]:
        return "hang", f"no exit within {case.timeout:.0f} s"
    if TRACEBACK in text:
        return "traceback", "a traceback was printed"
    if res["rc"] not in (0, 2):
        return "traceback", f"exit status {res['rc']}"
    touched = [d[1:] for d in diff if d[0] in "+~"]
    broken = unreadable(folder, touched)
    if broken:
        return "damaged", "unreadable: " + ", ".join(broken)
    if res["rc"] == 2:
        if not any("error:" in x for x in res["stderr"].splitlines()):
            return "traceback", "exit 2 without an 'error:' line"
        if diff and case.expect != "runtime":
            return "damaged", "refused but changed: " + " ".join(diff[:8])
        return "clean", ""
    if case.expect == "refuse":
        return accepted(case, "exit 0")
    return "clean", ""


def accepted(case: Case, how: str) -> tuple[str, str]:
    if case.cls == "resume misuse":
        return "damaged", f"{how}: the run continued with mixed settings"
    return "accepted", f"{how} for an input that must be refused"


def classify_library(case: Case, res: dict, diff: list[str], folder: Path) -> tuple[str, str]:
    if res["hang"]:
        return "hang", f"no exit within {case.timeout:.0f} s"
    marks = [x for x in res["stdout"].splitlines() if x.startswith(LIB_MARK)]
    if not marks:
        return "traceback", f"the call's process died (exit {res['rc']})"
    result = json.loads(marks[-1][len(LIB_MARK):])
    broken = unreadable(folder, [d[1:] for d in diff if d[0] in "+~"])
    if broken:
        return "damaged", "unreadable: " + ", ".join(broken)
    if result["ok"]:
        if case.expect == "refuse":
            return accepted(case, "the call returned")
        return "named", ""
    if diff and case.expect != "runtime":
        return "damaged", f"raised {result['type']} but changed: " + " ".join(diff[:8])
    documented = result["valueerror"] or result["usererror"]
    if documented and (not case.arg or case.arg in result["message"]):
        return "named", ""
    return "raw", f"{result['type']}: {result['message'][:200]}"


LIB_WRAPPER = """
import json, sys, traceback
def _report(ok, e=None):
    from darts.errors import UserError
    print({mark!r} + json.dumps(dict(ok=ok, type=type(e).__name__ if e else "", message=str(e) if e else "",
          valueerror=isinstance(e, ValueError), usererror=isinstance(e, UserError))), flush=True)
try:
{body}
except BaseException as e:
    traceback.print_exc()
    _report(False, e)
else:
    _report(True)
"""


def library_argv(case: Case) -> list[str]:
    body = "\n".join("    " + line for line in case.lib.strip().splitlines())
    return [sys.executable, "-c", LIB_WRAPPER.format(mark=LIB_MARK, body=body)]


def run_kill(case: Case, folder: Path) -> tuple[dict, str]:
    happened = run_until(expand(case.argv, folder), folder, case.kill_when, case.timeout)
    if case.after_kill and (folder / case.kill_when).exists():
        case.after_kill(folder)
    return run_command(expand(case.resume, folder), folder, case.timeout), happened


def command_text(case: Case) -> str:
    return "; ".join(case.lib.strip().splitlines()) if case.kind == "lib" else " ".join(case.argv)


def run_case(case: Case, cache: Path) -> dict:
    try:
        return classify_case(case, cache)
    except Exception as e:  # a fault of the harness or of a case's own code: shown, never hides the others
        return {"name": case.name, "workload": case.workload, "class": case.cls, "kind": case.kind,
                "command": command_text(case), "expect": case.expect, "outcome": "harness-error", "error": "",
                "reason": f"{type(e).__name__}: {e}"[:300]}


def classify_case(case: Case, cache: Path) -> dict:
    record = {"name": case.name, "workload": case.workload, "class": case.cls, "kind": case.kind,
              "command": command_text(case), "expect": case.expect}
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        folder = Path(tmp)
        try:
            install_fixtures(case, folder, cache)
            if case.setup:
                case.setup(folder)
        except Exception as e:  # the case could not be prepared: reported, not counted as the code's failure
            return {**record, "outcome": "setup-failed", "error": "", "reason": f"{type(e).__name__}: {e}"[:300]}
        before = snapshot(folder)
        note = ""
        if case.kind == "kill":
            res, note = run_kill(case, folder)
            record["command"] += "  ; kill -9 at " + case.kill_when + " ; " + " ".join(case.resume)
        elif case.kind == "lib":
            res = run_command(library_argv(case), folder, case.timeout)
        else:
            res = run_command(expand(case.argv, folder), folder, case.timeout)
        after = snapshot(folder)
        diff = changes(before, after) if case.kind != "kill" else []
        classify = classify_library if case.kind == "lib" else classify_command
        outcome, reason = classify(case, res, diff, folder)
        if case.kind == "kill" and outcome == "clean":
            outcome, reason = check_resumed(case, res, folder)
        if outcome in ("clean", "named") and case.check:
            problem = case.check(folder, res)
            if problem:
                outcome, reason = "damaged", problem
        if note:
            reason = f"{note}; {reason}" if reason else note
        return {**record, "outcome": outcome, "rc": res["rc"], "error": error_of(case, res), "reason": reason}


def error_of(case: Case, res: dict) -> str:
    """The first error line of a command; for a library call, the exception's type and message."""
    if case.kind == "lib":
        marks = [x for x in res["stdout"].splitlines() if x.startswith(LIB_MARK)]
        if marks:
            r = json.loads(marks[-1][len(LIB_MARK):])
            return f"{r['type']}: {r['message']}"[:300] if not r["ok"] else ""
    return first_error_line(res["stderr"]) or first_error_line(res["stdout"])


def check_resumed(case: Case, res: dict, folder: Path) -> tuple[str, str]:
    """A killed run resumed: it must finish (exit 0) with every file readable and no epoch twice."""
    if res["rc"] != 0:
        return "damaged", f"the resume did not finish (exit {res['rc']})"
    files = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]
    broken = unreadable(folder, files) + duplicated_epochs(folder)
    if broken:
        return "damaged", "; ".join(broken)
    return "clean", ""


# --- reports ----------------------------------------------------------------------------------------------
def summary(records: list[dict]) -> str:
    outcomes = ["clean", "named", "traceback", "damaged", "accepted", "raw", "hang", "setup-failed", "harness-error"]
    counts = defaultdict(Counter)
    for r in records:
        counts[r["workload"]][r["outcome"]] += 1
    used = [o for o in outcomes if any(c[o] for c in counts.values())]
    lines = [f"{len(records)} cases: " + ", ".join(f"{sum(c[o] for c in counts.values())} {o}" for o in used), "",
             "| workload | cases | " + " | ".join(used) + " |", "|---|---:|" + "---:|" * len(used)]
    for w in sorted(counts):
        lines.append(f"| {w} | {sum(counts[w].values())} | " + " | ".join(str(counts[w][o]) for o in used) + " |")
    failing = sorted((r for r in records if r["outcome"] in FAILING),
                     key=lambda r: (r["outcome"], r["class"], r["workload"], r["name"]))
    heading = None
    for r in failing:
        if (r["outcome"], r["class"]) != heading:
            heading = (r["outcome"], r["class"])
            lines += ["", f"## {r['outcome']}: {r['class']}", ""]
        lines.append(f"- `{r['name']}`: `{r['command']}` -> {r['error'] or '-'} [{r['reason']}]")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="hostile-out", help="folder for cases.json and summary.md")
    p.add_argument("--only", default="", help="run only the cases whose name matches this regular expression")
    p.add_argument("--jobs", type=int, default=2, help="cases run at once")
    p.add_argument("--list", action="store_true", help="print the cases and exit")
    p.add_argument("--summarize", action="store_true", help="rewrite DIR/summary.md from DIR/cases.json and exit")
    p.add_argument("--self_check", action="store_true", help="include the harness's own check cases")
    a = p.parse_args(argv)
    cases = hostile_cases.all_cases(self_check=a.self_check or bool(a.only))
    if a.only:
        cases = [c for c in cases if re.search(a.only, c.name)]
    if a.list:
        for c in cases:
            print(f"{c.name}\t{c.workload}\t{c.cls}\t{c.kind}\t{command_text(c)}")
        print(f"{len(cases)} cases", file=sys.stderr)
        return 0
    out = Path(a.out)
    if a.summarize:
        (out / "summary.md").write_text(summary(json.loads((out / "cases.json").read_text())))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    cache = (out / "fixtures").resolve()
    hostile_cases.FIXTURE["get"] = lambda name: fixture(name, cache)
    records, start = [], time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        for i, rec in enumerate(pool.map(lambda c: run_case(c, cache), cases), 1):
            records.append(rec)
            (out / "cases.json").write_text(json.dumps(records, indent=1))  # kept up to date: a stopped run tells
            print(f"[{i}/{len(cases)} {time.monotonic() - start:.0f}s] {rec['outcome']:9s} {rec['name']}"
                  + (f"  {rec['reason'][:120]}" if rec["outcome"] in FAILING else ""), flush=True)
    (out / "cases.json").write_text(json.dumps(records, indent=1))
    (out / "summary.md").write_text(summary(records))
    print(summary(records).split("\n\n## ")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
