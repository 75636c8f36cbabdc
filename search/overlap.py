"""The overlapped driver: serves one best-first search with threads, so that model and proof assistant work
at the same time.

Why: BFS-Prover-V2 generates tactics for a state, then runs them one by one, so the GPU waits for Lean and
Lean waits for the GPU. Here, while proof-assistant sessions run the tactics of the states being expanded,
the model already generates for the next states, and sibling tactics run in parallel sessions.

Shape (one concurrency model: threads and ``queue.Queue``; no asyncio):
- the calling thread owns the ``BestFirstSearch`` (no other thread touches it, so it needs no locks): it
  hands requests out, collects answers from one result queue, feeds them back, until ``search.done``;
- one model thread serves ``ExpandRequest``s: every expansion pending when it becomes free goes into a single
  ``policy.propose([...], n)`` call (a batch);
- one worker thread per session runs ``TacticRequest``s, each on its own session. Any worker may run a
  tactic on a state another session produced: backends restore states by replaying their tactic path
  (``Session`` contract), and scripted test sessions are stateless;
- one verification thread runs ``VerifyRequest``s.

Order: ``config.expansion_width`` (w) states may be expanding at once, so the order is best-first up to w
(the speculation width). With w == 1 tactic results are fed back in the order the tactics were handed out
(free: the next expansion waits for all of them anyway), and a found proof is verified before any further
answer is fed, as the synchronous driver does; the search then makes exactly the calls ``run_search`` makes
(same expansion order, graph, proof and counters; only the measured seconds differ). With w > 1 results are
fed as they arrive.

Verification is a barrier at every width: while a proof is being checked, answers that arrive are held and
new requests are parked (work already handed to threads goes on). A verified proof ends the search, so
nothing is spent on speculative work for a search about to stop; a rejected proof costs one verification's
latency of overlap.

Timing, as ``run_search``: the wall time of each call. A batch's propose time is split evenly over its
states, so ``stats.model_seconds`` sums the real model time; ``stats.tactic_seconds`` sums tactic times over
all sessions (it can exceed the wall time).

Time budget: once it is spent no tactic starts; the tactics started in time are awaited (their limits were
cut to the time left, so they end about then) and their answers fed, and a proof one of them found is
checked to its verdict (``BestFirstSearch.requests``), as in ``run_search``; only then does the search
stop on the budget. A model batch in flight is not awaited.

Stopping: when the search is done, queued jobs are cancelled (never started), answers that arrive later are
dropped, and every thread is joined before return: a thread in the middle of a call finishes that one call
(a tactic within its timeout, one propose batch, one verification). No thread outlives the call. An exception
raised by the policy, a session or the verifier while the search runs is re-raised to the caller (the same
object, with its traceback) after that shutdown; one raised by work that finished after the search stopped
is only logged, since the search result no longer depends on it. Sessions are the caller's: they are used,
never closed, here.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from search.best_first import BestFirstSearch
from search.config import SearchConfig
from search.finish import Verifier, finish
from search.overlap_threads import (
    LATE,
    STOP,
    Answer,
    Clock,
    Failure,
    ModelServer,
    drain,
    serve_forever,
    tactic_server,
    verify_server,
)
from search.policy_identity import fingerprint_of
from search.progress import SearchObserver
from search.proof_cache import ProofCache
from search.protocols import Backend, Policy, Session
from search.requests import ExpandRequest, Request, TacticRequest, VerifyRequest
from search.result import SearchResult
from search.types import Theorem

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class OverlapStats:
    """What the overlapped driver did, beside the search's own ``SearchStats``.

    ``propose_calls``: policy calls made; ``states_proposed``: states in them (their ratio is the mean
    batch); ``largest_batch``: states in the largest call; ``dropped``: requests handed out whose answer was
    never fed back (cancelled before they ran, parked, or answered after the search stopped).
    """

    propose_calls: int
    states_proposed: int
    largest_batch: int
    dropped: int


class _OverlapDriver:
    """The main thread's side: owns the search, the job queues, the threads and the answer buffers.

    Invariants: ``in_flight`` counts jobs put on a job queue whose answer was not yet received; ``parked``
    and ``pending_expansions`` hold requests handed out by the search but not yet given to a thread;
    ``verifying`` > 0 exactly while a verification is out (the barrier); in ordered mode ``held`` maps a
    received tactic answer's ``seq`` to it until every earlier tactic answer was fed (or, ``LATE``, passed
    by: a tactic that never ran must not hold back the answers after it).
    """

    def __init__(self, search: BestFirstSearch, sessions: Sequence[Session], policy: Policy,
                 verify: Verifier, clock: Clock, observer: SearchObserver | None = None) -> None:
        self.search = search
        self.observer = observer
        self.ordered = search.config.expansion_width == 1
        self.answers: queue.Queue[Any] = queue.Queue()
        self.expand_jobs: queue.Queue[Any] = queue.Queue()
        self.tactic_jobs: queue.Queue[Any] = queue.Queue()
        self.verify_jobs: queue.Queue[Any] = queue.Queue()
        self.model = ModelServer(policy, clock)
        self.threads: list[tuple[threading.Thread, queue.Queue[Any]]] = []
        self._specs = [("overlap-model", self.expand_jobs, self.model, True),
                       ("overlap-verify", self.verify_jobs, verify_server(verify, clock), False)]
        self._specs += [(f"overlap-tactic-{i}", self.tactic_jobs,
                         tactic_server(s, clock, self.time_left, self.stopped), False)
                        for i, s in enumerate(sessions)]
        self.in_flight = 0
        self.tactics_due = 0  # tactic jobs handed to the threads and not answered yet
        self.verifying = 0
        self.issued = 0  # seq of the next tactic handed to a worker
        self.next_fed = 0  # ordered mode: seq of the next tactic answer to feed
        self.held: dict[int, Answer] = {}
        self.ready: deque[Answer] = deque()
        self.verdicts: deque[Answer] = deque()
        self.parked: list[Request] = []
        self.pending_expansions: list[ExpandRequest] = []
        self.dropped = 0

    def start(self) -> None:
        # daemon: should the caller be interrupted while shutdown joins them, the interpreter can still exit
        for name, jobs, serve, batch in self._specs:
            thread = threading.Thread(target=serve_forever, name=name, daemon=True,
                                      args=(name, jobs, self.answers, serve), kwargs={"batch": batch})
            thread.start()
            self.threads.append((thread, jobs))

    def run(self) -> None:
        """Serve the search until it is done; raise the first exception a thread reported."""
        self.dispatch(self.search.requests())
        while not self.search.done:
            self.flush_expansions()
            if self.in_flight == 0:
                raise RuntimeError("the search waits for answers to requests it never handed out")
            if not self.spent():
                came = self.receive(None if self.verifying else self.wait_limit())
                if not self.spent():
                    self.feed_ready()
                    if not came:
                        self.dispatch(self.search.requests())
                    continue
            # past the budget: the tactics started in time and a proof's check are awaited (queued tactics
            # come back unrun at once) and their answers fed; only then is the search asked again, so that
            # it stops on the time budget with every proof found in time checked, as run_search does
            self.receive(None if self.verifying or self.tactics_due else 0.0)
            self.feed_ready(ask=False)
            if not self.tactics_due and not self.verifying:
                self.dispatch(self.search.requests())

    def time_left(self) -> float | None:
        """Seconds of the search's time budget left (``None``: no budget); read by the tactic threads."""
        limit = self.search.config.time_limit
        return None if limit is None else limit - self.search.elapsed()

    def spent(self) -> bool:
        """Whether the search's time budget is spent."""
        left = self.time_left()
        return left is not None and left <= 0

    def stopped(self) -> bool:
        """Whether the search is done; read by the tactic threads, so that none starts a queued tactic
        between the search's stop and the cancelling of its queue."""
        return self.search.done

    def wait_limit(self) -> float | None:
        """Seconds (of the search's clock) to wait for an answer: until the time budget ends."""
        left = self.time_left()
        return None if left is None else max(left, 0.0)

    def dispatch(self, requests: Sequence[Request]) -> None:
        """Give fresh requests to the threads, in the order the search handed them out. Expansions wait in
        ``pending_expansions`` until ``flush_expansions`` so that they reach the model as one batch; while a
        verification is out, everything is parked."""
        for request in requests:
            if self.verifying:
                self.parked.append(request)
            elif isinstance(request, VerifyRequest):
                self.verifying += 1
                self.put(self.verify_jobs, request)
                self.parked[:0], self.pending_expansions = self.pending_expansions, []
            elif isinstance(request, ExpandRequest):
                self.pending_expansions.append(request)
            else:
                self.put(self.tactic_jobs, (self.issued, request))
                self.issued += 1
                self.tactics_due += 1

    def flush_expansions(self) -> None:
        if self.pending_expansions:
            self.put(self.expand_jobs, self.pending_expansions, count=len(self.pending_expansions))
            self.pending_expansions = []

    def put(self, jobs: queue.Queue[Any], job: Any, count: int = 1) -> None:
        self.in_flight += count
        jobs.put(job)

    def receive(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds for an answer, then take every answer already there. Returns
        whether one came; raises the error of a failed call."""
        try:
            item = self.answers.get(timeout=timeout)
        except queue.Empty:
            return False
        while True:
            self.sort(item)
            try:
                item = self.answers.get_nowait()
            except queue.Empty:
                return True

    def sort(self, item: Answer | Failure) -> None:
        if isinstance(item, Failure):
            logger.error("%s failed: %r; stopping the search's threads", item.thread, item.error)
            raise item.error
        self.in_flight -= 1
        if isinstance(item.request, TacticRequest):
            self.tactics_due -= 1
        if self.ordered and isinstance(item.request, TacticRequest):
            self.held[item.seq] = item  # a LATE one too: it keeps its place, and pop_ready passes it by
        elif item.value is LATE:
            self.dropped += 1
        elif isinstance(item.request, VerifyRequest):
            self.verdicts.append(item)
        else:
            self.ready.append(item)

    def feed_ready(self, *, ask: bool = True) -> None:
        """Feed every answer that may be fed now, asking the search for new requests after each one (as
        the synchronous driver does); ``ask`` false: only feed (past the budget, see ``run``)."""
        while not self.search.done:
            if self.verdicts:
                self.feed_verdicts(ask=ask)
                continue
            answer = None if self.verifying else self.pop_ready()
            if answer is None:
                return
            self.feed(answer)
            if ask and not self.spent():  # past the budget the search is asked once its answers are in
                self.dispatch(self.search.requests())

    def feed_verdicts(self, *, ask: bool = True) -> None:
        """Feed the verdicts that came (the barrier lifts with each), then hand out parked and new work."""
        while self.verdicts and not self.search.done:
            self.feed(self.verdicts.popleft())
            self.verifying -= 1
            parked, self.parked = self.parked, []
            self.dispatch([*parked, *(self.search.requests() if ask and not self.spent() else ())])

    def feed(self, answer: Answer) -> None:
        request = answer.request
        if isinstance(request, ExpandRequest):
            self.search.on_proposals(request, answer.value, answer.seconds)
        elif isinstance(request, TacticRequest):
            self.search.on_tactic_result(request, answer.value, answer.seconds)
        else:
            self.search.on_verdict(request, answer.value, answer.seconds)
        if self.observer is not None:
            self.observer(self.search)

    def pop_ready(self) -> Answer | None:
        """The next answer to feed: in ordered mode the held answer of ``next_fed`` (a ``LATE`` one, whose
        tactic never ran, is dropped and passed by), else the first ready one; ``None`` when none is."""
        while self.ordered and self.next_fed in self.held:
            answer = self.held.pop(self.next_fed)
            self.next_fed += 1
            if answer.value is not LATE:
                return answer
            self.dropped += 1
        return self.ready.popleft() if self.ready else None

    def shutdown(self) -> None:
        """Cancel queued jobs, stop and join every thread, drop late answers (logging late failures)."""
        for jobs in (self.expand_jobs, self.tactic_jobs, self.verify_jobs):
            self.dropped += drain(jobs, lambda job: len(job) if isinstance(job, list) else 1)
        self.dropped += len(self.parked) + len(self.pending_expansions)
        self.dropped += len(self.held) + len(self.ready) + len(self.verdicts)
        for _, jobs in self.threads:
            jobs.put(STOP)
        for thread, _ in self.threads:
            thread.join()
        while True:
            try:
                item = self.answers.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Failure):
                logger.warning("%s failed after the search stopped: %r", item.thread, item.error)
            else:
                self.dropped += 1

    def report(self) -> OverlapStats:
        batches = self.model.batches
        return OverlapStats(len(batches), sum(batches), max(batches, default=0), self.dropped)


# --- the public entry points ---------------------------------------------------------------------------


def run_search_overlapped(
    search: BestFirstSearch,
    sessions: Sequence[Session],
    policy: Policy,
    verify: Verifier,
    *,
    clock: Clock = time.perf_counter,
    observer: SearchObserver | None = None,
) -> OverlapStats:
    """Serve ``search`` until it stops, overlapping model and proof-assistant work (see the module doc).

    ``sessions`` are open sessions of the search's theorem, one worker thread each (at least one);
    ``clock`` (seconds) times each call for the search's statistics; ``observer`` (``search.progress``)
    is called with the search after each answer fed to it, on this thread. Returns what the driver did; the
    search itself holds the stop reason, proof and statistics. Raises ``ValueError`` without sessions, and
    re-raises the first exception of ``policy``, a session or ``verify`` after every thread has stopped.
    """
    if not sessions:
        raise ValueError("run_search_overlapped needs at least one session")
    driver = _OverlapDriver(search, sessions, policy, verify, clock, observer)
    try:
        driver.start()
        driver.run()
    finally:
        driver.shutdown()
    report = driver.report()
    logger.info("overlapped search %s: %d expansions, %d propose calls (largest batch %d), %d dropped",
                search.stop_reason.value if search.stop_reason else "raised", search.stats.expansions,
                report.propose_calls, report.largest_batch, report.dropped)
    return report


def prove_overlapped(
    theorem: Theorem,
    *,
    backend: Backend,
    policy: Policy,
    config: SearchConfig | None = None,
    sessions: int = 4,
    cache: ProofCache | None = None,
    observer: SearchObserver | None = None,
) -> SearchResult:
    """``prove`` with the overlapped driver: opens ``sessions`` sessions of ``theorem`` (all closed on
    return). Set ``config.expansion_width`` above 1 to let the model work while tactics run.

    Raises ``ValueError`` when ``sessions`` < 1, and what ``prove`` raises.
    """
    if sessions < 1:
        raise ValueError(f"sessions must be >= 1, got {sessions}")
    config = config or SearchConfig()
    opened: list[Session] = []
    try:
        for _ in range(sessions):
            opened.append(backend.open(theorem))
        search = BestFirstSearch(opened[0].initial_state(), config=config, tactic_filter=backend.check_tactic,
                                 cache=cache, policy_fingerprint=fingerprint_of(policy),
                                 context=theorem.environment)
        run_search_overlapped(search, opened, policy, lambda tactics: backend.verify(theorem, tactics),
                              observer=observer)
    finally:
        for session in opened:
            session.close()
    return finish(theorem, search, backend)
