"""The cases of the hostile-input battery (benchmarks/hostile_inputs.py): what a careless or hostile user
types, per workload, at tiny sizes. Each case runs in its own empty folder; `fixtures` are copied in first
(a tiny finished run in run/, a small corpus in ptb/, arrays in data.npz), `setup` then crafts files there.

expect: "refuse" (the input must be refused: exit 2, nothing changed), "either" (accepting it is fine too;
a refusal must still change nothing), "runtime" (the run may start and then stop with a one-line error)."""
from __future__ import annotations

import json
import os
import pickle
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

SEARCH = ["{py}", "{search}"]
FINAL = ["{py}", "{final}"]
TINY_IMAGE = ["--dataset", "digits", "--layers", "3", "--init_channels", "4", "--epochs", "1", "--max_batches", "1",
              "--batch_size", "4", "--no_progress"]
TINY_TEXT = ["--dataset", "ptb", "--data", "ptb", "--emsize", "8", "--nhid", "8", "--nhidlast", "8",
             "--batch_size", "4", "--bptt", "5", "--epochs", "1", "--max_batches", "1", "--no_progress"]
BASE = {
    "search1": SEARCH + TINY_IMAGE + ["--no_plots", "--save", "run"],
    "search2": SEARCH + TINY_IMAGE + ["--unrolled", "--no_plots", "--save", "run"],
    "enas": SEARCH + ["--strategy", "enas"] + TINY_IMAGE + ["--no_plots", "--save", "run"],
    "sample": SEARCH + ["--space", "nb201", "--strategy", "evolution", "--benchmark", "{nb201}", "--budget", "4",
                        "--no_progress", "--no_plots", "--save", "run"],
    "nb201": SEARCH + ["--space", "nb201", "--benchmark", "{nb201}"] + TINY_IMAGE + ["--no_plots", "--save", "run"],
    "retrain": FINAL + ["--arch", "DARTS_V2"] + TINY_IMAGE + ["--save", "run"],
    "lmsearch": SEARCH + TINY_TEXT + ["--no_plots", "--save", "run"],
    "lmtrain": FINAL + ["--arch", "DARTS_V2"] + TINY_TEXT + ["--save", "run"],
    "draw": ["{py}", "-m", "visualize"],
}
NEEDS = {"lmsearch": ("corpus",), "lmtrain": ("corpus",)}


@dataclass
class Case:
    name: str
    workload: str
    cls: str
    argv: list = field(default_factory=list)
    kind: str = "cli"  # cli | lib | kill | self
    expect: str = "refuse"
    fixtures: tuple = ()
    setup: Callable[[Path], None] | None = None
    lib: str = ""  # lib: the statements of the call (run inside try)
    arg: str = ""  # lib: the argument the error must name
    resume: list = field(default_factory=list)  # kill: the command that continues the run
    kill_when: str = ""  # kill: the file whose appearance triggers kill -9
    after_kill: Callable[[Path], None] | None = None  # kill: crafts files between the kill and the resume
    check: Callable | None = None  # (folder, result) -> a damage reason or None, after a clean outcome
    timeout: float = 120


def nb201_table() -> str:
    root = Path(os.environ.get("DARTS_SHARED_DATA", "data"))
    return str(root / "nb201" / "nats_bench_tss_200ep.csv")


def with_flags(argv: list, *pairs: str) -> list:
    """argv with each `--flag value` set (replaced where present, appended otherwise); a bare --flag appends."""
    out = list(argv)
    items = list(pairs)
    while items:
        flag = items.pop(0)
        value = items.pop(0) if items and not items[0].startswith("--") else None
        if flag in out:
            i = out.index(flag)
            if value is not None and i + 1 < len(out) and not out[i + 1].startswith("--"):
                out[i + 1] = value
            continue
        out += [flag] + ([value] if value is not None else [])
    return out


def without(argv: list, flag: str) -> list:
    out = list(argv)
    i = out.index(flag)
    del out[i:i + (2 if i + 1 < len(out) and not out[i + 1].startswith("--") else 1)]
    return out


# --- fixtures -----------------------------------------------------------------------------------------------
def write_corpus(folder: Path, lines=(60, 20, 20)) -> None:
    rng = random.Random(0)
    words = "the cat sat on a mat and ran off to see dog".split()
    (folder / "ptb").mkdir(exist_ok=True)
    for split, n in zip(("train", "valid", "test"), lines):
        text = "".join(" ".join(rng.choice(words) for _ in range(8)) + "\n" for _ in range(n))
        (folder / "ptb" / f"{split}.txt").write_text(text)


def write_npz(path: Path, n=40, labels=None, **extra) -> None:
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (n, 1, 8, 8), dtype=np.uint8)
    y = np.arange(n) % 4 if labels is None else labels
    np.savez(path, **{"x": x, "y": y, **extra})


