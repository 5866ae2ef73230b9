"""Trials in a store (darts.trials): every sample strategy by ask / tell through Optuna's storage, resume from the
store alone, worker processes on one journal file, lost workers' trials retried, failing trials recorded."""
import json
import threading
import time

import pytest

from darts import api
from darts.errors import UserError
from darts.strategies.base import run_strategy
from darts.strategies.registry import build_strategy
from darts.trials.coordinator import Coordinator
from darts.trials.store import JOURNAL, TrialStore, check_storage_url, new_worker_id
from darts.trials.worker import Heartbeat, run_worker, work_once
from tests.test_strategies import BUILTIN, FAST_OPTIONS, ToySpace, ToyTable

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


LABELS = {"strategy": "s", "space": "toy", "evaluator": "toy-table", "seed": 0}
STRIP = ("time", "trial")


def strategy(name, seed=7):
    return build_strategy(name, ToySpace(), seed=seed, **FAST_OPTIONS[name])


def search(store, name, budget, evaluate=None, seed=7, beat_s=2.0, **kw):
    """A coordinator with one in-process worker over `store`: the result and the worker's heartbeat."""
    heart = Heartbeat(store, new_worker_id(), beat_s)
    evaluate = evaluate or ToyTable().evaluate
    local = kw.pop("local", None) or (lambda: work_once(store, heart, evaluate, tuple))
    coordinator = Coordinator(strategy(name, seed), store, budget, LABELS, local=local, own_worker=heart.worker,
                              progress=False, **kw)
    with heart:
        return coordinator.run()


def rows(records):
    return [{k: v for k, v in r.items() if k not in STRIP} for r in records]


@pytest.fixture
def store(tmp_path):
    return TrialStore.open(str(tmp_path / JOURNAL), "toy")


@pytest.mark.parametrize("name", BUILTIN)
def test_each_strategy_through_the_store_equals_the_sequential_run(store, name):
    sequential = run_strategy(strategy(name), ToyTable(), 12, progress=False)
    stored = search(store, name, 12)
    assert rows(stored.records) == rows(sequential.records)
    assert stored.best_arch == sequential.best_arch and stored.best_reward == sequential.best_reward
    complete = store.trials(store.State.COMPLETE)
    assert len(complete) == 12 and store.told_order() == list(range(12))
    assert [t.user_attrs["arch"] for t in sorted(complete, key=lambda t: t.number)] == [
        r["arch"] for r in sequential.records]


