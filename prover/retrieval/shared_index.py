"""A retrieval policy whose index is built once, by the driver, and shared with every sweep worker through
Ray's object store: a worker unpickles it (about a second for the standard library's 55k states) instead
of reading the corpus and fitting the vectoriser again (about 25 s each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prover.retrieval.policy import RetrievalConfig, retrieval_policy
from search.protocols import Policy


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
