"""A supervised pool of search-worker actors on Ray.

The pool keeps ``size`` actors busy with one task each. When an actor (or its node) dies, the pool starts
a replacement (spread over the cluster) and runs the task again, up to ``max_retries`` times; only then
does the task get an ``error`` record. ``ActorPool`` alone does not do this supervision, hence this class.
Actors have ``max_restarts=0``: restarts are the pool's job, so a task is never retried behind its back.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import ray
from ray.exceptions import RayActorError, RayError, RayTaskError

from prover.sweep.worker import SearchWorker, Task, make_record
from search import BackendUnavailableError

logger = logging.getLogger(__name__)

ResultCallback = Callable[[Task, dict[str, Any]], None]


class WorkerStartError(RuntimeError):
    """A search worker could not be constructed: every task would fail the same way."""


class SupervisedPool:
    def __init__(self, worker_args: tuple[Any, ...], *, size: int, num_cpus: float = 1.0,
                 max_retries: int = 2) -> None:
        if size < 1:
            raise ValueError(f"a pool needs at least one worker, got {size}")
        self._worker_args = worker_args
        self._size = size
        self._max_retries = max_retries
        self._actor_class = ray.remote(SearchWorker).options(
            num_cpus=num_cpus, max_restarts=0, max_task_retries=0, scheduling_strategy="SPREAD")
        self._actors: list[Any] = []
        self._idle: list[Any] = []
        self.replaced = 0

    def _spawn(self) -> Any:
        actor = self._actor_class.remote(*self._worker_args)
        self._actors.append(actor)
        return actor

    def _retire(self, actor: Any) -> None:
        if actor in self._actors:
            self._actors.remove(actor)
        ray.kill(actor, no_restart=True)

    def start(self, count: int | None = None, timeout: float = 300.0) -> None:
        """Start ``count`` (default: all) workers and wait until each answers, so that a worker that
        cannot start fails the sweep at once (``WorkerStartError``), not task by task."""
        fresh = [self._spawn() for _ in range(min(count or self._size, self._size) - len(self._actors))]
        try:
            ray.get([actor.ping.remote() for actor in fresh], timeout=timeout)
        except RayActorError as exc:
            raise WorkerStartError(f"a search worker failed to start: {exc}") from None
        self._idle.extend(fresh)

    def run(self, queue: deque[Task], on_result: ResultCallback,
            on_tick: Callable[[int], None] | None = None) -> None:
        """Run every task in ``queue`` (``on_result`` may append follow-up tasks to it)."""
        idle, self._idle = self._idle, []
        running: dict[Any, tuple[Any, Task]] = {}
        failures: Counter[tuple[str, int]] = Counter()
        while queue or running:
            while queue and (idle or len(self._actors) < self._size):
                actor = idle.pop() if idle else self._spawn()
                task = queue.popleft()
                running[actor.run.remote(task)] = (actor, task)
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
            for ref in ready:
                actor, task = running.pop(ref)
                record = self._collect(ref, actor, task, failures, idle, queue)
                if record is not None:
                    on_result(task, record)
            if on_tick is not None:
                on_tick(len(running))

    def _collect(self, ref: Any, actor: Any, task: Task, failures: Counter[tuple[str, int]],
                 idle: list[Any], queue: deque[Task]) -> dict[str, Any] | None:
        """The task's record, or ``None`` when it was queued again after its worker failed."""
        try:
            record = ray.get(ref)
        except RayTaskError as exc:
            cause = exc.cause
            if isinstance(cause, BackendUnavailableError):
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

    def shutdown(self) -> None:
        for actor in list(self._actors):
            with contextlib.suppress(RayError):
                ray.get(actor.close.remote(), timeout=30)
            self._retire(actor)
