"""BatchingPolicy without Ray: merging, per-caller results, the batch-size bound, n groups, errors (a failed
batch retried request by request; a dying dispatcher failing every waiting request), close."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from prover.parallel.batching import (
    BatchingPolicy,
    BatchResultError,
    DispatcherStoppedError,
    PolicyClosedError,
)
from search.protocols import Policy


def caller_states(caller: int, count: int) -> list[str]:
    return [f"c{caller}s{i}" for i in range(count)]


def run_concurrently(fn: Callable[[int], object], callers: int) -> list[object]:
    """``fn(i)`` for each caller in its own thread, all released at once; results (or exceptions) in order."""
    barrier = threading.Barrier(callers)

    def call(i: int) -> object:
        barrier.wait()
        try:
            return fn(i)
        except Exception as error:
            return error

    with ThreadPoolExecutor(callers) as pool:
        return list(pool.map(call, range(callers)))


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.002)


def start_callers(batching: BatchingPolicy, requests: Sequence[tuple[list[str], int]]):
    """Submit each ``(states, n)`` from its own thread; returns the pool's futures (pool left running)."""
    pool = ThreadPoolExecutor(len(requests))
    return pool, [pool.submit(batching.propose, states, n) for states, n in requests]


def test_is_a_policy(fakes) -> None:
    with BatchingPolicy(fakes.EchoPolicy()) as batching:
        assert isinstance(batching, Policy)


def test_concurrent_callers_are_merged_into_one_call(fakes) -> None:
    policy = fakes.RecordingPolicy()
    # The batch is sent when full (16 states): no timing involved.
    with BatchingPolicy(policy, max_batch_states=16, max_wait_ms=10_000) as batching:
        results = run_concurrently(lambda i: batching.propose(caller_states(i, 2), 3), callers=8)
    assert len(policy.calls) == 1
    states, n = policy.calls[0]
    assert n == 3
    assert sorted(states) == sorted(s for i in range(8) for s in caller_states(i, 2))
    for i, result in enumerate(results):
        assert result == [fakes.expected(s, 3) for s in caller_states(i, 2)]
    stats = batching.stats()
    assert (stats.requests, stats.batches, stats.states, stats.largest_batch) == (8, 1, 16, 16)
    assert stats.mean_batch_states == 16.0


def test_requests_arriving_during_a_call_form_the_next_batch(fakes) -> None:
    gate = threading.Event()
    policy = fakes.RecordingPolicy(gate=gate)
    with BatchingPolicy(policy, max_batch_states=100, max_wait_ms=0) as batching:
        pool, first = start_callers(batching, [(["first"], 2)])
        assert policy.entered.wait(5)
        _, later = start_callers(batching, [(caller_states(i, 3), 2) for i in range(5)])
        wait_until(lambda: batching.pending_states() == 15)
        gate.set()
        assert first[0].result(5) == [fakes.expected("first", 2)]
        for i, future in enumerate(later):
            assert future.result(5) == [fakes.expected(s, 2) for s in caller_states(i, 3)]
        pool.shutdown()
    assert [len(states) for states, _ in policy.calls] == [1, 15]


def test_a_lone_request_waits_at_most_max_wait(fakes) -> None:
    policy = fakes.RecordingPolicy()
    with BatchingPolicy(policy, max_batch_states=64, max_wait_ms=30) as batching:
        started = time.monotonic()
        assert batching.propose(["only"], 1) == [fakes.expected("only", 1)]
        elapsed = time.monotonic() - started
    assert 0.025 <= elapsed < 2.0


def test_max_batch_states_bounds_every_call_and_split_requests_are_reassembled(fakes) -> None:
    policy = fakes.RecordingPolicy()
    with BatchingPolicy(policy, max_batch_states=8, max_wait_ms=20) as batching:
        results = run_concurrently(lambda i: batching.propose(caller_states(i, 3 + i), 2), callers=6)
        big = batching.propose(caller_states(99, 21), 2)
    assert all(len(states) <= 8 for states, _ in policy.calls)
    assert sum(len(states) for states, _ in policy.calls) == sum(3 + i for i in range(6)) + 21
    for i, result in enumerate(results):
        assert result == [fakes.expected(s, 2) for s in caller_states(i, 3 + i)]
    assert big == [fakes.expected(s, 2) for s in caller_states(99, 21)]


def test_batches_never_mix_n(fakes) -> None:
    policy = fakes.RecordingPolicy()
    with BatchingPolicy(policy, max_batch_states=64, max_wait_ms=50) as batching:
        results = run_concurrently(lambda i: batching.propose(caller_states(i, 2), 1 + i % 2), callers=6)
    for i, result in enumerate(results):
        assert result == [fakes.expected(s, 1 + i % 2) for s in caller_states(i, 2)]
    for states, n in policy.calls:
        assert all(int(s[1]) % 2 == n - 1 for s in states)
    assert {n for _, n in policy.calls} == {1, 2}