@pytest.mark.parametrize("name", ["evolution", "ppo", "bo"])
def test_three_workers_settle_every_ask_once_and_a_replay_equals_the_run(tmp_path, name):
    """Three worker threads on one journal: rewards arrive out of order; each ask is told once, PPO proposes a
    batch only after learning from the one before, and a new coordinator replays the same search."""
    url, table = str(tmp_path / JOURNAL), ToyTable()

    def evaluate(arch):
        time.sleep(0.02 + 0.01 * (sum(arch) % 5))  # uneven durations, each long enough that others claim meanwhile
        return table.evaluate(arch)

    workers = [threading.Thread(target=run_worker, args=(TrialStore.open(url, "toy"), evaluate, tuple, f"w{k}"),
                                kwargs={"poll_s": 0.01, "beat_s": 0.05}) for k in range(3)]
    for w in workers:
        w.start()
    store = TrialStore.open(url, "toy")
    result = Coordinator(strategy(name), store, 15, LABELS, grace_s=10, progress=False).run()
    for w in workers:
        w.join()
    assert sorted(store.told_order()) == list(range(15)) and len(result.records) == 15
    firsts = [t for t in store.trials() if t.user_attrs["attempt"] == 0]
    assert len(firsts) == 15 and all(t.state == store.State.COMPLETE for t in firsts)
    if name == "ppo":  # batch_size 5
        assert all(t.user_attrs["told_before"] >= t.user_attrs["ask"] // 5 * 5 for t in firsts)
    assert len({t.user_attrs["worker"] for t in firsts}) > 1
    replayed = Coordinator(strategy(name), store, 15, LABELS, progress=False)
    replayed.replay()
    assert rows(replayed.records) == rows(result.records)


class Stop(Exception):
    pass


def stop_at(step):
    def callback(k, record):
        if k == step:
            raise Stop
    return callback


@pytest.mark.parametrize("name,kind", [("random", "journal"), ("evolution", "journal"), ("random", "sqlite")])
def test_resume_from_the_store_alone_equals_the_uninterrupted_search(tmp_path, name, kind):
    """Killed after 13 rewards (evolution is past its initial population of 10), started again with a new
    strategy object on the same storage: the 25 rewards are those of the search never stopped."""
    budget = 25 if kind == "journal" else 8  # a database: fewer (each look at it reads every trial)
    full = search(TrialStore.open(str(tmp_path / "full.journal"), "toy"), name, budget)
    url = str(tmp_path / "cut.journal") if kind == "journal" else f"sqlite:///{tmp_path / 'cut.db'}"
    with pytest.raises(Stop):
        search(TrialStore.open(url, "toy"), name, budget, callbacks=[stop_at(budget // 2)])
    history = tmp_path / "history.jsonl"
    resumed = search(TrialStore.open(url, "toy"), name, budget, history_path=history)
    assert rows(resumed.records) == rows(full.records)
    assert [json.loads(line)["arch"] for line in history.read_text().splitlines()] == [
        r["arch"] for r in full.records]


def test_a_resumed_study_of_another_search_is_refused(store):
    search(store, "random", 3)
    with pytest.raises(UserError, match="belongs to a search with seed 0, not 1"):
        Coordinator(strategy("random"), store, 3, {**LABELS, "seed": 1}, progress=False)


def test_a_lost_workers_trial_is_retried_and_counted_once(store):
    """The first claim's worker dies (its trial stays RUNNING, its heartbeat never moves): after the grace period
    the trial is FAIL "lost", its architecture enqueued again and evaluated once."""
    heart = Heartbeat(store, new_worker_id(), beat_s=0.05)
    died = []

    def local():
        if not died:
            claimed = store.claim("dead-worker")
            if claimed is not None:
                store.heartbeat(claimed.trial_id, 1)
                died.append(claimed)
            return False
        return work_once(store, heart, ToyTable().evaluate, tuple)

    coordinator = Coordinator(strategy("random"), store, 5, LABELS, local=local, own_worker=heart.worker,
                              grace_s=0.3, progress=False)
    with heart:
        result = coordinator.run()
    sequential = run_strategy(strategy("random"), ToyTable(), 5, progress=False)
    assert sorted(map(tuple, (r["arch"] for r in result.records))) == sorted(
        map(tuple, (r["arch"] for r in sequential.records)))
    lost = store.storage.get_trial(died[0].trial_id)
    assert lost.state == store.State.FAIL and lost.user_attrs["lost"] and "heartbeat" in lost.user_attrs["error"]
    retries = [t for t in store.trials(store.State.COMPLETE) if t.user_attrs["ask"] == lost.user_attrs["ask"]]
    assert len(retries) == 1 and retries[0].user_attrs["attempt"] == 1
    assert len(result.records) == 5 and len(store.trials(store.State.COMPLETE)) == 5


def test_a_failing_trial_is_recorded_and_the_search_finishes(store):
    table = ToyTable()
    bad = tuple(strategy("random").space.sample_random(__import__("random").Random(7)))  # the first ask

    def evaluate(arch):
        if tuple(arch) == bad:
            raise RuntimeError("CUDA out of memory (simulated)\nsecond line")
        return table.evaluate(arch)

    result = search(store, "random", 6, evaluate)
    failed = store.trials(store.State.FAIL)
    assert len(failed) == 1 and failed[0].user_attrs["error"] == "RuntimeError: CUDA out of memory (simulated)"
    assert len(result.records) == 5 and tuple(failed[0].user_attrs["arch"]) == bad
    assert bad not in {tuple(r["arch"]) for r in result.records}


@pytest.mark.parametrize("url,needle", [("ftp://host/x", "unknown scheme 'ftp'"),
                                        ("sqlite:///no/such/folder/t.db", "existing folder"),
                                        ("no/such/folder/t.journal", "does not exist")])
def test_a_bad_storage_url_is_one_line_and_creates_nothing(tmp_path, monkeypatch, url, needle):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=needle) as e:
        check_storage_url(url)
    assert "\n" not in str(e.value) and list(tmp_path.iterdir()) == []


def test_joining_a_study_that_is_not_there_is_one_line(tmp_path, capsys):
    from darts.runs import run_cli
    from darts.trials import join
    url = str(tmp_path / JOURNAL)
    assert run_cli(join.main, ["--storage", url, "--study", "nothing"]) == 2
    assert "holds no study 'nothing'" in capsys.readouterr().err
    search(TrialStore.open(url, "toy"), "random", 2)  # a study the library ran with its own evaluator
    assert run_cli(join.main, ["--storage", url, "--study", "toy"]) == 2
    assert "holds no search settings" in capsys.readouterr().err


def test_a_bad_storage_url_refuses_the_search_before_its_folder(tmp_path, shared_file):
    table = shared_file("nb201/nats_bench_tss_200ep.csv")
    with pytest.raises(UserError, match="unknown scheme"):
        api.search(space="nb201", strategy="random", benchmark=str(table), budget=2, storage="redis://x",
                   save=tmp_path / "run", log_to_console=False, progress=False)
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def nb201(tmp_path_factory, shared_file):
    """The settings of a small random search of the NAS-Bench-201 table, and its sequential run's history."""
    table = shared_file("nb201/nats_bench_tss_200ep.csv")
    common = dict(space="nb201", strategy="random", benchmark=str(table), budget=6, seed=3, log_to_console=False,
                  progress=False)
    folder = tmp_path_factory.mktemp("one") / "run"
    return common, api.search(save=folder, **common).history, folder


def pairs(history):
    return sorted((json.dumps(r["arch"]), r["reward"]) for r in history)


@pytest.mark.slow  # three processes' start-up (imports, table): 10 s of CPU
def test_two_worker_processes_on_one_journal_equal_one_worker(tmp_path, nb201):
    """--workers 2: two processes (python -m darts.trials.join, rebuilt from the study's settings) evaluate the
    asks of random search: the same architectures and rewards as the sequential search, each evaluated once."""
    common, sequential, _ = nb201
    two = api.search(save=tmp_path / "two", workers=2, **common)
    assert pairs(two.history) == pairs(sequential) and len(two.history) == 6
    store = TrialStore.open(str(tmp_path / "two" / JOURNAL), "two")
    trials = store.trials()
    assert len(trials) == 6 and all(t.state == store.State.COMPLETE for t in trials)
    assert sorted(t.user_attrs["ask"] for t in trials) == list(range(6))
    history = [json.loads(line) for line in (tmp_path / "two" / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in history] == list(range(6))
    again = api.search(save=tmp_path / "two", resume=True, workers=1, **common)  # the store, not a new search
    assert again.history == two.history


def test_a_one_process_search_is_not_resumed_into_a_store(tmp_path, nb201):
    common, _, folder = nb201
    before = (folder / "history.jsonl").read_text()
    with pytest.raises(UserError, match="ran in one process without a trial store"):
        api.search(save=folder, resume=True, workers=2, **common)
    assert (folder / "history.jsonl").read_text() == before and not (folder / JOURNAL).exists()


@pytest.mark.slow  # a Dask cluster and a worker process: 8 s of CPU
def test_a_dask_cluster_runs_the_workers(tmp_path, nb201):
    """--executor dask: the workers are tasks of a Dask scheduler (a local cluster here), each running the worker
    process on its machine; the search equals the sequential one."""
    distributed = pytest.importorskip("distributed")
    common, sequential, _ = nb201
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        result = api.search(save=tmp_path / "dask", executor="dask", scheduler=c.scheduler_address, **common)
    assert [r["arch"] for r in result.history] == [r["arch"] for r in sequential]
    store = TrialStore.open(str(tmp_path / "dask" / JOURNAL), "dask")
    assert len(store.trials(store.State.COMPLETE)) == 6


def test_dask_without_a_scheduler_is_one_line(tmp_path):
    from darts.trials.dask_workers import check_dask
    pytest.importorskip("distributed")
    with pytest.raises(UserError, match="needs --scheduler"):
        check_dask(None)
