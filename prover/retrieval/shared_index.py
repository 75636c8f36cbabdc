"""A retrieval policy whose index is built once, by the driver, and shared with every sweep worker through
Ray's object store: a worker unpickles it (about a second for the standard library's 55k states) instead
of reading the corpus and fitting the vectoriser again (about 25 s each)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from prover.retrieval.policy import RetrievalConfig, config_index, retrieval_policy
from search.protocols import Policy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SharedIndexPolicy:
    """A picklable policy factory (``prover.sweep.worker.PolicyFactory``): ``index_ref`` is the Ray object
    reference of a ``RetrievalIndex``; calling it, in a worker, builds ``retrieval_policy`` over that index
    with ``config``'s settings. ``label`` names the policy in the sweep's records. The driver keeps the
    reference alive while the sweep runs."""

    index_ref: Any
    config: RetrievalConfig
    assistant: str
    label: str

    def __call__(self) -> Policy:
        import ray

        return retrieval_policy(ray.get(self.index_ref), self.config, self.assistant)


def share_index(config: RetrievalConfig, assistant: str, label: str) -> SharedIndexPolicy:
    """Build ``config``'s index here, once (``config_index``), put it in Ray's object store (Ray must be
    connected) and return the factory that gives each worker the shared copy. Its policies are those
    ``build_retrieval_policy`` builds, fingerprint included. Raises ``InputError`` naming the corpus or
    pair file when it has no usable row."""
    import ray

    started = time.perf_counter()
    index = config_index(config, assistant)
    index.digest  # noqa: B018 -- hashed once here, so that no worker hashes every entry for the fingerprint
    ref = ray.put(index)
    logger.info("retrieval index of %s built once for every worker: %d states in %.1f s", config.corpus,
                len(index), time.perf_counter() - started)
    return SharedIndexPolicy(ref, config, assistant, label)
