"""One batched policy server per GPU (or CPU), shared by many search workers through Ray.

- ``PolicyServer``: a plain class (works without Ray) that builds its policy from a picklable factory in
  the process it lives in (so a model is loaded inside the actor, on the actor's GPU) and serves
  ``propose`` through a ``BatchingPolicy``.
- ``start_policy_server``: the call site that makes it a Ray actor. Resources, concurrency and restart
  policy are stated there, from ``PolicyServerConfig``. The actor is threaded (``max_concurrency``): each
  blocked ``propose`` holds one actor thread while the batcher merges them.
- ``RemotePolicy``: the client side, a ``search.protocols.Policy`` that calls the actor. It pickles (it
  holds only the actor handle), so it can be passed to search-worker actors.

``propose`` is safe to retry (it changes nothing but counters and the sampler's random state), so the
actor's tasks may be retried after a restart; ``close`` is not retried.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prover.batching import BatchingPolicy, BatchingStats
from search.protocols import Policy
from search.types import Candidate

if TYPE_CHECKING:
    from prover.hf_policy_config import HFPolicyConfig

logger = logging.getLogger(__name__)

PolicyFactory = Callable[[], Policy]


@dataclass(frozen=True, kw_only=True)
class PolicyServerConfig:
    """Validated settings of the batched policy server actor."""

    max_batch_states: int = field(
        default=64, metadata={"help": "most states per call of the model (requests are split to fit)"}
    )
    max_wait_ms: float = field(
        default=5.0,
        metadata={"help": "longest a request waits for others to join its batch, in milliseconds (>= 0)"},
    )
    num_gpus: float = field(
        default=0.0, metadata={"help": "GPUs reserved for the server actor (1 per model)"}
    )
    num_cpus: float = field(default=1.0, metadata={"help": "CPUs reserved for the server actor"})
    max_concurrency: int = field(
        default=256,
        metadata={
            "help": "actor threads, i.e. most propose calls in flight at once (>= max expected callers)"
        },
    )
    max_restarts: int = field(
        default=1, metadata={"help": "times Ray restarts a dead server (reloading the model); -1: forever"}
    )
    max_task_retries: int = field(
        default=1, metadata={"help": "times a propose call is retried after the server died; -1: forever"}
    )
    name: str = field(
        default="", metadata={"help": "Ray actor name so workers can look the server up; empty: anonymous"}
    )
    start_timeout_s: float = field(
        default=900.0, metadata={"help": "seconds to wait for the server to build its model before failing"}
    )

    def __post_init__(self) -> None:
        problems = []
        if self.max_batch_states < 1:
            problems.append(f"max_batch_states must be >= 1, got {self.max_batch_states}")
        if not (math.isfinite(self.max_wait_ms) and self.max_wait_ms >= 0):
            problems.append(f"max_wait_ms must be a finite number >= 0, got {self.max_wait_ms}")
        if not self.num_gpus >= 0:
            problems.append(f"num_gpus must be >= 0, got {self.num_gpus}")
        if not self.num_cpus >= 0:
            problems.append(f"num_cpus must be >= 0, got {self.num_cpus}")
        if self.max_concurrency < 1:
            problems.append(f"max_concurrency must be >= 1, got {self.max_concurrency}")
        if self.max_restarts < -1:
            problems.append(f"max_restarts must be >= -1, got {self.max_restarts}")
        if self.max_task_retries < -1:
            problems.append(f"max_task_retries must be >= -1, got {self.max_task_retries}")
        if not self.start_timeout_s > 0:
            problems.append(f"start_timeout_s must be > 0, got {self.start_timeout_s}")
        if problems:
            raise ValueError("invalid policy server configuration: " + "; ".join(problems))

    def actor_options(self) -> dict[str, Any]:
        """The Ray actor options this config asks for."""
        options: dict[str, Any] = {
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "max_concurrency": self.max_concurrency,
            "max_restarts": self.max_restarts,
            "max_task_retries": self.max_task_retries,
        }
        if self.name:
            options["name"] = self.name
        return options


@dataclass(frozen=True)
class HFPolicyFactory:
    """Builds an ``HFPolicy`` where it is called: pickled to the actor, the model loads in the actor."""

    config: HFPolicyConfig

    def __call__(self) -> Policy:
        from prover.hf_policy import HFPolicy

        return HFPolicy(self.config)


class PolicyServer:
    """Serves ``propose`` for many concurrent callers from one policy, in dynamic batches.

    ``factory()`` is called once, here, to build the policy. Raises whatever the factory raises (for
    ``HFPolicyFactory``: ``ModelLoadError``). ``close()`` stops batching and closes the policy if it has a
    ``close`` method.
    """

    def __init__(self, factory: PolicyFactory, config: PolicyServerConfig) -> None:
        self.config = config
        self.policy = factory()
        self._batching = BatchingPolicy(
            self.policy, max_batch_states=config.max_batch_states, max_wait_ms=config.max_wait_ms
        )
        logger.info("policy server ready: %s, %s", type(self.policy).__name__, config)

    def ready(self) -> bool:
        """True once the policy is built (a cheap call to wait for the actor's start)."""
        return True

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        """``Policy.propose``, batched with concurrent callers; see ``BatchingPolicy.propose``."""
        return self._batching.propose(states, n)

    def stats(self) -> BatchingStats:
        """Requests, batches, states served and the mean batch size so far."""
        return self._batching.stats()

    def close(self) -> None:
        """Fail pending requests, stop the dispatcher and close the policy; idempotent."""
        self._batching.close()
        close = getattr(self.policy, "close", None)
        if callable(close):
            close()


def start_policy_server(factory: PolicyFactory, config: PolicyServerConfig, *, wait: bool = True) -> Any:
    """Start a ``PolicyServer`` actor on the connected Ray cluster and return its handle.

    With ``wait``, block until the policy is built (at most ``config.start_timeout_s`` seconds); a factory
    that raises surfaces here as Ray's actor-died error carrying the cause; a timeout raises
    ``ray.exceptions.GetTimeoutError``.
    """
    import ray

    actor_class = ray.remote(PolicyServer)
    handle = actor_class.options(**config.actor_options()).remote(factory, config)
    if wait:
        ray.get(handle.ready.remote(), timeout=config.start_timeout_s)
    return handle


class RemotePolicy:
    """A ``Policy`` backed by a ``PolicyServer`` actor; picklable, usable from any Ray worker.

    ``timeout_s`` bounds each ``propose`` (``None``: no bound; Ray's ``GetTimeoutError`` when exceeded).
    Errors raised by the server's policy reach the caller as Ray task errors that are also instances of
    the original exception type.
    """

    def __init__(self, handle: Any, *, timeout_s: float | None = None) -> None:
        self.handle = handle
        self.timeout_s = timeout_s

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        import ray

        return ray.get(self.handle.propose.remote(list(states), n), timeout=self.timeout_s)

    def stats(self) -> BatchingStats:
        import ray

        return ray.get(self.handle.stats.remote(), timeout=self.timeout_s)
