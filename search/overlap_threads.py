"""The threads of the overlapped driver (``search.overlap``): one job queue each, batched model calls,
one session per tactic thread, and the answer and failure records they send back to the driver."""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from search.finish import Verifier
from search.protocols import Policy, Session
from search.requests import ExpandRequest, Request, TacticRequest, VerifyRequest

logger = logging.getLogger(__name__)

STOP = object()  # sentinel: the thread reading it from its job queue exits
LATE = object()  # the value of a tactic answer whose tactic never ran: the search's time was up or it stopped
Clock = Callable[[], float]
TimeLeft = Callable[[], float | None]
Stopped = Callable[[], bool]


@dataclass(frozen=True, slots=True)
class Answer:
    """A served request: ``value`` is the candidates, tactic result or verdict; ``seconds`` its wall time;
    ``seq`` the hand-out number of a tactic request (-1 for other requests)."""

    request: Request
    value: Any
    seconds: float
    seq: int = -1


@dataclass(frozen=True, slots=True)
class Failure:
    """A call raised ``error`` on thread ``thread``."""

    error: BaseException
    thread: str


def next_jobs(jobs: queue.Queue[Any], batch: bool) -> list[Any] | None:
    """Block for one job; with ``batch`` also take every job already queued. ``None`` means stop."""
    first = jobs.get()
    if first is STOP:
        return None
    taken = [first]
    while batch:
        try:
            item = jobs.get_nowait()
        except queue.Empty:
            break
        if item is STOP:  # never behind jobs in practice: shutdown empties the queue before stopping
            return None
        taken.append(item)
    return taken


def serve_forever(
    name: str, jobs: queue.Queue[Any], answers: queue.Queue[Any], serve: Callable[[list[Any]], list[Answer]],
    *, batch: bool,
) -> None:
    """A thread's body: serve jobs until the stop sentinel; an exception becomes a ``Failure`` answer
    (the thread keeps serving, the main thread decides)."""
    while (taken := next_jobs(jobs, batch)) is not None:
        try:
            for answer in serve(taken):
                answers.put(answer)
        except BaseException as error:  # carried to the main thread, which re-raises it
            logger.debug("%s: call raised %r", name, error)
            answers.put(Failure(error, name))
    logger.debug("%s: stopped", name)


class ModelServer:
    """Serves expansions in batches: one ``propose`` call per batch of queued lists of requests."""

    def __init__(self, policy: Policy, clock: Clock) -> None:
        self.policy = policy
        self.clock = clock
        self.batches: list[int] = []  # states per propose call; read by the main thread after join

    def __call__(self, jobs: list[list[ExpandRequest]]) -> list[Answer]:
        requests = [request for job in jobs for request in job]
        n = max(request.n for request in requests)  # all equal in practice; on_proposals cuts to each n
        started = self.clock()
        proposals = self.policy.propose([request.state.pp for request in requests], n)
        seconds = self.clock() - started
        if len(proposals) != len(requests):
            raise ValueError(f"policy answered {len(proposals)} lists for {len(requests)} states")
        self.batches.append(len(requests))
        logger.debug("proposed for %d states in %.3f s", len(requests), seconds)
        share = seconds / len(requests)
        return [Answer(r, c, share) for r, c in zip(requests, proposals, strict=True)]


def tactic_server(session: Session, clock: Clock, time_left: TimeLeft,
                  stopped: Stopped = lambda: False) -> Callable[[list[Any]], list[Answer]]:
    """Runs ``(seq, TacticRequest)`` jobs on one session. A tactic that waited in the queue gets no more
    than the search's time left when it starts (its request was capped when it was handed out), and one
    that would start after the search's time is up, or after the search stopped (``stopped()``: a job the
    driver had no time to cancel yet), does not run: its answer's value is ``LATE``."""

    def serve(jobs: list[tuple[int, TacticRequest]]) -> list[Answer]:
        answers = []
        for seq, request in jobs:
            if stopped():
                answers.append(Answer(request, LATE, 0.0, seq))
                continue
            timeout, left = request.timeout, time_left()
            if left is not None:
                if left <= 0:
                    answers.append(Answer(request, LATE, 0.0, seq))
                    continue
                timeout = min(timeout, left)
            started = clock()
            result = session.run_tactic(request.state, request.tactic, timeout=timeout)
            answers.append(Answer(request, result, clock() - started, seq))
        return answers

    return serve


def verify_server(verify: Verifier, clock: Clock) -> Callable[[list[Any]], list[Answer]]:
    def serve(jobs: list[VerifyRequest]) -> list[Answer]:
        answers = []
        for request in jobs:
            started = clock()
            verdict = verify(request.tactics)
            answers.append(Answer(request, verdict, clock() - started))
        return answers

    return serve


# --- the main thread -----------------------------------------------------------------------------------


def drain(jobs: queue.Queue[Any], size: Callable[[Any], int]) -> int:
    """Remove every queued job (they never start); return how many requests they held."""
    dropped = 0
    while True:
        try:
            dropped += size(jobs.get_nowait())
        except queue.Empty:
            return dropped
