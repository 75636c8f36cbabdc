"""Stopping a sweep early (Ctrl-C, SIGTERM, a fatal error): the attempts that finish while its workers close
are stored, not thrown away; a second interrupt stops it at once."""

from __future__ import annotations

import _thread
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from fault_fixtures import SleepyWorker

from prover.sweep import pool as pool_module
from prover.sweep.pool import SupervisedPool
from prover.sweep.worker import Task
from search import Theorem

SECONDS = 4.0  # each attempt's length


def tasks(count: int) -> deque[Task]:
    return deque(Task(Theorem(f"t{i}", f"Theorem t{i} : True."), "test", 1) for i in range(count))


def interrupt_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, _thread.interrupt_main)  # as Ctrl-C (SIGTERM raises the same)
    timer.start()
    return timer


@pytest.fixture
def sleepy_pool(ray_cluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[SupervisedPool]:
    monkeypatch.setattr(pool_module, "SearchWorker", SleepyWorker)
    # Ctrl-C as the tests send it reaches Python only through its own handler: a shell's background job
    # (``pytest ... &``) starts with SIGINT ignored, and ``interrupt_main`` then does nothing
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    pool = SupervisedPool(SECONDS, size=2)  # type: ignore[arg-type]  # SleepyWorker's setup: its seconds
    pool.start(2)
    try:
        yield pool
    finally:
        signal.signal(signal.SIGINT, before)


def test_an_interrupt_keeps_the_attempts_that_finish_while_the_workers_close(
        sleepy_pool: SupervisedPool) -> None:
    stored: list[dict[str, Any]] = []
    interrupt_after(1.0)
    with pytest.raises(KeyboardInterrupt):
        sleepy_pool.run(tasks(4), lambda task, record: stored.append(record))
    assert stored == []  # nothing had finished yet
    started = time.monotonic()
    sleepy_pool.shutdown(timeout=30.0)
    took = time.monotonic() - started
    # the two running attempts finished within the stop's budget: stored (they were lost before), and the
    # stop waited for them only, not for the budget, nor for the two tasks never started
    assert sorted(r["theorem"] for r in stored) == ["t0", "t1"]
    assert took < SECONDS + 3


def test_a_second_interrupt_while_the_sweep_stops_stops_it_at_once(sleepy_pool: SupervisedPool) -> None:
    stored: list[dict[str, Any]] = []
    interrupt_after(0.5)
    with pytest.raises(KeyboardInterrupt):
        sleepy_pool.run(tasks(2), lambda task, record: stored.append(record))
    timer = interrupt_after(0.5)
    started = time.monotonic()
    sleepy_pool.shutdown(timeout=30.0)  # the first interrupt is the one that stops the sweep
    took = time.monotonic() - started
    timer.join()
    assert stored == [] and took < SECONDS - 1.5  # the running attempts were dropped, not waited for


def test_a_stop_waits_no_longer_than_its_budget(sleepy_pool: SupervisedPool) -> None:
    stored: list[dict[str, Any]] = []
    interrupt_after(0.5)
    with pytest.raises(KeyboardInterrupt):
        sleepy_pool.run(tasks(2), lambda task, record: stored.append(record))
    started = time.monotonic()
    sleepy_pool.shutdown(timeout=1.0)
    assert time.monotonic() - started < 2.5 and stored == []  # killed: a resume runs them again
