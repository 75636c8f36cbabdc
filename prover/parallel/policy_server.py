"""One batched policy server per GPU (or CPU), shared by many search workers through Ray.

- ``PolicyServer``: a plain class (works without Ray) that builds its policy from a picklable factory in
  the process it lives in (so a model is loaded inside the actor, on the actor's GPU) and serves
  ``propose`` through a ``BatchingPolicy``.
- ``start_policy_server``: the call site that makes it a Ray actor. Resources, concurrency and restart
  policy are stated there, from ``PolicyServerConfig``; ``start_policy_servers`` starts
  ``config.replicas`` of them (one per GPU), spread over the cluster. The actor is threaded
  (``max_concurrency``): each blocked ``propose`` holds one actor thread while the batcher merges them.
- ``RemotePolicy``: the client side, a ``search.protocols.Policy`` that calls the actor. It pickles (it
  holds only the actor handle), so it can be passed to search-worker actors.
- ``ServedPolicy``: a picklable factory of ``RemotePolicy`` clients, one server chosen per sweep worker.
  Its clients wait at most ``PolicyServerConfig.call_timeout_s`` for each call, then raise
  ``PolicyServerTimeoutError`` naming the server: a wedged server fails the search attempts that use it
  (each becomes an ``error`` record of the sweep) instead of hanging the sweep without a word.

``propose`` is safe to retry (it changes nothing but counters and the sampler's random state), so the
actor's tasks may be retried after a restart; ``close`` is not retried.

Attempts of pass@N: a client for attempt ``k`` (``RemotePolicy.for_attempt``) sends ``k`` with each call,
and the server answers with its policy's ``for_attempt(k)`` (``search.policy_identity``): a transformers
model samples attempt ``k`` with that attempt's seed and temperature. Attempts that sample alike share one
batcher; those that do not get their own, and every batcher's calls of the model take turns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from prover.parallel.batching import BatchingPolicy, BatchingStats
from search.errors import ProverError
from search.policy_identity import AttemptStream, for_attempt
from search.protocols import Policy
from search.types import Candidate
from search.validation import MAX_SECONDS, Validated, setting

if TYPE_CHECKING:
    from prover.policies.hf_policy_config import HFPolicyConfig

logger = logging.getLogger(__name__)

PolicyFactory = Callable[[], Policy]


DEFAULT_CALL_TIMEOUT_S = 600.0  # far above any batch's latency: only a wedged server takes that long


class PolicyServerError(ProverError):
    """A policy server actor did not start: its policy could not be built (the message holds the cause,
    e.g. the model that failed to load), or not within ``start_timeout_s``; or (``PolicyServerTimeoutError``)
    it did not answer a call in time."""


class PolicyServerTimeoutError(PolicyServerError):
    """The policy server ``server`` did not answer a call within ``timeout_s`` seconds."""

    def __init__(self, server: str, timeout_s: float) -> None:
        super().__init__(f"the policy server {server} did not answer within {timeout_s:g} s: is it wedged or "
                         f"overloaded? (a served policy's limit: --server-call-timeout-s)")
        self.server = server
        self.timeout_s = timeout_s


@dataclass(frozen=True, kw_only=True)
class PolicyServerConfig(Validated):
    """Validated settings of the batched policy server actor."""

    config_name = "policy server configuration"

    max_batch_states: int = setting(
        64, min=1, help="most states per call of the model (requests are split to fit)")
    max_wait_ms: float = setting(
        5.0, min=0,
        help="longest a request waits for others to join its batch, in milliseconds (>= 0)")
    num_gpus: float | None = setting(
        None, min=0, help="GPUs reserved for each server actor; none: 1 when the cluster has a GPU, else 0")
    num_cpus: float = setting(1.0, min=0, help="CPUs reserved for the server actor")
    max_concurrency: int = setting(
        256, min=1,
        help="actor threads, i.e. most propose calls in flight at once (>= max expected callers)")
    max_restarts: int = setting(
        1, min=-1, help="times Ray restarts a dead server (reloading the model); -1: forever")
    max_task_retries: int = setting(
        1, min=-1, help="times a propose call is retried after the server died; -1: forever")
    name: str = setting("", help="Ray actor name so workers can look the server up; empty: anonymous")
    start_timeout_s: float = setting(
        900.0, above=0, max=MAX_SECONDS,
        help="seconds to wait for the server to build its model before failing")
    call_timeout_s: float = setting(
        DEFAULT_CALL_TIMEOUT_S, above=0, max=MAX_SECONDS,
        help="seconds a search worker waits for the server's answer to one call (its wait for a batch "
             "included) before that attempt fails with an error naming the server")
    replicas: int = setting(
        1, min=1, help="server actors, each with its own copy of the model (with num_gpus 1: one per GPU); "
                       "each search worker uses one, preferring a server on its own node")

    def actor_options(self, cluster_gpus: float = 0.0) -> dict[str, Any]:
        """The Ray actor options this config asks for, on a cluster with ``cluster_gpus`` GPUs."""
        options: dict[str, Any] = {
            "num_cpus": self.num_cpus,
            "num_gpus": self.gpus_per_server(cluster_gpus),
            "max_concurrency": self.max_concurrency,
            "max_restarts": self.max_restarts,
            "max_task_retries": self.max_task_retries,
        }
        if self.name:
            options["name"] = self.name
        return options

    def gpus_per_server(self, cluster_gpus: float) -> float:
        """``num_gpus``, or its default: a whole GPU per server when the cluster has one (a model on a GPU
        node must not fall back to the CPU because nobody reserved the GPU)."""
        if self.num_gpus is not None:
            return self.num_gpus
        return 1.0 if cluster_gpus >= 1 else 0.0


@dataclass(frozen=True)
class HFPolicyFactory:
    """Builds an ``HFPolicy`` where it is called: pickled to the actor, the model loads in the actor."""

    config: HFPolicyConfig

    def __call__(self) -> Policy:
        from prover.policies.hf_policy import HFPolicy

        return HFPolicy(self.config)


class _TakingTurns:
    """A policy whose calls take turns with those of the other attempts' policies on the same model."""

    def __init__(self, policy: Policy, turn: threading.Lock) -> None:
        self.policy = policy
        self.turn = turn

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        with self.turn:
            return self.policy.propose(states, n)


