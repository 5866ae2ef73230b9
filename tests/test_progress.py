"""Progress: live on a terminal and in a notebook; in a log, every report_freq steps and every 30 seconds."""
import io
import logging

import pytest

from darts import progress
from darts.progress import Progress


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def fake_clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(progress, "clock", clock)
    return clock


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run(bar, clock, caplog, steps, seconds_per_step):
    """`steps` updates `seconds_per_step` apart, then close(); returns the log records written."""
    with caplog.at_level(logging.INFO, logger="darts"):
        for _ in range(steps):
            clock.now += seconds_per_step
            bar.update()
        bar.close()
    return caplog.records


def logged_counts(caplog):
    return [int(r.getMessage().split("] ")[1].split("/")[0]) for r in caplog.records]


def test_a_log_gets_a_line_every_report_freq_steps_and_every_30_seconds(fake_clock, caplog):
    bar = Progress(20, "epoch 0", report_freq=10, stream=io.StringIO())
    with caplog.at_level(logging.INFO, logger="darts"):
        for step in range(20):
            fake_clock.now += 12.0 if step < 5 else 1.0  # five slow steps, then fast ones
            bar.update(loss=1.0)
    # 36 s in, step 3 logs by time (30 s of silence); steps 10 and 20 by count; step 5 (24 s later) does not
    assert logged_counts(caplog) == [3, 10, 20]
    assert bar.count == 20 and "loss 1" in caplog.records[-1].getMessage()


def test_a_log_stays_quiet_between_report_freq_steps_when_steps_are_fast(fake_clock, caplog):
    run(Progress(100, "epoch 0", report_freq=50, stream=io.StringIO()), fake_clock, caplog, 100, 0.1)
    assert logged_counts(caplog) == [50, 100]


def test_a_terminal_gets_a_live_line_and_no_log_lines(fake_clock, caplog):
    stream = Terminal()
    assert not run(Progress(3, "search", stream=stream), fake_clock, caplog, 3, 1.0)
    assert stream.getvalue().count("\r") == 4 and stream.getvalue().endswith("\n")
    assert "3/3" in stream.getvalue().splitlines()[-1]


def test_a_notebook_gets_a_live_line_redrawn_at_most_five_times_a_second(fake_clock, caplog):
    stream_class = type("OutStream", (io.StringIO,), {"__module__": "ipykernel.iostream"})
    stream = stream_class()  # ipykernel's stream: isatty() is False, carriage returns redraw
    assert not run(Progress(50, "search", stream=stream), fake_clock, caplog, 50, 0.05)
    draws = stream.getvalue().split("\r")[1:]
    assert 10 <= len(draws) <= 14  # 2.5 s: every 0.2 s, the last step, close
    assert "50/50" in draws[-1] and draws[-1].endswith("\n")


def test_disabled_progress_writes_nothing_but_counts(fake_clock, caplog):
    stream = Terminal()
    bar = Progress(5, "x", enabled=False, stream=stream)
    with caplog.at_level(logging.INFO, logger="darts"):
        bar.update(5)
        bar.close()
    assert bar.count == 5 and stream.getvalue() == "" and not caplog.records
