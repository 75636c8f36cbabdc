"""A supervised pool of search-worker actors on Ray.

The pool keeps ``size`` actors busy with one task each. When an actor (or its node) dies, the pool starts
a replacement (spread over the cluster) and runs the task again, up to ``max_retries`` times; only then
does the task get an ``error`` record. ``ActorPool`` alone does not do this supervision, hence this class.
Actors have ``max_restarts=0``: restarts are the pool's job, so a task is never retried behind its back.
Tasks go only to workers that answered a ping: a replacement that waits for free CPUs (the cluster shrank)
holds no task hostage.

Stopping. When the sweep stops early (Ctrl-C, SIGTERM, a fatal error), ``shutdown`` gives the attempts still
running its budget (30 s) to finish and stores each one that does, through ``on_result`` like any other
(the driver stays the only writer), while the idle workers close; what is still running then is killed
and simply runs again on a resume. A second interrupt during that wait kills the workers at once.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import ray
from ray.exceptions import RayActorError, RayError, RayTaskError

from prover.policies.hf_policy_config import ModelLoadError
from prover.sweep.errors import WorkerStartError
from prover.sweep.worker import SearchWorker, Task, WorkerSetup, make_record
from search import BackendUnavailableError, PriorityError
from search.errors import TheoremLoadError

logger = logging.getLogger(__name__)

ResultCallback = Callable[[Task, dict[str, Any]], None]
FATAL = (BackendUnavailableError, ModelLoadError, PriorityError)  # a task raising these ends the sweep
NOT_FATAL = (TheoremLoadError,)  # one theorem's fault (the worker records it as an error): never the end


class SupervisedPool:
    def __init__(self, setup: WorkerSetup, *, size: int, num_cpus: float = 1.0, max_retries: int = 2) -> None:
        """``size`` workers, each started with ``setup`` (the run's spec, its factories and cache)."""
        if size < 1:
            raise ValueError(f"a pool needs at least one worker, got {size}")
        self._setup = setup
        self._size = size
        self._max_retries = max_retries
        self._actor_class = ray.remote(SearchWorker).options(
            num_cpus=num_cpus, max_restarts=0, max_task_retries=0, scheduling_strategy="SPREAD")
        self._actors: list[Any] = []
        self._idle: list[Any] = []
        self._starting: dict[Any, Any] = {}
        self._num_cpus = num_cpus
        self._early_deaths = 0
        self._unfinished: dict[Any, tuple[Any, Task]] = {}  # attempts running when ``run`` was stopped
        self._on_result: ResultCallback | None = None
        self.replaced = 0

    def _spawn(self) -> Any:
        actor = self._actor_class.remote(self._setup)
        self._actors.append(actor)
        return actor

    def _retire(self, actor: Any) -> None:
        if actor in self._actors:
            self._actors.remove(actor)
        ray.kill(actor, no_restart=True)

    def start(self, count: int | None = None, timeout: float = 300.0) -> None:
        """Start ``count`` (default: all) workers and wait until the first answers, so that a worker that
        cannot start fails the sweep at once (``WorkerStartError``), not task by task. Workers that
        wait for free resources join when they can."""
        for _ in range(min(count or self._size, self._size) - len(self._actors)):
            actor = self._spawn()
            self._starting[actor.ping.remote()] = actor
        deadline = time.monotonic() + timeout
        while self._starting and not self._idle:
            ready, _ = ray.wait(list(self._starting), num_returns=1,
                                timeout=max(deadline - time.monotonic(), 0.0))
            if not ready:
                raise WorkerStartError(
                    f"no search worker started in {timeout:.0f} s: does the cluster have "
                    f"{self._num_cpus:g} free CPUs for one?")
            for ref in ready:
                self._started(ref, self._starting.pop(ref), self._idle)
        if self._starting:  # a moment for the others, so that the first tasks spread over the cluster
            ready, _ = ray.wait(list(self._starting), num_returns=len(self._starting), timeout=1.0)
            for ref in ready:
                self._started(ref, self._starting.pop(ref), self._idle)

    def run(self, queue: deque[Task], on_result: ResultCallback,
            on_tick: Callable[[int], None] | None = None, start_timeout: float = 300.0) -> None:
        """Run every task in ``queue`` (``on_result`` may append follow-up tasks to it).

        Tasks go only to workers that answered: a replacement for a worker lost with its node may wait
        for free CPUs (the cluster shrank) without holding a task hostage. When no worker is alive and
        none could start for ``start_timeout`` seconds, ``WorkerStartError``.

        When an error or an interrupt stops it, the attempts already finished are stored at once and those
        still running are left to ``shutdown``, which stores each one that finishes within its budget."""
        running: dict[Any, tuple[Any, Task]] = {}
        try:
            self._run(queue, running, on_result, on_tick, start_timeout)
        except BaseException:  # keep what finished: a fatal error, a worker start, an interrupt
            self._drain(running, on_result, timeout=0.0)
            self._unfinished, self._on_result = running, on_result
            raise

    def _run(self, queue: deque[Task], running: dict[Any, tuple[Any, Task]], on_result: ResultCallback,
             on_tick: Callable[[int], None] | None, start_timeout: float) -> None:
        idle, self._idle = self._idle, []
        starting = self._starting  # shared, so that shutdown knows which workers never started
        failures: Counter[tuple[str, int]] = Counter()
        starved_since: float | None = None
        while queue or running:
            while len(self._actors) < self._size and len(queue) > len(idle) + len(starting):
                actor = self._spawn()
                starting[actor.ping.remote()] = actor
            while queue and idle:
                actor = idle.pop()
                task = queue.popleft()
                running[actor.run.remote(task)] = (actor, task)
            starved_since = self._check_starved(starved_since, running, starting, start_timeout)
            ready, _ = ray.wait([*running, *starting], num_returns=1, timeout=0.5)
            for ref in ready:
                if ref in starting:
                    self._started(ref, starting.pop(ref), idle)
                    continue
                actor, task = running.pop(ref)
                record = self._collect(ref, actor, task, failures, idle, queue)
                if record is not None:
                    on_result(task, record)
            if on_tick is not None:
                on_tick(len(running))

    @staticmethod
    def _drain(running: dict[Any, tuple[Any, Task]], on_result: ResultCallback, timeout: float) -> None:
        """Before an error ends the sweep, collect what the other running tasks return within ``timeout``
        seconds: a finished attempt is stored (``on_result``), never lost with the sweep; a failed one is
        read and dropped (unread, Ray would print its traceback as unhandled)."""
        if not running:
            return
        ready, _ = ray.wait(list(running), num_returns=len(running), timeout=timeout)
        for ref in ready:
            SupervisedPool._store_finished(ref, running.pop(ref)[1], on_result)

    @staticmethod
    def _store_finished(ref: Any, task: Task, on_result: ResultCallback) -> None:
        """Store the record of a finished task while the sweep stops; a failed task is read and dropped."""
        try:
            record = ray.get(ref)
        except RayError:
            return
        try:
            on_result(task, record)
        except Exception as exc:  # the sweep's own error is the one to report
            logger.error("%s attempt %d: its record could not be stored: %r", task.theorem.name,
                         task.attempt, exc)

    def _started(self, ref: Any, actor: Any, idle: list[Any]) -> None:
        try:
            ray.get(ref)
        except RayActorError as exc:
            if exc.actor_init_failed:
                raise WorkerStartError(f"a search worker failed to start: {exc}") from None
            logger.warning("a new search worker died before its first task: %s", type(exc).__name__)
            self._retire(actor)
            self._early_deaths += 1
            if self._early_deaths > self._size + self._max_retries:
                raise WorkerStartError(
                    f"{self._early_deaths} search workers in a row died before their first task; "
                    f"last: {exc}") from None
        else:
            self._early_deaths = 0
            idle.append(actor)

    @staticmethod
    def _check_starved(since: float | None, running: dict[Any, Any], starting: dict[Any, Any],
                       timeout: float) -> float | None:
        """When the starvation began (``None`` while a worker is busy), or ``WorkerStartError``."""
        if running or not starting:
            return None
        now = time.monotonic()
        if since is None:
            return now
        if now - since > timeout:
            raise WorkerStartError(
                f"no search worker is alive and none could start in {timeout:.0f} s: the cluster has no "
                f"free resources for a worker (lost nodes?)")
        return since

    def _collect(self, ref: Any, actor: Any, task: Task, failures: Counter[tuple[str, int]],
                 idle: list[Any], queue: deque[Task]) -> dict[str, Any] | None:
        """The task's record, or ``None`` when it was queued again after its worker failed."""
        try:
            record = ray.get(ref)
        except RayTaskError as exc:
            cause = exc.cause
            if isinstance(cause, FATAL) and not isinstance(cause, NOT_FATAL):  # every later task would too
                raise cause from None
            idle.append(actor)
            reason = f"{type(cause).__name__}: {cause}"
            logger.error("%s attempt %d raised %s", task.theorem.name, task.attempt, reason)
        except RayError as exc:
            if isinstance(exc, RayActorError) and exc.actor_init_failed:
                raise WorkerStartError(f"a search worker failed to start: {exc}") from None
            self._retire(actor)
            self.replaced += 1
            reason = f"worker died: {type(exc).__name__}"
            logger.warning("%s attempt %d: %s; retrying on a new worker", task.theorem.name,
                           task.attempt, reason)
        else:
            idle.append(actor)
            return record
        failures[task.key] += 1
        if failures[task.key] <= self._max_retries:
            queue.appendleft(task)
            return None
        return make_record(task, "error", message=f"failed {failures[task.key]} times; last: {reason}")

    def shutdown(self, timeout: float = 30.0) -> None:
        """Close the started workers (their sessions end cleanly) within ``timeout`` seconds in all, and
        kill every worker. After ``run`` was stopped, the attempts it left running get the same
        ``timeout``: each one that finishes meanwhile is stored (``on_result``) before its worker closes
        (a worker's ``close`` waits for its running attempt anyway). A second interrupt meanwhile kills
        the workers at once; it is raised again only when ``run`` had not been stopped."""
        running, self._unfinished = self._unfinished, {}
        on_result, self._on_result = self._on_result, None
        never_started = set(self._starting.values())
        closing = [actor.close.remote() for actor in self._actors if actor not in never_started]
        if running:
            logger.warning("stopping: waiting up to %.0f s for %d running attempt(s) to finish, to keep "
                           "them (interrupt again to stop at once)", timeout, len(running))
        try:
            self._await_stop(running, closing, on_result, timeout)
        except KeyboardInterrupt:
            logger.warning("stopping at once: %d running attempt(s) dropped (a resume runs them again)",
                           len(running))
            if on_result is None:  # not stopping already: this interrupt is the one that stops the sweep
                self._kill_all()
                raise
        self._kill_all()

    def _await_stop(self, running: dict[Any, tuple[Any, Task]], closing: list[Any],
                    on_result: ResultCallback | None, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the ``running`` attempts (each stored as it finishes) and
        the ``closing`` workers."""
        deadline = time.monotonic() + timeout
        pending = set(closing)
        while running or pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                ready, _ = ray.wait([*running, *pending], num_returns=1, timeout=left)
            except RayError:
                break
            for ref in ready:
                if ref in running:
                    _, task = running.pop(ref)
                    if on_result is not None:
                        self._store_finished(ref, task, on_result)
                else:
                    pending.discard(ref)
        if running:
            logger.warning("%d attempt(s) still running after %.0f s were stopped (a resume runs them again)",
                           len(running), timeout)

    def _kill_all(self) -> None:
        self._starting.clear()
        for actor in list(self._actors):
            self._retire(actor)
