"""Does the proof assistant start? Checked once, up front, before a sweep starts any worker.

Without this check a sweep learns that coqtop is missing from its workers, theorem by theorem. With it, a
proof assistant that cannot start at all is one ``BackendUnavailableError`` (exit 3) before anything runs,
as it is for ``prove``. A process that dies while starting is retried by the backend itself (its
``start_attempts``), so a passing fault does not fail the check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from prover.theorem_input import InputError
from search import Backend, Theorem
from search.backends.process import ProcessDied, ProcessTimeout
from search.errors import BackendUnavailableError, InvalidTheoremError, TheoremLoadError

logger = logging.getLogger(__name__)

COQ_PROBE = Theorem("prover_probe", "Theorem prover_probe : True.")


def check_backend_starts(name: str, factory: Callable[[], Backend]) -> None:
    """Build backend ``name`` from ``factory`` and start its proof assistant once (Coq: coqtop in a proof
    and ``coqc --version``; Lean REPL: one REPL process; LeanDojo: nothing, Dojo starts per theorem).
    Raises ``BackendUnavailableError`` with the reason and the fix (Coq: also a library the backend's
    imports need that is not installed), ``InputError`` for a setup the proof assistant refuses for another
    reason (Coq: an import of an installed library that fails)."""
    backend = factory()
    try:
        probe = _PROBES.get(name)
        if probe is not None:
            probe(backend)
            logger.info("backend %s starts", name)
    finally:
        backend.close()


def _probe_coq(backend: Backend) -> None:
    """Open the probe theorem (no header: coqtop loads only the backend's own imports and settings) and
    run ``coqc --version``. The probe is no theorem of the user's: its failures are the backend's
    (``BackendUnavailableError``: coqtop does not start, or a library its imports need is not installed,
    ``launch.missing_library``) or its configuration's (``InputError``), named by their options."""
    from search.backends.coq import CoqBackend, coq_version

    if not isinstance(backend, CoqBackend):  # what BACKENDS builds for "coq"
        raise TypeError(f"the coq probe needs a CoqBackend, got {type(backend).__name__}")
    config = backend.config
    try:
        backend.open(COQ_PROBE).close()
    except TheoremLoadError as exc:
        if isinstance(exc.__cause__, ProcessTimeout):
            raise BackendUnavailableError(
                "coq", f"coqtop did not start within --coq-start-timeout {config.start_timeout:g} s (it "
                       "answered, but did not load the backend's imports and settings in time)",
                exc.fix) from exc
        raise BackendUnavailableError("coq", "coqtop died while starting, loading the backend's imports "
                                             f"and settings{_death(exc.__cause__)}", exc.fix) from exc
    except InvalidTheoremError as exc:  # nothing of the user's was loaded: the setup is at fault
        raise InputError(f"Coq refuses the backend's own setup, before any theorem: {exc.reason} (check "
                         "--coq-imports and --coq-coq-args)") from exc
    coq_version(config)  # coqc exists and runs (it verifies proofs)


def _death(cause: BaseException | None) -> str:
    """How a process died, without its name (the probe's, not a theorem of the user's)."""
    if not isinstance(cause, ProcessDied):
        return ""
    tail = cause.stderr_tail.strip()[-500:]
    return f" (exit code {cause.returncode})" + (f": {tail}" if tail else "")


def _probe_repl(backend: Backend) -> None:
    from search.backends.lean import LeanReplBackend

    if not isinstance(backend, LeanReplBackend):  # what BACKENDS builds for "repl"
        raise TypeError(f"the repl probe needs a LeanReplBackend, got {type(backend).__name__}")
    pool = backend.pool
    pool.release(pool.acquire())


_PROBES: dict[str, Callable[[Backend], None]] = {"coq": _probe_coq, "repl": _probe_repl}
