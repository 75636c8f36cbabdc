"""A retrieval policy whose index is built once, by the driver, and shared with every sweep worker through
Ray's object store: a worker unpickles it (about a second for the standard library's 55k states) instead
of reading the corpus and fitting the vectoriser again (about 25 s each). With library premises
(``premise_weight`` and ``library_premises`` > 0) the library's lemmas are shared the same way, so no
worker opens the corpus at all (on a cluster, only the driver's machine may hold it)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from prover.retrieval.policy import RetrievalConfig, config_index, library_policy, retrieval_policy
from search.protocols import Policy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SharedIndexPolicy:
    """A picklable policy factory (``prover.sweep.worker.PolicyFactory``): ``index_ref`` is the Ray object
    reference of a ``RetrievalIndex``; calling it, in a worker, builds ``retrieval_policy`` over that index
    with ``config``'s settings. ``label`` names the policy in the sweep's records. ``library_ref``, when
    given, is the reference of the ``LibraryPremisePolicy`` the header theorems' library premises use
    (``None``: the worker reads the corpus for them, when ``config`` asks for them). The driver keeps the
    references alive while the sweep runs."""

    index_ref: Any
    config: RetrievalConfig
    assistant: str
    label: str
    library_ref: Any = None

    def __call__(self) -> Policy:
        import ray

        library = None if self.library_ref is None else ray.get(self.library_ref)
        return retrieval_policy(ray.get(self.index_ref), self.config, self.assistant, library=library)


def share_index(config: RetrievalConfig, assistant: str, label: str) -> SharedIndexPolicy:
    """Build ``config``'s index here, once (``config_index``), and with library premises its library
    premise policy (``library_policy``), put them in Ray's object store (Ray must be connected) and return
    the factory that gives each worker the shared copies. Its policies are those
    ``build_retrieval_policy`` builds, fingerprint included. Raises ``InputError`` naming the corpus or
    pair file when it has no usable row."""
    import ray

    started = time.perf_counter()
    index = config_index(config, assistant)
    index.digest  # noqa: B018 -- hashed once here, so that no worker hashes every entry for the fingerprint
    ref = ray.put(index)
    library_ref = share_library(config, assistant)
    logger.info("retrieval index of %s built once for every worker: %d states%s in %.1f s", config.corpus,
                len(index), "" if library_ref is None else " and the library's lemmas",
                time.perf_counter() - started)
    return SharedIndexPolicy(ref, config, assistant, label, library_ref)


def share_library(config: RetrievalConfig, assistant: str) -> Any:
    """The Ray reference of ``config``'s library premise policy (``library_policy``, built here), or
    ``None`` when ``config`` asks for no library premises. Raises ``InputError`` naming the corpus."""
    if assistant != "coq" or config.premise_weight <= 0 or config.library_premises <= 0:
        return None
    import ray

    return ray.put(library_policy(config.corpus, config.corpus_split, config.library_premises))