FIXTURE_RUNS = {"search1": BASE["search1"], "search2": BASE["search2"], "enas": BASE["enas"],
                "sample": BASE["sample"], "retrain": BASE["retrain"], "lmsearch": BASE["lmsearch"],
                "lmtrain": BASE["lmtrain"], "cost": with_flags(BASE["search1"], "--cost_weight", "0.1"),
                "plots": without(BASE["search1"], "--no_plots")}


LIB_HEAD = "from darts import api\ndata = api.load_data('digits')\n"
LIB_BUILD = "net = api.build_network('DARTS_V2', 1, 10, init_channels=4, layers=3)\n"
LIB_FIXTURES = {
    "libsearch": LIB_HEAD + ("api.search(data, epochs=1, max_batches=1, layers=3, init_channels=4, batch_size=4, "
                             "no_plots=True, progress=False, log_to_console=False, save='run')"),
    "libtrain": LIB_HEAD + LIB_BUILD + ("api.train(net, data, epochs=1, batch_size=4, max_batches=1, save='run', "
                                        "device='cpu')"),
}


def make_fixture(name: str, folder: Path, run) -> None:
    if name in LIB_FIXTURES:
        res = run(["{py}", "-c", LIB_FIXTURES[name]])
        if res["rc"] != 0:
            raise RuntimeError(f"exit {res['rc']}: {res['stderr'].strip().splitlines()[-1:]}")
        return None
    if name == "corpus":
        return write_corpus(folder)
    if name == "npz":
        return write_npz(folder / "data.npz")
    if name.startswith("run-"):
        workload = name[4:]
        if workload in ("lmsearch", "lmtrain"):
            write_corpus(folder)
        res = run(FIXTURE_RUNS[workload])
        if res["rc"] != 0:
            raise RuntimeError(f"exit {res['rc']}: {(res['stderr'] or res['stdout']).strip().splitlines()[-1:]}")
        return None
    raise KeyError(name)


# --- crafting -----------------------------------------------------------------------------------------------
def write(rel: str, text: str | bytes) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return setup


def steps(*fns) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        for f in fns:
            f(folder)
    return setup


def replace_with_folder(rel: str):
    def setup(folder: Path) -> None:
        (folder / rel).unlink()
        (folder / rel).mkdir()
    return setup


def cut_last_row(rel: str):
    def setup(folder: Path) -> None:
        path = folder / rel
        data = path.read_bytes().rstrip(b"\n")
        path.write_bytes(data[: max(1, len(data) - 15)])
    return setup


def half_row(rel: str):
    """What a kill in the middle of appending a row leaves: the start of the next row, no newline."""
    def setup(folder: Path) -> None:
        path = folder / rel
        rows = [x for x in path.read_text().splitlines() if x.strip()]
        with open(path, "a") as f:
            f.write(json.dumps({"epoch": len(rows), "train_loss": 1.0})[:18])
    return setup


def edit_json(rel: str, **changes):
    def setup(folder: Path) -> None:
        path = folder / rel
        d = json.loads(path.read_text())
        d.update(changes)
        path.write_text(json.dumps(d))
    return setup


def copy_from(src: str, dest: str):
    def setup(folder: Path) -> None:
        shutil.copy2(folder / src, folder / dest)
    return setup


class _RunsCode:
    """A pickle payload that creates a marker file when loaded."""

    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def crafted_cifar(folder: Path) -> None:
    batches = folder / "data" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        with open(batches / name, "wb") as f:
            pickle.dump({"data": _RunsCode(), "labels": [0]}, f)


def no_marker(folder: Path, res) -> str | None:
    return "the crafted pickle ran code (PWNED created)" if (folder / "PWNED").exists() else None


def absent(*rels):
    def check(folder: Path, res) -> str | None:
        left = [r for r in rels if (folder / r).exists()]
        return f"--overwrite left the previous run's {', '.join(left)}" if left else None
    return check


def epochs_in(rel: str, n: int):
    """After a resume that finished: `rel` holds n readable rows."""
    def check(folder: Path, res) -> str | None:
        path = folder / rel
        if res["rc"] != 0 or not path.exists():
            return None
        try:
            rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        except ValueError as e:
            return f"{rel} is unreadable after the resume ({e})"
        return None if len(rows) == n else f"{rel} has {len(rows)} rows after a resume of a {n}-epoch run"
    return check


