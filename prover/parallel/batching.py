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

    ``propose`` blocks the calling thread until its results are ready and raises whatever the wrapped
    policy raised for the batch its states were in (every caller of that batch gets the same exception),
    ``BatchResultError`` when the wrapped policy returned the wrong number of result lists, and
    ``PolicyClosedError`` after ``close()``. ``max_wait_ms`` is in milliseconds; 0 sends whatever is
    pending at once. ``close()`` stops the dispatcher thread; it does not close ``policy``.
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
        """The dispatcher thread: build a batch, run it, repeat until closed."""
        while (batch := self._next_batch()) is not None:
            self._run_batch(batch)

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
        """One call of the wrapped policy; results or the error go to every request in the batch."""
        states = [state for piece in batch for state in piece.states]
        n = batch[0].request.n
        started = time.monotonic()
        try:
            results = self.policy.propose(states, n)
            if len(results) != len(states):
                raise BatchResultError(len(states), len(results))
        except Exception as error:
            logger.warning("policy batch of %d states (n=%d) failed: %r", len(states), n, error)
            self._fail_batch(batch, error, len(states))
            return
        logger.debug(
            "policy batch: %d states, n=%d, %.1f ms", len(states), n, 1e3 * (time.monotonic() - started)
        )
        with self._cond:
            self._bump(batches=1, states=len(states), largest=len(states))
        start = 0
        for piece in batch:
            self._deliver(piece, results[start : start + len(piece.states)])
            start += len(piece.states)

    def _deliver(self, piece: _Piece, results: list[list[Candidate]]) -> None:
        request = piece.request
        request.results[piece.offset : piece.offset + len(results)] = results
        request.remaining -= len(results)
        if request.remaining == 0 and not request.future.done():
            request.future.set_result(request.results)

    def _fail_batch(self, batch: list[_Piece], error: Exception, size: int) -> None:
        """Fail the batch's requests and drop their still-pending pieces (a split request fails whole)."""
        failed = {id(piece.request): piece.request for piece in batch}
        with self._cond:
            self._bump(batches=1, states=size, largest=size, failed=1)
            for piece in [p for p in self._pending if id(p.request) in failed]:
                self._pending.remove(piece)
                self._pending_by_n[piece.request.n] -= len(piece.states)
        for request in failed.values():
            request.fail(error)

    def _bump(
        self, *, requests: int = 0, batches: int = 0, states: int = 0, largest: int = 0, failed: int = 0
    ) -> None:
        """Add to the counters (lock held)."""
        s = self._stats
        self._stats = BatchingStats(
            requests=s.requests + requests,
            batches=s.batches + batches,
            states=s.states + states,
            failed_batches=s.failed_batches + failed,
            largest_batch=max(s.largest_batch, largest),
        )
