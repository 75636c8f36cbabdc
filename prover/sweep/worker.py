"""A search worker: runs one attempt at one theorem at a time, owning its backend's processes.

``SearchWorker`` is a plain class that works without Ray; ``prover.sweep.pool`` wraps it in an actor.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prover.policies.spec import for_theorem
from prover.run_spec import RunSpec
from prover.sweep.freshness import DIGEST_FIELD, statement_digest
from prover.sweep.graph_pages import GRAPH_FIELD, graph_of, planned_graph_of
from search import (
    Backend,
    InvalidTheoremError,
    Policy,
    ProofCache,
    SearchResult,
    Theorem,
    for_attempt,
    prove,
)
from search.errors import TheoremLoadError

if TYPE_CHECKING:
    from planner import PlannerClient
    from prover.planner_settings import PlannerSettings

logger = logging.getLogger(__name__)

BackendFactory = Callable[[], Backend]
PolicyFactory = Callable[[], Policy]


@dataclass(frozen=True)
class WorkerSetup:
    """What every search worker of a sweep is started with (pickled to each Ray actor): the run's spec,
    the factories of its backend and policy (the spec's own, or a served policy's clients, or a test's),
    and the proof cache the workers share."""

    spec: RunSpec
    backend: BackendFactory
    policy: PolicyFactory
    cache: ProofCache | None = None

    @classmethod
    def of(cls, spec: RunSpec, *, backend: BackendFactory | None = None, policy: PolicyFactory | None = None,
           cache: ProofCache | None = None) -> WorkerSetup:
        """The setup of ``spec``, its backend and policy built from the spec unless others are given."""
        return cls(spec, backend or spec.backend, policy or spec.policy, cache)


@dataclass(frozen=True)
class Task:
    theorem: Theorem
    split: str
    attempt: int  # 1-based

    @property
    def key(self) -> tuple[str, int]:
        return (self.theorem.name, self.attempt)


def make_record(task: Task, status: str, *, result: SearchResult | None = None,
                message: str | None = None, seconds: float = 0.0, worker: str = "",
                policy: str = "") -> dict[str, Any]:
    """The durable record of one finished attempt. ``status`` is proved, unproved, invalid or error.

    A proved attempt carries its ``trajectory`` (``SearchGraph.trajectory``): the states, tactics,
    log-probs and rejected sibling tactics along the proof, the raw material of expert iteration."""
    record: dict[str, Any] = {
        "theorem": task.theorem.name, DIGEST_FIELD: statement_digest(task.theorem), "split": task.split,
        "attempt": task.attempt, "status": status,
        "stop_reason": None, "proof": None, "proof_text": None, "axioms": None, "stats": None,
        "message": message,
        "seconds": round(seconds, 4), "worker": worker, "policy": policy, "trajectory": None,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if result is not None:
        record["stop_reason"] = result.stop_reason.value
        record["stats"] = result.stats.as_dict()
        if result.proof is not None:
            record["proof"] = list(result.proof.tactics)
            record["proof_text"] = result.proof.text
            record["axioms"] = list(result.proof.verdict.axioms)  # what the kernel check found it uses
            if result.graph is not None:
                record["trajectory"] = result.graph.trajectory()
    return record


def _worker_label() -> str:
    """host:pid, plus the Ray node when running as an actor (several nodes may share a host)."""
    label = f"{socket.gethostname()}:{os.getpid()}"
    try:
        import ray

        if ray.is_initialized():
            label += f"@{ray.get_runtime_context().get_node_id()[:8]}"
    except ImportError:
        pass
    return label


class SearchWorker:
    """Proves tasks with one backend and one policy, both built lazily inside the worker's process, with
    the settings of its ``WorkerSetup``'s spec."""

    def __init__(self, setup: WorkerSetup) -> None:
        self.setup = setup
        self._spec = setup.spec
        self._planner_client: PlannerClient | None = None
        self._backend: Backend | None = None
        self._policy: Policy | None = None
        self.name = _worker_label()
        self.policy_label = str(getattr(setup.policy, "label", type(setup.policy).__name__))
        if setup.spec.planner is not None:
            self.policy_label += f"+planner:{setup.spec.planner.label}"

    def run(self, task: Task) -> dict[str, Any]:
        """Search for a proof of the task's theorem and return its record. Attempt k uses the policy's
        ``for_attempt(k)`` where it has one (``search.policy_identity``), so attempts differ.

        An invalid statement is a record with status ``invalid``; a theorem the proof assistant failed
        to load (``TheoremLoadError``: it died or ran past its start-up limit there) one with status
        ``error``; any other ``BackendUnavailableError`` propagates, since every later task would fail the
        same way."""
        if self._backend is None:
            self._backend = self.setup.backend()
        if self._policy is None:
            self._policy = self.setup.policy()
        started = time.perf_counter()
        policy = for_attempt(self._policy, task.attempt)  # pass@N: each attempt samples anew
        policy = for_theorem(policy, task.theorem)  # e.g. the Coq tactic policy reads the header
        try:
            if self._spec.planner is not None:
                return self._run_planned(task, self._spec.planner, policy, started)
            return self._run_search(task, policy, started)
        except InvalidTheoremError as exc:
            return self._record(task, "invalid", exc.reason, started)
        except TheoremLoadError as exc:
            logger.warning("%s attempt %d: %s", task.theorem.name, task.attempt, exc)
            return self._record(task, "error", str(exc), started)

    def _run_search(self, task: Task, policy: Policy, started: float) -> dict[str, Any]:
        """One attempt of the step search alone."""
        assert self._backend is not None
        result = prove(task.theorem, backend=self._backend, policy=policy, config=self._spec.search,
                       sessions=self._spec.driver.sessions, cache=self.setup.cache)
        status = "proved" if result.proved else "unproved"
        record = make_record(task, status, result=result, seconds=time.perf_counter() - started,
                             worker=self.name, policy=self.policy_label)
        record[GRAPH_FIELD] = graph_of(result)  # for the driver's explorer page; never stored
        return record

    def _run_planned(self, task: Task, settings: PlannerSettings, policy: Policy,
                     started: float) -> dict[str, Any]:
        """One attempt through plans; the planner client is built once per worker."""
        from planner import PlannerEndpointError, make_planner_client, prove_with_planner
        from prover.sweep.planned_record import planned_record_fields

        if self._planner_client is None:
            self._planner_client = make_planner_client(settings.client)
        assert self._backend is not None
        try:
            result = prove_with_planner(
                task.theorem, backend=self._backend, policy=policy, search_config=self._spec.search,
                planner_config=settings.planner, client=self._planner_client, cache=self.setup.cache)
        except PlannerEndpointError as exc:
            return self._record(task, "error", str(exc), started)
        record = make_record(task, "unproved", seconds=time.perf_counter() - started, worker=self.name,
                             policy=self.policy_label)
        record.update(planned_record_fields(result))
        record[GRAPH_FIELD] = planned_graph_of(result)  # the driver's explorer pages; never stored
        return record

    def _record(self, task: Task, status: str, message: str, started: float) -> dict[str, Any]:
        """The record of an attempt that ended without a search result: ``invalid`` (the statement) or
        ``error`` (the theorem failed to load — the proof assistant died on every try or ran past its
        start-up limit — or the planner's endpoint failed). An ``error`` has no verdict, so a resume runs
        it again; it is not the sweep's end, since the other theorems may load."""
        return make_record(task, status, message=message, policy=self.policy_label,
                           seconds=time.perf_counter() - started, worker=self.name)

    def ping(self) -> str:
        return self.name

    def close(self) -> None:
        if self._planner_client is not None:
            self._planner_client.close()
        if self._backend is not None:
            self._backend.close()
            self._backend = None