# --- the cases ----------------------------------------------------------------------------------------------
# Per workload: flag -> {value: expectation} for the values beyond the two every flag gets (0 and nan);
# "either" marks a value a run may accept, "runtime" one it may start with and then stop with an error.
DEFAULT_NUMBERS = {"0": "refuse", "nan": "refuse"}
NUMERIC = {
    "search1": {"--learning_rate": {"0": "either", "-1": "refuse", "inf": "refuse", "1e30": "runtime"},
                "--epochs": {"-1": "refuse"}, "--batch_size": {"-1": "refuse"}, "--init_channels": {"1e30": "refuse"},
                "--layers": {"1e30": "refuse"}, "--train_portion": {"-1": "refuse", "1e30": "refuse"},
                "--grad_clip": {"0": "either", "-1": "refuse"}, "--weight_decay": {"0": "either", "inf": "refuse"},
                "--momentum": {"0": "either", "-1": "refuse"}, "--max_batches": {"-1": "refuse"}},
    "search2": {"--arch_learning_rate": {"0": "either", "-1": "refuse", "inf": "refuse"},
                "--arch_weight_decay": {"0": "either", "inf": "refuse"}},
    "enas": {"--controller_lr": {"0": "either", "-1": "refuse", "inf": "refuse"}, "--controller_train_steps": {},
             "--derive_samples": {}, "--controller_entropy_weight": {"0": "either", "inf": "refuse"}},
    "sample": {"--budget": {"-1": "refuse"}, "--evolution_population_size": {"-1": "refuse"},
               "--evolution_sample_size": {"1e30": "refuse"}},
    "nb201": {"--learning_rate": {"0": "either", "inf": "refuse"}, "--init_channels": {"1e30": "refuse"}},
    "retrain": {"--learning_rate": {"0": "either", "-1": "refuse", "inf": "refuse", "1e30": "runtime"},
                "--epochs": {"-1": "refuse"}, "--batch_size": {"-1": "refuse"}, "--init_channels": {"1e30": "refuse"},
                "--layers": {"1e30": "refuse"}, "--drop_path_prob": {"0": "either", "-1": "refuse"},
                "--auxiliary_weight": {"0": "either", "-1": "refuse"}, "--grad_clip": {"0": "either", "-1": "refuse"},
                "--time_budget": {"-1": "refuse"}},
    "lmsearch": {"--lr": {"0": "either", "-1": "refuse", "inf": "refuse"}, "--epochs": {"-1": "refuse"},
                 "--bptt": {"-1": "refuse"}, "--emsize": {"1e30": "refuse"}, "--nhid": {},
                 "--dropout": {"0": "either", "-1": "refuse"}, "--batch_size": {}},
    "lmtrain": {"--lr": {"0": "either", "-1": "refuse", "inf": "refuse", "1e30": "runtime"},
                "--epochs": {"-1": "refuse"},
                "--bptt": {"-1": "refuse"}, "--emsize": {"1e30": "refuse"}, "--nhid": {},
                "--dropout": {"0": "either", "-1": "refuse"}, "--clip": {"0": "either"}, "--batch_size": {},
                "--eval_batch_size": {}, "--wdecay": {"0": "either", "inf": "refuse"}},
}
INTEGER_FLAGS = {"--epochs", "--batch_size", "--init_channels", "--layers", "--max_batches", "--cutout_length",
                 "--controller_train_steps", "--derive_samples", "--budget", "--evolution_population_size",
                 "--evolution_sample_size", "--bptt", "--emsize", "--nhid", "--eval_batch_size"}


def numeric_cases() -> list[Case]:
    cases = []
    for workload, flags in NUMERIC.items():
        for flag, special in flags.items():
            for value, expect in {**DEFAULT_NUMBERS, **special}.items():
                shown = "100000" if value == "1e30" and flag in INTEGER_FLAGS else value
                cases.append(Case(f"{workload}.num{flag}={shown}", workload, "bad number",
                                  with_flags(BASE[workload], flag, shown), expect=expect,
                                  fixtures=NEEDS.get(workload, ())))
    return cases


CHOICES = {
    "search1": [("--space", "bogus"), ("--strategy", "bogus"), ("--dataset", "bogus"), ("--device", "bogus"),
                ("--device", "mps"), ("--relaxation", "bogus"), ("--primitives", "bogus,skip_connect"),
                ("--primitives", ""), ("--selection", "bogus"), ("--threads", "0"), ("--threads", "bogus"),
                ("--emsize", "8")],
    "search2": [("--hessian", "bogus")],
    "sample": [("--strategy", "bogus"), ("--bo_sampler", "bogus"), ("--reward", "bogus")],
    "retrain": [("--arch", "bogus"), ("--lr_schedule", "bogus"), ("--device", "mps"), ("--dataset", "bogus"),
                ("--arch", "DARTS_V2_RNN"), ("--nhid", "8")],
    "lmsearch": [("--device", "mps"), ("--dataset", "wikitext2")],
    "lmtrain": [("--arch", "DARTS_V2_RNN"), ("--arch", "bogus"), ("--arch", "ENAS"), ("--device", "mps"),
                ("--auxiliary", None)],
}


def choice_cases() -> list[Case]:
    cases = []
    for workload, pairs in CHOICES.items():
        for flag, value in pairs:
            argv = with_flags(BASE[workload], flag, *( [value] if value is not None else []))
            accepted = {("lmtrain", "--arch", "DARTS_V2_RNN"), ("lmsearch", "--dataset", "wikitext2")}  # same layout
            expect = "either" if (workload, flag, value) in accepted else "refuse"
            cases.append(Case(f"{workload}.choice{flag}={value}", workload, "bad choice", argv, expect=expect,
                              fixtures=NEEDS.get(workload, ())))
    return cases


