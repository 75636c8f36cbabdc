"""Dynamic batching of ``propose`` calls: many concurrent callers, one model call per batch.

A model is far faster on one batch of 64 states than on 64 batches of one. Search workers each ask for a
few states at a time; ``BatchingPolicy`` merges the requests of concurrent callers (threads: the threaded
policy-server actor, or threads of one process) into one call of the policy it wraps, and hands each caller
exactly its own results. It works without Ray; ``prover.parallel.policy_server`` wraps it in an actor.

Batching rule: one dispatcher thread owns the wrapped policy (so it is never called concurrently). It takes
the oldest pending request and waits until ``max_batch_states`` states with the same ``n`` are pending or
``max_wait_ms`` have passed since that request arrived, whichever comes first, then sends them (oldest
first) as one call. Requests arriving while a call runs are pending and form the next batch, so a busy
server batches without any added wait. A request with more states than ``max_batch_states`` is split over
several batches and reassembled; the wrapped policy never sees more than ``max_batch_states`` states.

Failures: when the wrapped policy raises ``Exception`` for a batch of several requests (one pathological
state, say), each request of the batch is retried alone, so only the requests that fail on their own fail,
each with the exception raised for its own states; the others get their results. One warning is logged per
failed batch. Anything else that ends the dispatcher thread (a ``BaseException`` such as
``KeyboardInterrupt`` or ``SystemExit`` raised by the policy, or a bug of the dispatcher) fails every
pending request with ``DispatcherStoppedError`` and closes the batcher, so that no caller waits forever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from search.errors import ProverError
from search.policy_identity import fingerprint_of
from search.protocols import Policy
from search.types import Candidate

logger = logging.getLogger(__name__)


class PolicyClosedError(ProverError, RuntimeError):
    """``propose`` was called on a closed ``BatchingPolicy``, or it was closed while the request waited."""


class DispatcherStoppedError(PolicyClosedError):
    """The dispatcher thread of a ``BatchingPolicy`` died (``reason`` names what killed it, e.g. a
    ``KeyboardInterrupt`` raised by the wrapped policy): the batcher is closed, every pending and later
    request fails with this error."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the batching policy stopped: its dispatcher thread died of {reason}, so it serves "
                         f"no more requests (start a new one, e.g. restart the policy server)")
        self.reason = reason