def test_a_failed_batch_is_retried_request_by_request_so_only_the_bad_one_fails(fakes, caplog) -> None:
    policy = fakes.RecordingPolicy(fail_on="c2s0")
    with BatchingPolicy(policy, max_batch_states=8, max_wait_ms=10_000) as batching:
        with caplog.at_level(logging.WARNING, logger="prover.parallel.batching"):
            results = run_concurrently(lambda i: batching.propose(caller_states(i, 2), 2), callers=4)
        assert isinstance(results[2], ValueError) and "c2s0" in str(results[2])  # the bad one's own error
        for i in (0, 1, 3):
            assert results[i] == [fakes.expected(s, 2) for s in caller_states(i, 2)]
        assert batching.propose(["fine"] * 8, 1) == [fakes.expected("fine", 1)] * 8
        stats = batching.stats()
    assert [len(states) for states, _ in policy.calls] == [8, 2, 2, 2, 2, 8]  # the batch, each alone, next
    assert (stats.batches, stats.failed_batches, stats.retried_requests, stats.states) == (6, 2, 4, 24)
    warnings = [r for r in caplog.records if r.name == "prover.parallel.batching"]
    assert len(warnings) == 1 and "retried its 4 requests one by one: 1 failed" in warnings[0].getMessage()


def test_a_retried_piece_of_a_split_request_is_served_and_its_rest_follows(fakes) -> None:
    gate = threading.Event()
    policy = fakes.RecordingPolicy(gate=gate, fail_on="poison")
    with BatchingPolicy(policy, max_batch_states=4, max_wait_ms=0) as batching:
        pool, blocker = start_callers(batching, [(["x"], 1)])
        assert policy.entered.wait(5)  # the dispatcher is busy: the next requests queue up
        _, bad = start_callers(batching, [(["a0", "poison", "a2"], 1)])
        wait_until(lambda: batching.pending_states() == 3)
        _, good = start_callers(batching, [(["b0", "b1", "b2"], 1)])
        wait_until(lambda: batching.pending_states() == 6)
        gate.set()
        assert blocker[0].result(5) == [fakes.expected("x", 1)]
        with pytest.raises(ValueError, match="poison"):
            bad[0].result(5)
        assert good[0].result(5) == [fakes.expected(s, 1) for s in ("b0", "b1", "b2")]
        pool.shutdown()
    assert [states for states, _ in policy.calls] == [
        ("x",), ("a0", "poison", "a2", "b0"), ("a0", "poison", "a2"), ("b0",), ("b1", "b2")]


def test_one_bad_state_fails_only_its_request_under_load(fakes) -> None:
    """16 threads, each with a stream of requests of 1-3 states, batches of 7 (requests split across them):
    the one request holding the bad state fails, every other gets exactly its own results."""
    policy = fakes.EchoPolicy(fail_on="bad")

    def caller(i: int) -> list[object]:
        outcomes: list[object] = []
        for j in range(40):
            states = ["bad"] if (i, j) == (5, 17) else [f"c{i}r{j}s{k}" for k in range(1 + (i + j) % 3)]
            try:
                outcomes.append(batching.propose(states, 2) == [fakes.expected(s, 2) for s in states])
            except ValueError as error:
                outcomes.append(error)
        return outcomes

    with BatchingPolicy(policy, max_batch_states=7, max_wait_ms=1) as batching:
        results = run_concurrently(caller, callers=16)
    flat = [outcome for outcomes in results for outcome in outcomes]  # type: ignore[attr-defined]
    failures = [outcome for outcome in flat if outcome is not True]
    assert len(flat) == 16 * 40
    assert len(failures) == 1 and isinstance(failures[0], ValueError) and "bad" in str(failures[0])
    assert results[5][17] is failures[0]  # type: ignore[index]


def test_a_failed_piece_fails_the_whole_split_request(fakes) -> None:
    policy = fakes.RecordingPolicy(fail_on="c0s1")
    with BatchingPolicy(policy, max_batch_states=1, max_wait_ms=0) as batching:
        with pytest.raises(ValueError):
            batching.propose(caller_states(0, 4), 1)
        assert batching.pending_states() == 0
    assert len(policy.calls) == 2  # c0s0 served, c0s1 failed, the rest dropped


class Abort(BaseException):
    """Not an ``Exception``: what ``except Exception`` lets through."""