GENOTYPE_BROKEN = '{"space": "darts", "normal": [["sep_conv_3x3", 0]'
GENOTYPE_NB201 = json.dumps({"space": "nb201",
                             "arch": "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|none~2|"})
GENOTYPE_BADOP = json.dumps({"space": "darts", "normal": [["bogus_op", 0]] * 8, "normal_concat": [2, 3, 4, 5],
                             "reduce": [["max_pool_3x3", 0]] * 8, "reduce_concat": [2, 3, 4, 5]})
GENOTYPE_BADINDEX = json.dumps({"space": "darts", "normal": [["sep_conv_3x3", 99]] * 8, "normal_concat": [2, 3, 4, 5],
                                "reduce": [["max_pool_3x3", 0]] * 8, "reduce_concat": [2, 3, 4, 5]})
GENOTYPE_HUGE_RANGE = ("Genotype(normal=[('sep_conv_3x3', 0)] * 8, normal_concat=range(2, 10000000000), "
                       "reduce=[('max_pool_3x3', 0)] * 8, reduce_concat=range(2, 6))")


def genotype_cases() -> list[Case]:
    cases = []
    files = {"broken": GENOTYPE_BROKEN, "nb201": GENOTYPE_NB201, "badop": GENOTYPE_BADOP,
             "badindex": GENOTYPE_BADINDEX, "list": "[1, 2, 3]", "empty": "", "binary": "\x00\xff\xfe"}
    for workload in ("retrain", "lmtrain", "draw"):
        for label, text in files.items():
            argv = (BASE["draw"] + ["g.json", "--out", "fig"] if workload == "draw"
                    else with_flags(BASE[workload], "--arch", "g.json"))
            legal = label == "nb201" and workload != "lmtrain"  # an NB201 cell is drawn and retrained
            cases.append(Case(f"{workload}.genotype-{label}", workload, "crafted file", argv,
                              fixtures=NEEDS.get(workload, ()), setup=write("g.json", text),
                              expect="either" if legal else "refuse"))
        argv = (BASE["draw"] + [GENOTYPE_HUGE_RANGE, "--out", "fig"] if workload == "draw"
                else with_flags(BASE[workload], "--arch", GENOTYPE_HUGE_RANGE))
        cases.append(Case(f"{workload}.genotype-text-huge-range", workload, "crafted file", argv,
                          fixtures=NEEDS.get(workload, ()), timeout=120))
    cases.append(Case("lmtrain.genotype-conv", "lmtrain", "crafted file",
                      with_flags(BASE["lmtrain"], "--arch", "NASNet"),
                      fixtures=NEEDS["lmtrain"]))
    cases.append(Case("draw.missing", "draw", "bad path", BASE["draw"] + ["nothere.json", "--out", "fig"]))
    cases.append(Case("draw.bad-format", "draw", "bad choice",
                      BASE["draw"] + ["DARTS_V2", "--format", "bogus", "--out", "fig"]))
    cases.append(Case("draw.out-is-file", "draw", "bad path", BASE["draw"] + ["DARTS_V2", "--out", "f"],
                      setup=write("f", "x")))
    cases.append(Case("draw.ok", "draw", "control", BASE["draw"] + ["DARTS_V2", "--out", "fig"], expect="either"))
    cases.append(Case("draw.search-folder", "draw", "control", BASE["draw"] + ["run"], expect="either",
                      fixtures=("run-search1",)))
    cases.append(Case("draw.search-alphas-cut", "draw", "crafted file", BASE["draw"] + ["run"], expect="either",
                      fixtures=("run-search1",), setup=cut_last_row("run/alphas.jsonl")))
    cases.append(Case("draw.search-genotype-broken", "draw", "crafted file", BASE["draw"] + ["run"],
                      fixtures=("run-search1",), setup=write("run/genotype.json", GENOTYPE_BROKEN)))
    cases.append(Case("draw.ops-module-missing", "draw", "bad path",
                      BASE["draw"] + ["DARTS_V2", "--ops_module", "nothere.py", "--out", "fig"]))
    return cases