class BatchResultError(ProverError, RuntimeError):
    """The wrapped policy answered a batch of ``expected`` states with ``got`` result lists."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"the wrapped policy returned {got} result lists for a batch of {expected} states")
        self.expected = expected
        self.got = got


@dataclass(frozen=True)
class BatchingStats:
    """Counters since construction; ``states`` counts states sent to the wrapped policy, failed or not."""

    requests: int = 0
    batches: int = 0
    states: int = 0
    failed_batches: int = 0
    largest_batch: int = 0
    retried_requests: int = 0  # requests sent again alone after the batch they were in failed

    @property
    def mean_batch_states(self) -> float:
        """States per call of the wrapped policy (0.0 before the first batch)."""
        return self.states / self.batches if self.batches else 0.0


@dataclass(eq=False)
class _Request:
    """One ``propose`` call: its results fill in piece by piece; the future completes when all arrived."""

    n: int
    arrived: float
    results: list[list[Candidate]]
    remaining: int
    future: Future[list[list[Candidate]]] = field(default_factory=Future)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


@dataclass(eq=False)
class _Piece:
    """States ``offset .. offset + len(states)`` of ``request`` (a whole request unless it was split)."""

    request: _Request
    offset: int
    states: list[str]


class BatchingPolicy:
    """A ``Policy`` that merges concurrent ``propose`` calls into batched calls of ``policy``.

    ``propose`` blocks the calling thread until its results are ready. When a batch fails, each of its
    requests is retried alone, so ``propose`` raises only what the wrapped policy raised for the caller's
    own states (or ``BatchResultError`` when it returned the wrong number of result lists), whatever other
    callers' states did to the batch. It raises ``PolicyClosedError`` after ``close()``, and its subclass
    ``DispatcherStoppedError`` once the dispatcher thread died. ``max_wait_ms`` is in milliseconds; 0 sends
    whatever is pending at once. ``close()`` stops the dispatcher thread; it does not close ``policy``.
    """

    def __init__(self, policy: Policy, *, max_batch_states: int = 64, max_wait_ms: float = 5.0) -> None:
        if max_batch_states < 1:
            raise ValueError(f"max_batch_states must be >= 1, got {max_batch_states}")
        if not max_wait_ms >= 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {max_wait_ms}")
        self.policy = policy
        self.max_batch_states = max_batch_states
        self.max_wait_s = max_wait_ms / 1000.0
        self._cond = threading.Condition()
        self._pending: deque[_Piece] = deque()
        self._pending_by_n: Counter[int] = Counter()
        self._closed = False
        self._stopped: str | None = None  # what killed the dispatcher thread, once it died
        self._running: list[_Piece] = []  # the batch being computed (the dispatcher's own)
        self._stats = BatchingStats()
        self._thread = threading.Thread(target=self._dispatch_loop, name="batching-policy", daemon=True)
        self._thread.start()

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        """The wrapped policy's answer for ``states``, computed in a batch with other callers' states."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        states = list(states)
        if not states:
            return []
        if n == 0:
            return [[] for _ in states]
        request = _Request(n=n, arrived=time.monotonic(), results=[[] for _ in states], remaining=len(states))
        with self._cond:
            if self._stopped is not None:
                raise DispatcherStoppedError(self._stopped)
            if self._closed:
                raise PolicyClosedError("propose on a closed BatchingPolicy")
            self._pending.append(_Piece(request, 0, states))
            self._pending_by_n[n] += len(states)
            self._bump(requests=1)
            self._cond.notify_all()
        return request.future.result()

    @property
    def fingerprint(self) -> str | None:
        """The wrapped policy's (batching changes no proposal), for a proof cache's failures."""
        return fingerprint_of(self.policy)

    def stats(self) -> BatchingStats:
        """A snapshot of the counters."""
        with self._cond:
            return self._stats

    def pending_states(self) -> int:
        """States waiting for a batch (not counting the batch being computed)."""
        with self._cond:
            return sum(self._pending_by_n.values())

    def close(self, *, timeout: float | None = None) -> None:
        """Fail every pending request with ``PolicyClosedError`` and stop the dispatcher; idempotent.

        Waits up to ``timeout`` seconds (``None``: forever) for a batch already running to finish.
        """
        with self._cond:
            if not self._closed:
                self._closed = True
                error = PolicyClosedError("the BatchingPolicy was closed before this request was served")
                for piece in self._pending:
                    piece.request.fail(error)
                self._pending.clear()
                self._pending_by_n.clear()
                self._cond.notify_all()
                logger.info("batching policy closed: %s", self._stats)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self) -> BatchingPolicy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _dispatch_loop(self) -> None:
        """The dispatcher thread: build a batch, run it, repeat until closed. Whatever ends it otherwise
        fails every waiting request and closes the batcher (``_stop``)."""
        try:
            while (batch := self._next_batch()) is not None:
                self._running = batch
                self._run_batch(batch)
                self._running = []
        except BaseException as error:  # a KeyboardInterrupt or SystemExit from the policy, or a bug here
            self._stop(error)

    def _stop(self, error: BaseException) -> None:
        """The dispatcher dies of ``error``: close the batcher and fail the running batch's and every
        pending request with ``DispatcherStoppedError`` (its cause: ``error``), then end the thread (the
        error is logged with its traceback here; re-raised, it would only reach ``threading.excepthook``)."""
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        stopped = DispatcherStoppedError(reason)
        stopped.__cause__ = error
        with self._cond:
            self._closed = True
            self._stopped = reason
            requests = {id(p.request): p.request for p in [*self._running, *self._pending]}
            self._pending.clear()
            self._pending_by_n.clear()
            self._running = []
            self._cond.notify_all()
        waiting = [request for request in requests.values() if not request.future.done()]
        for request in waiting:
            request.fail(stopped)
        logger.error("batching policy dispatcher died of %s; failed %d waiting requests; the batcher is "
                     "closed", reason, len(waiting), exc_info=error)

    def _next_batch(self) -> list[_Piece] | None:
        """Block until a batch is due (full, or its oldest request waited ``max_wait_s``); None if closed."""
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            head = self._pending[0].request
            deadline = head.arrived + self.max_wait_s
            while not self._closed and self._pending_by_n[head.n] < self.max_batch_states:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self._closed:
                return None
            return self._take(head.n)

    def _take(self, n: int) -> list[_Piece]:
        """Remove up to ``max_batch_states`` pending states asking for ``n``, oldest first (lock held)."""
        batch: list[_Piece] = []
        kept: deque[_Piece] = deque()
        room = self.max_batch_states
        for piece in self._pending:
            if piece.request.n != n or room == 0:
                kept.append(piece)
            elif len(piece.states) <= room:
                batch.append(piece)
                room -= len(piece.states)
            else:
                batch.append(_Piece(piece.request, piece.offset, piece.states[:room]))
                kept.append(_Piece(piece.request, piece.offset + room, piece.states[room:]))
                room = 0
        self._pending = kept
        self._pending_by_n[n] -= self.max_batch_states - room
        return batch

    def _run_batch(self, batch: list[_Piece]) -> None:
        """One call of the wrapped policy for the batch; when it fails, each request is retried alone."""
        states = [state for piece in batch for state in piece.states]
        n = batch[0].request.n
        started = time.monotonic()
        try:
            results = self._call(states, n)
        except Exception as error:
            self._recover(batch, n, error, len(states))
            return
        logger.debug(
            "policy batch: %d states, n=%d, %.1f ms", len(states), n, 1e3 * (time.monotonic() - started)
        )
        start = 0
        for piece in batch:
            self._deliver(piece, results[start : start + len(piece.states)])
            start += len(piece.states)

    def _call(self, states: list[str], n: int) -> list[list[Candidate]]:
        """The wrapped policy's answer for ``states``, counted in the stats; raises what it raised, or
        ``BatchResultError``."""
        failed = 1
        try:
            results = self.policy.propose(states, n)
            if len(results) != len(states):
                raise BatchResultError(len(states), len(results))
            failed = 0
            return results
        finally:
            with self._cond:
                self._bump(batches=1, states=len(states), largest=len(states), failed=failed)

    def _recover(self, batch: list[_Piece], n: int, error: Exception, size: int) -> None:
        """After the batch failed with ``error``: retry each of its requests alone (one call for its
        piece), so that one bad request does not fail the others; each request that fails alone fails
        with its own error. A batch of one request fails with ``error`` at once."""
        requests: dict[int, list[_Piece]] = {}
        for piece in batch:
            requests.setdefault(id(piece.request), []).append(piece)
        if len(requests) == 1:
            logger.warning("policy batch of %d states (n=%d) failed: %r", size, n, error)
            self._fail_requests([batch[0].request], error)
            return
        with self._cond:
            self._bump(retried=len(requests))
        failed = 0
        for pieces in requests.values():
            request = pieces[0].request
            for piece in pieces:
                if request.future.done():  # failed meanwhile (closed)
                    break
                try:
                    results = self._call(piece.states, n)
                except Exception as alone:
                    self._fail_requests([request], alone)
                    failed += 1
                    break
                self._deliver(piece, results)
        logger.warning("policy batch of %d states (n=%d) failed: %r; retried its %d requests one by one: "
                       "%d failed", size, n, error, len(requests), failed)

    def _deliver(self, piece: _Piece, results: list[list[Candidate]]) -> None:
        request = piece.request
        request.results[piece.offset : piece.offset + len(results)] = results
        request.remaining -= len(results)
        if request.remaining == 0 and not request.future.done():
            request.future.set_result(request.results)

    def _fail_requests(self, requests: list[_Request], error: Exception) -> None:
        """Fail ``requests`` and drop their still-pending pieces (a split request fails whole)."""
        failed = {id(request): request for request in requests}
        with self._cond:
            for piece in [p for p in self._pending if id(p.request) in failed]:
                self._pending.remove(piece)
                self._pending_by_n[piece.request.n] -= len(piece.states)
        for request in failed.values():
            request.fail(error)

    def _bump(
        self, *, requests: int = 0, batches: int = 0, states: int = 0, largest: int = 0, failed: int = 0,
        retried: int = 0,
    ) -> None:
        """Add to the counters (lock held)."""
        s = self._stats
        self._stats = BatchingStats(
            requests=s.requests + requests,
            batches=s.batches + batches,
            states=s.states + states,
            failed_batches=s.failed_batches + failed,
            largest_batch=max(s.largest_batch, largest),
            retried_requests=s.retried_requests + retried,
        )
