"""Does the proof assistant start? Checked once, up front, before a sweep starts any worker.

Without this check a sweep learns that coqtop is missing from its workers, theorem by theorem. With it, a
proof assistant that cannot start at all is one ``BackendUnavailableError`` (exit 3) before anything runs,
as it is for ``prove``. A process that dies while starting is retried by the backend itself (its
``start_attempts``), so a passing fault does not fail the check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from search import Backend, Theorem

logger = logging.getLogger(__name__)

COQ_PROBE = Theorem("prover_probe", "Theorem prover_probe : True.")


def check_backend_starts(name: str, factory: Callable[[], Backend]) -> None:
    """Build backend ``name`` from ``factory`` and start its proof assistant once (Coq: coqtop in a proof
    and ``coqc --version``; Lean REPL: one REPL process; LeanDojo: nothing, Dojo starts per theorem).
    Raises ``BackendUnavailableError`` with the reason and the fix."""
    backend = factory()
    try:
        probe = _PROBES.get(name)
        if probe is not None:
            probe(backend)
            logger.info("backend %s starts", name)
    finally:
        backend.close()


def _probe_coq(backend: Backend) -> None:
    from search.backends.coq import CoqBackend, coq_version

    if not isinstance(backend, CoqBackend):  # what BACKENDS builds for "coq"
        raise TypeError(f"the coq probe needs a CoqBackend, got {type(backend).__name__}")
    backend.open(COQ_PROBE).close()
    coq_version(backend.config)  # coqc exists and runs (it verifies proofs)


def _probe_repl(backend: Backend) -> None:
    from search.backends.lean import LeanReplBackend

    if not isinstance(backend, LeanReplBackend):  # what BACKENDS builds for "repl"
        raise TypeError(f"the repl probe needs a LeanReplBackend, got {type(backend).__name__}")
    pool = backend.pool
    pool.release(pool.acquire())


_PROBES: dict[str, Callable[[Backend], None]] = {"coq": _probe_coq, "repl": _probe_repl}