def path_cases() -> list[Case]:
    c = []
    for w in ("search1", "retrain", "lmsearch", "lmtrain"):
        data_flag = ["--data", "nothere"]
        ds = "ptb" if w.startswith("lm") else "npz"
        base = with_flags(BASE[w], "--dataset", ds)
        c.append(Case(f"{w}.data-missing", w, "bad path", with_flags(base, *data_flag)))
        c.append(Case(f"{w}.data-is-file", w, "bad path", with_flags(base, "--data", "f"), setup=write("f", "x")))
        c.append(Case(f"{w}.save-under-file", w, "bad path", with_flags(BASE[w], "--save", "f/run"),
                      fixtures=NEEDS.get(w, ()), setup=write("f", "x")))
        c.append(Case(f"{w}.save-is-file", w, "bad path", with_flags(BASE[w], "--save", "f"),
                      fixtures=NEEDS.get(w, ()), setup=write("f", "x")))
        c.append(Case(f"{w}.config-missing", w, "bad path", with_flags(BASE[w], "--config", "nothere.json"),
                      fixtures=NEEDS.get(w, ())) if w.startswith("search") or w == "lmsearch" else None)
        c.append(Case(f"{w}.resume-missing", w, "bad path", BASE[w][:2] + ["--resume", "nothere"]))
        c.append(Case(f"{w}.resume-is-file", w, "bad path", BASE[w][:2] + ["--resume", "f"], setup=write("f", "x")))
        c.append(Case(f"{w}.save-existing-run", w, "misuse", BASE[w], fixtures=(f"run-{w}",)))
    for w in ("search1", "retrain"):
        c.append(Case(f"{w}.ops-module-missing", w, "bad path", with_flags(BASE[w], "--ops_module", "nothere.py")))
        c.append(Case(f"{w}.ops-module-broken", w, "crafted file", with_flags(BASE[w], "--ops_module", "m.py"),
                      setup=write("m.py", "def broken(:\n")))
        c.append(Case(f"{w}.tensorboard-is-file", w, "bad path", with_flags(BASE[w], "--tensorboard", "f"),
                      setup=write("f", "x")))
        c.append(Case(f"{w}.folder-data-empty", w, "crafted file",
                      with_flags(BASE[w], "--dataset", "folder", "--data", "imgs", "--image_size", "8"),
                      setup=steps(write("imgs/a/.keep", ""), write("imgs/b/.keep", ""))))
        c.append(Case(f"{w}.folder-data-not-images", w, "crafted file",
                      with_flags(BASE[w], "--dataset", "folder", "--data", "imgs", "--image_size", "8"),
                      setup=steps(write("imgs/a/x.png", "not a png"), write("imgs/b/y.png", "nope"))))
    for w in ("sample", "nb201"):
        c.append(Case(f"{w}.benchmark-missing", w, "bad path", with_flags(BASE[w], "--benchmark", "nothere.csv")))
        c.append(Case(f"{w}.benchmark-is-folder", w, "bad path", with_flags(BASE[w], "--benchmark", "d"),
                      setup=write("d/x", "")))
        c.append(Case(f"{w}.benchmark-garbage", w, "crafted file", with_flags(BASE[w], "--benchmark", "t.csv"),
                      setup=write("t.csv", "a,b\n1,2\n")))
        c.append(Case(f"{w}.benchmark-binary", w, "crafted file", with_flags(BASE[w], "--benchmark", "t.csv"),
                      setup=write("t.csv", b"\x80\x81\x00\xff" * 50)))
    c.append(Case("retrain.model-path-missing", "retrain", "bad path",
                  FINAL + ["--eval_only", "--model_path", "nothere.pt", "--dataset", "digits", "--batch_size", "4",
                           "--max_batches", "1", "--save", "run"]))
    c.append(Case("retrain.model-path-garbage", "retrain", "crafted file",
                  FINAL + ["--eval_only", "--model_path", "w.pt", "--dataset", "digits", "--batch_size", "4",
                           "--max_batches", "1", "--save", "run"], setup=write("w.pt", b"garbage" * 20)))
    return [x for x in c if x is not None]


def data_cases() -> list[Case]:
    import numpy as np
    c = []
    npz = lambda **kw: (lambda folder: write_npz(folder / "d.npz", **kw))  # noqa: E731
    crafted = {"labels-1e9": npz(labels=(np.arange(40) % 4) * 250_000_000),
               "labels-negative": npz(labels=np.arange(40) % 4 - 2),
               "labels-float": npz(labels=np.linspace(0, 3.5, 40)), "labels-short": npz(labels=np.arange(10) % 4),
               "one-class": npz(labels=np.zeros(40, dtype=np.int64)), "empty-file": write("d.npz", b""),
               "garbage": write("d.npz", b"PK\x03\x04garbage" * 10),
               "nan-images": lambda f: np.savez(f / "d.npz", x=np.full((40, 1, 8, 8), np.nan), y=np.arange(40) % 4),
               "object-array": lambda f: np.savez(f / "d.npz", x=np.array([None] * 40, dtype=object),
                                                  y=np.arange(40) % 4),
               "two-images": npz(n=2, labels=np.arange(2))}
    for w in ("search1", "retrain"):
        for label, setup in crafted.items():
            c.append(Case(f"{w}.npz-{label}", w, "crafted file",
                          with_flags(BASE[w], "--dataset", "npz", "--data", "d.npz"),
                          setup=setup, timeout=120))
        c.append(Case(f"{w}.cifar-pickle-runs-code", w, "crafted file",
                      with_flags(BASE[w], "--dataset", "cifar10", "--data", "data"), setup=crafted_cifar,
                      check=no_marker))
    c.append(Case("search1.npz-ok", "search1", "control",
                  with_flags(BASE["search1"], "--dataset", "npz", "--data", "data.npz"),
                  expect="either", fixtures=("npz",)))
    c.append(Case("search1.train-portion-tiny", "search1", "bad number",
                  with_flags(BASE["search1"], "--dataset", "npz", "--data", "data.npz", "--train_portion", "0.01"),
                  expect="either", fixtures=("npz",)))
    corpora = {"empty": write("c/train.txt", ""), "not-utf8": write("c/train.txt", b"\xff\xfe\x80 abc\n"),
               "too-short": write("c/train.txt", "a b\n"), "word-missing": write("c/valid.txt", "zebra unicorn\n" * 5),
               "no-valid": lambda f: (f / "c" / "valid.txt").unlink(), "binary": write("c/test.txt", b"\x00" * 300)}
    for w in ("lmsearch", "lmtrain"):
        for label, setup in corpora.items():
            def prepared(folder: Path, setup=setup) -> None:
                write_corpus(folder)
                (folder / "ptb").rename(folder / "c")
                setup(folder)
            c.append(Case(f"{w}.corpus-{label}", w, "crafted file", with_flags(BASE[w], "--data", "c"), setup=prepared))
        c.append(Case(f"{w}.corpus-shorter-than-batch", w, "bad number",
                      with_flags(BASE[w], "--batch_size", "500", "--bptt", "35"), fixtures=("corpus",)))
    return c


