"""--threads: auto picks 1 thread for tiny supernets and the physical cores otherwise; numbers as given."""
import pytest
import torch

from darts import threads
from darts.errors import UserError
from darts.threads import SMALL_WORK, apply_threads, choose_threads, physical_cores

# Two packages of two cores with two hyper-threads each: 8 logical CPUs, 4 physical cores.
CPUINFO = "".join(f"processor\t: {i}\nphysical id\t: {i // 4}\ncore id\t\t: {i % 4 // 2}\n\n" for i in range(8))


def test_auto_is_one_thread_for_small_work_and_the_idle_physical_cores_otherwise(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "physical_cores", lambda: 6)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.2, 0.0, 0.0), raising=False)
    assert choose_threads("auto", SMALL_WORK / 4) == 1
    assert choose_threads("auto", SMALL_WORK * 4) == 6
    assert choose_threads("AUTO", SMALL_WORK) == 6
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (2.6, 0.0, 0.0), raising=False)
    assert choose_threads("auto", SMALL_WORK * 4) == 3  # three cores are busy with other processes
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (9.0, 0.0, 0.0), raising=False)
    assert choose_threads("auto", SMALL_WORK * 4) == 1


def test_auto_follows_omp_num_threads_when_it_is_set(monkeypatch):
    monkeypatch.setattr(threads, "physical_cores", lambda: 6)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0), raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert choose_threads("auto", SMALL_WORK * 4) == 3 and choose_threads("auto", 1.0) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "")
    assert choose_threads("auto", SMALL_WORK * 4) == 6


@pytest.mark.parametrize("requested, expected", [(1, 1), (3, 3), ("2", 2), (" 4 ", 4), (None, None)])
def test_a_number_is_used_as_given(requested, expected):
    assert choose_threads(requested, SMALL_WORK * 100) == expected
    assert choose_threads(requested, 0) == expected


@pytest.mark.parametrize("requested", [0, -1, "0", "two", "1.5", 2.0, True, ""])
def test_bad_values_are_refused_in_one_line(requested):
    with pytest.raises(UserError, match=r"give auto or a whole number of threads >= 1"):
        choose_threads(requested, 1.0)


def test_physical_cores_counts_cores_not_hyperthreads(monkeypatch):
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    assert physical_cores(CPUINFO) == 4
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert physical_cores(CPUINFO) == 2        # capped by the CPUs this process may use
    assert physical_cores("") == 2             # no core ids (not Linux): the allowed CPUs
    assert physical_cores() >= 1


def test_apply_threads_sets_torch_and_none_leaves_it():
    before = torch.get_num_threads()
    try:
        apply_threads(1)
        assert torch.get_num_threads() == 1
        apply_threads(None)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