class PolicyServer:
    """Serves ``propose`` for many concurrent callers from one policy, in dynamic batches.

    ``factory()`` is called once, here, to build the policy. Raises whatever the factory raises (for
    ``HFPolicyFactory``: ``ModelLoadError``). ``close()`` stops batching and closes the policy if it has a
    ``close`` method.
    """

    def __init__(self, factory: PolicyFactory, config: PolicyServerConfig) -> None:
        self.config = config
        self.policy = factory()
        self._turn = threading.Lock()  # one model call at a time, whichever attempt's batcher makes it
        self._guard = threading.Lock()  # the batchers below
        self._batching = self._new_batcher(self.policy)
        self._batchers: list[tuple[Policy, BatchingPolicy]] = [(self.policy, self._batching)]
        self._by_attempt: dict[int, BatchingPolicy] = {}
        logger.info("policy server ready: %s, %s", type(self.policy).__name__, config)

    def _new_batcher(self, policy: Policy) -> BatchingPolicy:
        return BatchingPolicy(_TakingTurns(policy, self._turn), max_batch_states=self.config.max_batch_states,
                              max_wait_ms=self.config.max_wait_ms)

    def _batcher(self, attempt: int) -> BatchingPolicy:
        """The batcher of attempt ``attempt``'s policy (``for_attempt``), made on first use."""
        with self._guard:
            found = self._by_attempt.get(attempt)
            if found is None:
                policy = for_attempt(self.policy, attempt)
                while isinstance(policy, AttemptStream):  # a name for the cache: it samples as its policy
                    policy = policy.policy
                found = next((b for p, b in self._batchers if p is policy), None)
                if found is None:
                    found = self._new_batcher(policy)
                    self._batchers.append((policy, found))
                self._by_attempt[attempt] = found
            return found

    def ready(self) -> bool:
        """True once the policy is built (a cheap call to wait for the actor's start)."""
        return True

    def node_id(self) -> str | None:
        """The Ray node this server runs on (``None`` outside Ray)."""
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None

    def propose(self, states: Sequence[str], n: int, attempt: int = 1) -> list[list[Candidate]]:
        """``Policy.propose`` of attempt ``attempt``'s policy (``for_attempt``), batched with concurrent
        callers of attempts that sample alike; see ``BatchingPolicy.propose``."""
        return self._batcher(attempt).propose(states, n)

    def stats(self) -> BatchingStats:
        """Requests, batches, states served and the mean batch size so far, over every attempt."""
        with self._guard:
            every = [batcher.stats() for _, batcher in self._batchers]
        total = {f.name: sum(getattr(s, f.name) for s in every) for f in fields(BatchingStats)}
        return BatchingStats(**{**total, "largest_batch": max(s.largest_batch for s in every)})

    def close(self) -> None:
        """Fail pending requests, stop the dispatchers and close the policy; idempotent."""
        with self._guard:
            batchers = [batcher for _, batcher in self._batchers]
        for batcher in batchers:
            batcher.close()
        close = getattr(self.policy, "close", None)
        if callable(close):
            close()