def config_cases() -> list[Case]:
    c = []
    for w in ("search1", "lmsearch"):
        fx = NEEDS.get(w, ())
        cfg = with_flags(BASE[w], "--config", "a.json")
        c.append(Case(f"{w}.config-broken", w, "crafted file", cfg, fixtures=fx,
                      setup=write("a.json", "{not json")))
        c.append(Case(f"{w}.config-list", w, "crafted file", cfg, fixtures=fx,
                      setup=write("a.json", "[1, 2]")))
        c.append(Case(f"{w}.config-bad-value", w, "crafted file", cfg, fixtures=fx,
                      setup=write("a.json", json.dumps({"learning_rate": "fast", "lr": "fast"}))))
        c.append(Case(f"{w}.config-unknown-key", w, "crafted file", cfg, fixtures=fx,
                      setup=write("a.json", json.dumps({"bogus_key": 1}))))
        c.append(Case(f"{w}.config-ops-module", w, "crafted file", cfg, fixtures=fx,
                      setup=steps(write("a.json", json.dumps({"ops_module": "evil.py"})),
                                  write("evil.py", "open('PWNED', 'w').close()\n")), check=no_marker, expect="either"))
    return c


RESUME = {"search1": SEARCH, "search2": SEARCH, "enas": SEARCH, "sample": SEARCH, "lmsearch": SEARCH,
          "retrain": FINAL, "lmtrain": FINAL}
CHANGED = {"search1": ("--learning_rate", "0.5"), "search2": ("--arch_learning_rate", "0.5"),
           "enas": ("--controller_lr", "0.5"), "sample": ("--evolution_population_size", "3"),
           "lmsearch": ("--lr", "3"), "retrain": ("--learning_rate", "0.5"), "lmtrain": ("--lr", "3")}


