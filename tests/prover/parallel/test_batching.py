"""BatchingPolicy without Ray: merging, per-caller results, the batch-size bound, n groups, errors, close."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from prover.parallel.batching import BatchingPolicy, BatchResultError, PolicyClosedError
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


def test_an_error_reaches_every_caller_of_its_batch_and_the_server_goes_on(fakes) -> None:
    policy = fakes.RecordingPolicy(fail_on="c2s0")
    with BatchingPolicy(policy, max_batch_states=8, max_wait_ms=10_000) as batching:
        results = run_concurrently(lambda i: batching.propose(caller_states(i, 2), 2), callers=4)
        assert all(isinstance(r, ValueError) for r in results)
        assert len({id(r) for r in results}) == 1  # the very exception the policy raised
        assert batching.propose(["fine"] * 8, 1) == [fakes.expected("fine", 1)] * 8
        assert batching.stats().failed_batches == 1


def test_a_failed_piece_fails_the_whole_split_request(fakes) -> None:
    policy = fakes.RecordingPolicy(fail_on="c0s1")
    with BatchingPolicy(policy, max_batch_states=1, max_wait_ms=0) as batching:
        with pytest.raises(ValueError):
            batching.propose(caller_states(0, 4), 1)
        assert batching.pending_states() == 0
    assert len(policy.calls) == 2  # c0s0 served, c0s1 failed, the rest dropped


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