@pytest.mark.parametrize("error", [KeyboardInterrupt(), SystemExit(3), Abort("stop")],
                         ids=["KeyboardInterrupt", "SystemExit", "BaseException"])
def test_a_base_exception_in_the_policy_fails_every_waiting_request_and_closes(fakes, caplog, error) -> None:
    gate = threading.Event()
    policy = fakes.InterruptingPolicy(error, "interrupt", gate=gate)
    batching = BatchingPolicy(policy, max_batch_states=100, max_wait_ms=0)
    with caplog.at_level(logging.ERROR, logger="prover.parallel.batching"):
        pool, running = start_callers(batching, [(["interrupt"], 1)])
        assert policy.entered.wait(5)
        _, waiting = start_callers(batching, [(["queued"], 1)])
        wait_until(lambda: batching.pending_states() == 1)
        gate.set()
        for future in (*running, *waiting):  # before the fix: never answered (TimeoutError here)
            with pytest.raises(DispatcherStoppedError, match=type(error).__name__) as info:
                future.result(10)
            assert info.value.__cause__ is error
            assert isinstance(info.value, PolicyClosedError)
        started = time.monotonic()
        with pytest.raises(DispatcherStoppedError, match="dispatcher thread died"):
            batching.propose(["late"], 1)  # at once: never queued behind a dead dispatcher
        assert time.monotonic() - started < 2.0
        batching.close(timeout=5)
    assert not batching._thread.is_alive()
    assert batching.pending_states() == 0
    assert [r.levelno for r in caplog.records if r.name == "prover.parallel.batching"] == [logging.ERROR]
    pool.shutdown()


def test_an_error_of_the_dispatcher_itself_fails_the_waiting_request(fakes, monkeypatch) -> None:
    batching = BatchingPolicy(fakes.EchoPolicy(), max_batch_states=4, max_wait_ms=0)

    def broken(n: int) -> list[object]:
        raise RuntimeError("a bug in the dispatcher")

    monkeypatch.setattr(batching, "_take", broken)
    pool, futures = start_callers(batching, [(["s"], 1)])
    with pytest.raises(DispatcherStoppedError, match="RuntimeError: a bug in the dispatcher"):
        futures[0].result(10)
    with pytest.raises(DispatcherStoppedError):
        batching.propose(["later"], 1)
    batching.close(timeout=5)
    pool.shutdown()


def test_dispatcher_stopped_error_pickles() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(DispatcherStoppedError("KeyboardInterrupt")))
    assert error.reason == "KeyboardInterrupt" and "KeyboardInterrupt" in str(error)


def test_wrong_number_of_results_is_an_error(fakes) -> None:
    policy = fakes.RecordingPolicy(wrong_length=True)
    with BatchingPolicy(policy, max_wait_ms=0) as batching, pytest.raises(BatchResultError) as info:
        batching.propose(["a", "b"], 1)
    assert (info.value.expected, info.value.got) == (2, 1)


def test_close_fails_waiting_callers_and_later_calls(fakes) -> None:
    gate = threading.Event()
    policy = fakes.RecordingPolicy(gate=gate)
    batching = BatchingPolicy(policy, max_batch_states=100, max_wait_ms=0)
    pool, futures = start_callers(batching, [(["running"], 1)])
    assert policy.entered.wait(5)
    _, waiting = start_callers(batching, [(["queued"], 1)])
    wait_until(lambda: batching.pending_states() == 1)
    closer = threading.Thread(target=batching.close)
    closer.start()
    with pytest.raises(PolicyClosedError):
        waiting[0].result(5)
    gate.set()
    closer.join(5)
    assert futures[0].result(5) == [fakes.expected("running", 1)]
    with pytest.raises(PolicyClosedError):
        batching.propose(["late"], 1)
    pool.shutdown()


def test_trivial_requests_skip_the_policy(fakes) -> None:
    policy = fakes.RecordingPolicy()
    with BatchingPolicy(policy) as batching:
        assert batching.propose([], 4) == []
        assert batching.propose(["a", "b"], 0) == [[], []]
        with pytest.raises(ValueError):
            batching.propose(["a"], -1)
    assert policy.calls == []


@pytest.mark.parametrize(
    "kwargs", [{"max_batch_states": 0}, {"max_wait_ms": -1.0}, {"max_wait_ms": float("nan")}]
)
def test_invalid_settings(fakes, kwargs) -> None:
    with pytest.raises(ValueError):
        BatchingPolicy(fakes.EchoPolicy(), **kwargs)


def test_batch_result_error_pickles_with_its_data() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(BatchResultError(3, 2)))
    assert (error.expected, error.got, str(error)) == (3, 2, str(BatchResultError(3, 2)))