def resume_cases() -> list[Case]:
    c = []
    for w, cmd in RESUME.items():
        fx = (f"run-{w}",)
        r = cmd + ["--resume", "run"]
        c.append(Case(f"{w}.resume-finished", w, "control", r, expect="either", fixtures=fx))
        c.append(Case(f"{w}.resume-changed-setting", w, "resume misuse", r + list(CHANGED[w]), fixtures=fx))
        c.append(Case(f"{w}.resume-other-save", w, "resume misuse", r + ["--save", "other"], fixtures=fx))
        c.append(Case(f"{w}.resume-args-broken", w, "crafted file", r, fixtures=fx,
                      setup=write("run/args.json", "{oops")))
        c.append(Case(f"{w}.resume-args-missing", w, "crafted file", r, fixtures=fx,
                      setup=lambda f: (f / "run" / "args.json").unlink()))
        if w != "sample":
            c.append(Case(f"{w}.resume-checkpoint-folder", w, "crafted file", r, fixtures=fx,
                          setup=replace_with_folder("run/checkpoint.pt")))
            c.append(Case(f"{w}.resume-checkpoint-garbage", w, "crafted file", r, fixtures=fx,
                          setup=write("run/checkpoint.pt", b"\x80\x02garbage" * 30)))
            c.append(Case(f"{w}.resume-checkpoint-empty", w, "crafted file", r, fixtures=fx,
                          setup=write("run/checkpoint.pt", b"")))
        jsonl = "history.jsonl" if w in ("retrain", "lmtrain", "sample", "enas") else "alphas.jsonl"
        c.append(Case(f"{w}.resume-finished-last-row-cut", w, "crafted file", r, expect="either", fixtures=fx,
                      setup=cut_last_row(f"run/{jsonl}"), check=epochs_in(f"run/{jsonl}", 4 if w == "sample" else 1)))
    # a folder of another command, another order, another size
    other = {"search1": "run-retrain", "retrain": "run-search1", "lmtrain": "run-lmsearch", "lmsearch": "run-lmtrain"}
    for w, fx in other.items():
        c.append(Case(f"{w}.resume-other-command-folder", w, "resume misuse", RESUME[w] + ["--resume", "run"],
                      fixtures=(fx, "corpus")))
    c.append(Case("search1.resume-second-order-checkpoint", "search1", "resume misuse", SEARCH + ["--resume", "run"],
                  fixtures=("run-search1",), setup=checkpoint_of("run-search2")))
    c.append(Case("search2.resume-first-order-checkpoint", "search2", "resume misuse", SEARCH + ["--resume", "run"],
                  fixtures=("run-search2",), setup=checkpoint_of("run-search1")))
    c.append(Case("search1.resume-enas-checkpoint", "search1", "resume misuse", SEARCH + ["--resume", "run"],
                  fixtures=("run-search1",), setup=checkpoint_of("run-enas")))
    c.append(Case("lmtrain.resume-search-checkpoint", "lmtrain", "resume misuse", FINAL + ["--resume", "run"],
                  fixtures=("run-lmtrain",), setup=checkpoint_of("run-lmsearch")))
    c.append(Case("retrain.resume-other-size-args", "retrain", "resume misuse", FINAL + ["--resume", "run"],
                  fixtures=("run-retrain",), setup=edit_json("run/args.json", init_channels=8)))
    c.append(Case("search1.resume-args-edited-epochs-0", "search1", "crafted file", SEARCH + ["--resume", "run"],
                  fixtures=("run-search1",), setup=edit_json("run/args.json", epochs=0)))
    # --overwrite
    c.append(Case("search1.overwrite-cost-leftovers", "search1", "overwrite", BASE["search1"] + ["--overwrite"],
                  expect="either", fixtures=("run-cost",), check=absent("run/op_costs.json")))
    c.append(Case("search1.overwrite-figures-leftovers", "search1", "overwrite", BASE["search1"] + ["--overwrite"],
                  expect="either", fixtures=("run-plots",), check=absent("run/figures")))
    c.append(Case("search1.overwrite-refused-input", "search1", "overwrite",
                  with_flags(BASE["search1"], "--learning_rate", "nan", "--overwrite"), fixtures=("run-search1",)))
    c.append(Case("retrain.overwrite-search-folder", "retrain", "overwrite", BASE["retrain"] + ["--overwrite"],
                  expect="either", fixtures=("run-search1",), check=absent("run/alphas.jsonl")))  # genotype.json: the
    # retraining writes its own
    c.append(Case("lmtrain.overwrite-refused-input", "lmtrain", "overwrite",
                  with_flags(BASE["lmtrain"], "--epochs", "0", "--overwrite"), fixtures=("run-lmtrain",)))
    return c


FIXTURE: dict[str, Callable[[str], Path]] = {}  # "get": the harness's maker of fixtures (set by hostile_inputs)


def checkpoint_of(name: str) -> Callable[[Path], None]:
    """Put the checkpoint of another fixture run into run/."""
    def setup(folder: Path) -> None:
        shutil.copy2(FIXTURE["get"](name) / "run" / "checkpoint.pt", folder / "run" / "checkpoint.pt")
    return setup


def kill_cases() -> list[Case]:
    c = []
    for w in ("search1", "search2", "enas", "retrain", "lmsearch", "lmtrain", "sample"):
        fx = NEEDS.get(w, ())
        if w == "sample":
            argv = with_flags(BASE[w], "--budget", "60")
            argv = with_flags(argv, "--benchmark", "{nb201}")
        else:
            argv = with_flags(BASE[w], "--epochs", "3")
        resume = RESUME[w] + ["--resume", "run"]
        first = "run/checkpoint.pt" if w != "sample" else "run/history.jsonl"
        for when, trigger in (("before", "run/log.txt"), ("after", first)):
            c.append(Case(f"{w}.kill-{when}-first-checkpoint", w, "kill", argv, kind="kill", fixtures=fx,
                          resume=resume, kill_when=trigger, expect="either", timeout=240))
        if w in ("retrain", "lmtrain", "search1"):
            jsonl = "alphas.jsonl" if w == "search1" else "history.jsonl"
            c.append(Case(f"{w}.kill-mid-row", w, "kill", argv, kind="kill", fixtures=fx, resume=resume,
                          kill_when="run/checkpoint.pt", expect="either", timeout=240,
                          after_kill=half_row(f"run/{jsonl}"), check=epochs_in(f"run/{jsonl}", 3)))
    return c