def start_policy_server(factory: PolicyFactory, config: PolicyServerConfig, *, wait: bool = True) -> Any:
    """Start one ``PolicyServer`` actor on the connected Ray cluster and return its handle.

    With ``wait``, block until the policy is built (at most ``config.start_timeout_s`` seconds); raises
    ``PolicyServerError`` (naming the cause) when it fails or times out.
    """
    return start_policy_servers(factory, config, replicas=1, wait=wait)[0]


def start_policy_servers(factory: PolicyFactory, config: PolicyServerConfig, *, replicas: int | None = None,
                         wait: bool = True) -> list[Any]:
    """Start ``replicas`` (default ``config.replicas``) ``PolicyServer`` actors, spread over the cluster,
    and return their handles; with ``wait``, once every one has built its policy. A named config names
    them ``NAME``, ``NAME-1``, ``NAME-2``, ... Raises ``PolicyServerError``; none is left running then."""
    import ray
    from ray.exceptions import GetTimeoutError, RayError

    count = config.replicas if replicas is None else replicas
    cluster_gpus = float(ray.cluster_resources().get("GPU", 0))
    gpus = config.gpus_per_server(cluster_gpus)
    if gpus and cluster_gpus >= gpus * (count + 1):
        logger.warning("%d policy server(s) use %g of the cluster's %g GPUs: --server-replicas %d would use "
                       "them all", count, gpus * count, cluster_gpus, int(cluster_gpus // gpus))
    actor_class = ray.remote(PolicyServer)
    handles: list[Any] = []  # Ray types a handle's methods as PolicyServer's, without their ``.remote``
    for index in range(count):
        options = config.actor_options(cluster_gpus)
        if config.name and index:
            options["name"] = f"{config.name}-{index}"
        handles.append(actor_class.options(scheduling_strategy="SPREAD", **options).remote(factory, config))
    if not wait:
        return handles
    try:
        ray.get([handle.ready.remote() for handle in handles], timeout=config.start_timeout_s)
    except GetTimeoutError:
        stop_servers(handles)
        raise PolicyServerError(
            f"the policy server did not start within {config.start_timeout_s:g} s: is the model slow to "
            f"load, or does the cluster lack {gpus:g} free GPUs and {config.num_cpus:g} free "
            f"CPUs per server?") from None
    except RayError as exc:
        stop_servers(handles)
        raise PolicyServerError(f"the policy server failed to start: {_last_error_line(exc)}") from None
    return handles


def serve_model(model: HFPolicyConfig, config: PolicyServerConfig, label: str) -> ServedPolicy:
    """Start ``config.replicas`` servers of the transformers policy ``model`` (each loads it once, inside
    it) and return the factory sweep workers call; ``ServedPolicy.shutdown()`` stops them. Raises
    ``PolicyServerError``."""
    import ray

    handles = start_policy_servers(HFPolicyFactory(model), config)
    nodes = ray.get([handle.node_id.remote() for handle in handles])
    return ServedPolicy(tuple(handles), label, tuple(nodes), fingerprint=model.fingerprint,
                        timeout_s=config.call_timeout_s)


def stop_servers(handles: Sequence[Any]) -> None:
    """Kill the server actors ``handles`` (their models go with them)."""
    import ray

    for handle in handles:
        ray.kill(handle)


def _last_error_line(exc: Exception) -> str:
    """The exception line at the end of a Ray error's traceback text (``Type: message``), else all of it."""
    text = str(getattr(exc, "error_msg", None) or exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    found = next((line for line in reversed(lines) if "Error: " in line or "Exception: " in line), None)
    return found.split(": ", 1)[1] if found and ": " in found else text


class RemotePolicy:
    """A ``Policy`` backed by a ``PolicyServer`` actor; picklable, usable from any Ray worker.

    ``timeout_s`` bounds each call (``None``: no bound); when it expires, the call is cancelled and
    ``PolicyServerTimeoutError`` names the server (``server``, a name for messages, and its actor id).
    Errors raised by the server's policy reach the caller as Ray task errors that are also instances of
    the original exception type. ``fingerprint`` names the served model and its sampling settings
    (``HFPolicyConfig.fingerprint``); without one, a proof cache shares no failures of this policy.
    """

    def __init__(self, handle: Any, *, timeout_s: float | None = None, fingerprint: str | None = None,
                 attempt: int | None = None, server: str | None = None) -> None:
        self.handle = handle
        self.timeout_s = timeout_s
        self.server = server
        self.base_fingerprint = fingerprint
        self.attempt = attempt  # None: no attempt's client (the server answers as for attempt 1)

    @property
    def fingerprint(self) -> str | None:
        """The served model's, naming the attempt for an attempt's client (``None`` without a name)."""
        if self.base_fingerprint is None or self.attempt is None:
            return self.base_fingerprint
        return f"{self.base_fingerprint}#attempt={self.attempt}"

    def for_attempt(self, attempt: int) -> RemotePolicy:
        """The client of attempt ``attempt`` of a theorem: the server samples it with that attempt's
        settings (``PolicyServer.propose``), and its sampling stream moves on between calls, so attempts
        differ; the fingerprint names the attempt."""
        if attempt < 1:
            raise ValueError(f"attempts count from 1, got {attempt}")
        return RemotePolicy(self.handle, timeout_s=self.timeout_s, fingerprint=self.base_fingerprint,
                            attempt=attempt, server=self.server)

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        return self._get(self.handle.propose.remote(list(states), n, self.attempt or 1))

    def stats(self) -> BatchingStats:
        return self._get(self.handle.stats.remote())

    def describe(self) -> str:
        """The server, for messages: its name (when given) and its Ray actor id (when it has one)."""
        actor_id = getattr(self.handle, "_actor_id", None)
        actor = f"actor {actor_id.hex()}" if actor_id is not None and hasattr(actor_id, "hex") else None
        if self.server and actor:
            return f"{self.server} ({actor})"
        return self.server or actor or repr(self.handle)

    def _get(self, call: Any) -> Any:
        """The call's result within ``timeout_s``; else the call is cancelled (unless it runs already)
        and ``PolicyServerTimeoutError`` raised."""
        import ray
        from ray.exceptions import GetTimeoutError

        try:
            return ray.get(call, timeout=self.timeout_s)
        except GetTimeoutError:
            assert self.timeout_s is not None
            try:
                ray.cancel(call)  # a call still queued at the server never runs; a running one goes on
            except Exception as exc:  # the error to report is the timeout
                logger.debug("could not cancel a timed-out policy call: %r", exc)
            raise PolicyServerTimeoutError(self.describe(), self.timeout_s) from None


@dataclass(frozen=True)
class ServedPolicy:
    """A picklable factory of clients of shared policy-server actors (for sweep workers). Each worker
    uses one server: one on its own node when there is one (no cross-node traffic), chosen by its process
    id among them, so the workers of a node spread over its servers."""

    handles: tuple[Any, ...]
    label: str
    nodes: tuple[str | None, ...] = ()  # the node of each server, when known
    fingerprint: str | None = None  # the served model's (HFPolicyConfig.fingerprint), for the proof cache
    timeout_s: float | None = DEFAULT_CALL_TIMEOUT_S  # each client call's limit (call_timeout_s); None: none

    def __call__(self) -> Policy:
        import os

        index = self._choose_index(_current_node(), os.getpid())
        return RemotePolicy(self.handles[index], fingerprint=self.fingerprint, timeout_s=self.timeout_s,
                            server=f"{index + 1} of {len(self.handles)} serving {self.label!r}")

    def shutdown(self) -> None:
        """Stop every server (the driver calls it once the sweep is over)."""
        stop_servers(self.handles)

    def choose(self, node: str | None, seed: int) -> Any:
        """The server for a worker on ``node``; ``seed`` spreads the workers of a node over its servers."""
        return self.handles[self._choose_index(node, seed)]

    def _choose_index(self, node: str | None, seed: int) -> int:
        local = [i for i, n in enumerate(self.nodes[:len(self.handles)]) if node is not None and n == node]
        candidates = local or list(range(len(self.handles)))
        return candidates[seed % len(candidates)]


def _current_node() -> str | None:
    try:
        import ray
    except ImportError:
        return None
    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