def library_cases() -> list[Case]:
    search = LIB_HEAD + ("api.search(data, **{{**dict(epochs=1, max_batches=1, layers=3, init_channels=4, "
                         "batch_size=4, no_plots=True, progress=False, log_to_console=False, save='run'), "
                         "**dict({kw})}})")
    build = ("from darts import api\n"
             "net = api.build_network('DARTS_V2', 1, 10, **{{**dict(init_channels=4, layers=3), **dict({kw})}})")
    train = LIB_HEAD + LIB_BUILD + ("api.train(net, data, **{{**dict(epochs=1, batch_size=4, max_batches=1, "
                                    "save='run', device='cpu'), **dict({kw})}})")
    c = []
    for arg, values in {"num_classes": ["0", "-1"], "init_channels": ["0", "-1", "100000"], "layers": ["0", "-1"],
                        "in_channels": ["0", "-1"]}.items():
        for v in values:
            if arg in ("num_classes", "in_channels"):
                code = ("from darts import api\n"
                        f"net = api.build_network('DARTS_V2', {'1' if arg == 'num_classes' else v}, "
                        f"{v if arg == 'num_classes' else '10'}, init_channels=4, layers=3)")
            else:
                code = build.format(kw=f"{arg}={v}")
            c.append(Case(f"library.build_network-{arg}={v}", "library", "bad number", kind="lib", lib=code, arg=arg))
    for arg, values in {"epochs": ["0", "-1"], "batch_size": ["0", "-1"],
                        "learning_rate": ["-1", "float('nan')", "float('inf')"],
                        "drop_path_prob": ["1", "-0.5"], "grad_clip": ["-1"], "momentum": ["-1"],
                        "weight_decay": ["float('nan')"], "max_batches": ["0"], "label_smoothing": ["2"],
                        "lr_schedule": ["'bogus'"], "bogus_option": ["1"], "device": ["'bogus'"]}.items():
        for v in values:
            c.append(Case(f"library.train-{arg}={v}", "library", "bad number", kind="lib",
                          lib=train.format(kw=f"{arg}={v}"),
                          arg=arg))
    for arg, values in {"learning_rate": ["-1", "float('nan')"], "epochs": ["0"], "batch_size": ["0"],
                        "train_portion": ["0", "2"], "space": ["'bogus'"], "strategy": ["'bogus'"],
                        "primitives": ["['bogus']"], "bogus_setting": ["1"]}.items():
        for v in values:
            c.append(Case(f"library.search-{arg}={v}", "library", "bad number", kind="lib",
                          lib=search.format(kw=f"{arg}={v}"),
                          arg=arg))
    c.append(Case("library.search-resume-changed-lr", "library", "resume misuse", kind="lib", fixtures=("libsearch",),
                  lib=search.format(kw="resume=True, learning_rate=0.5"), arg="learning_rate"))
    c.append(Case("library.train-resume-changed-lr", "library", "resume misuse", kind="lib", fixtures=("libtrain",),
                  lib=train.format(kw="resume=True, learning_rate=0.5"), arg="learning_rate"))
    c.append(Case("library.load_data-missing", "library", "bad path", kind="lib",
                  lib="from darts import api\napi.load_data('npz', 'nothere.npz')", arg="nothere"))
    c.append(Case("library.load_genotype-broken", "library", "crafted file", kind="lib",
                  setup=write("g.json", GENOTYPE_BROKEN),
                  lib="from darts import api\napi.load_genotype('g.json')", arg="g.json"))
    c.append(Case("library.load_network-garbage", "library", "crafted file", kind="lib",
                  setup=write("w.pt", b"junk" * 30),
                  lib="from darts import api\napi.load_network('w.pt')", arg="w.pt"))
    c.append(Case("library.as_image_dataset-mismatch", "library", "bad input", kind="lib",
                  lib="import torch\nfrom darts import api\n"
                      "api.as_image_dataset((torch.zeros(10, 1, 8, 8), torch.zeros(5)))",
                  arg="label"))
    c.append(Case("library.render-bad-format", "library", "bad choice", kind="lib",
                  lib="from darts import api\napi.render('DARTS_V2', 'fig', fmt='bogus')", arg="fmt"))
    return c


def self_cases() -> list[Case]:
    """Cases that check the harness itself: one must come out clean, one traceback, one damaged."""
    py = "{py}"
    return [
        Case("self.clean-refusal", "self", "harness",
             [py, "-c", "import sys; print('error: bad value', file=sys.stderr); sys.exit(2)"]),
        Case("self.traceback", "self", "harness", [py, "-c", "raise ValueError('boom')"]),
        Case("self.damaged", "self", "harness", [py, "-c", "import sys; open('x', 'w').write('1'); "
                                                           "print('error: refused', file=sys.stderr); sys.exit(2)"]),
        Case("self.hang", "self", "harness", [py, "-c", "import time; time.sleep(30)"], timeout=2),
        Case("self.library-named", "self", "harness", kind="lib", lib="raise ValueError('epochs must be positive')",
             arg="epochs"),
        Case("self.library-raw", "self", "harness", kind="lib", lib="1 / 0", arg="epochs"),
    ]


def all_cases(self_check: bool = False) -> list[Case]:
    cases = (numeric_cases() + choice_cases() + genotype_cases() + path_cases() + data_cases() + config_cases()
             + resume_cases() + kill_cases() + library_cases())
    if self_check:
        cases += self_cases()
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, f"duplicate case names: {dup}"
    return cases
