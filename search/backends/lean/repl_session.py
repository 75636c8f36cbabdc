"""A proof session over the REPL pool: tactic mode on one theorem, surviving hangs and crashes.

A state's handle is ``ReplStateRef``: the tactic path from the theorem's initial state. Proof-state ids
are only meaningful inside one REPL incarnation, so the session keeps, per incarnation
(``ReplProcess.key``), the id of every path it has there. When a tactic must run on a process that does
not know the state (the process was restarted after a hang, crash or memory blow-up, recycled, or the pool
lent another slot), the session opens the theorem there (header env from the process's cache, then
``statement by sorry``) and replays the path from the longest prefix the process knows.

Failures become results here and nowhere else: a tactic that hangs is ``TacticTimeout``, one that crashes
Lean or outgrows the memory limit is ``TacticError``; the process is then replaced and the session goes on.
Errors of the infrastructure rather than of the tactic (a crash, the memory limit, a REPL or protocol
failure, a state that could not be restored or that the REPL lost twice) are ``TacticError(transient=True)``,
so that no search records a failure on their account (``search.best_first``).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from search.backends.lean.pool import ReplPool
from search.backends.lean.repl_config import SETUP_FIX, LeanReplConfig
from search.backends.lean.repl_messages import ReplProtocolError, ReplResponse, Sorry, TacticResponse
from search.backends.lean.repl_outcome import is_unknown_proof_state, tactic_outcome
from search.backends.lean.repl_process import (
    BACKEND_NAME,
    HeaderError,
    MemoryLimitExceeded,
    ReplProcess,
)
from search.backends.lean.repl_theorem import header_error, open_theorem
from search.backends.lean.safety import check_lean_tactic
from search.backends.process import ProcessDied, ProcessError, ProcessTimeout
from search.backends.start_retry import GAVE_UP, start_with_retries
from search.errors import BackendUnavailableError, InvalidTheoremError, ProverError, TheoremLoadError
from search.types import ProofFinished, TacticError, TacticResult, TacticState, TacticTimeout, Theorem

logger = logging.getLogger(__name__)

Path = tuple[str, ...]
_session_ids = itertools.count()


@dataclass(frozen=True)
class ReplStateRef:
    """Handle of a REPL state: the tactics that lead to it from the initial state of one session."""

    session: int
    path: Path = field(default=())


class ReplayError(ProverError):
    """A state could not be restored in a process. ``process_failed``: the process must be replaced."""

    def __init__(self, message: str, *, process_failed: bool) -> None:
        super().__init__(message)
        self.process_failed = process_failed


def _new_state_id(response: ReplResponse) -> int:
    """The proof-state id of an answer that ``tactic_outcome`` read as a new state (only a tactic answer
    reads so)."""
    assert isinstance(response, TacticResponse), "a new state comes from a tactic answer"
    return response.proof_state


class LeanReplSession:
    """One theorem in tactic mode. Built by ``open_session``; ``close()`` is idempotent."""

    def __init__(self, pool: ReplPool, theorem: Theorem, config: LeanReplConfig,
                 opened_in: ReplProcess, initial: Sorry) -> None:
        assert initial.proof_state is not None
        self.theorem = theorem
        self.config = config
        self._pool = pool
        self._id = next(_session_ids)
        self._initial = TacticState(initial.goal, (initial.goal,), ReplStateRef(self._id))
        self._known: dict[tuple[int, int], dict[Path, int]] = {opened_in.key: {(): initial.proof_state}}
        self._pp: dict[Path, str] = {(): initial.goal}  # what each path printed, checked on replay
        self._timeouts: dict[Path, float] = {}  # the limit each path's last tactic ran under
        self._lock = threading.Lock()  # guards _known's keys: threads may borrow different processes
        self._closed = False

    def initial_state(self) -> TacticState:
        return self._initial

    def run_tactic(self, state: TacticState, tactic: str, *, timeout: float | None = None) -> TacticResult:
        """Run ``tactic`` on ``state`` (any state of this session). Never raises for what Lean does."""
        path = self._path(state)
        reason = check_lean_tactic(tactic)  # text the REPL could not take must not cost it its states
        if reason is not None:
            return TacticError(f"refused before reaching Lean: {reason}")
        limit = self.config.tactic_timeout if timeout is None else timeout
        proc = self._pool.acquire(self._preferred_slots())
        failed = False
        try:
            return self._run(proc, path, tactic, limit)
        except ReplayError as exc:
            failed = exc.process_failed
            return TacticError(f"could not restore the state before the tactic: {exc}", transient=True)
        except (ProcessError, ReplProtocolError) as exc:
            failed = True
            return failure_result(exc, limit)
        finally:
            self._pool.release(proc, failed=failed)

    def close(self) -> None:
        """Forget the session's states. The processes belong to the pool and stay up."""
        self._closed = True
        self._known.clear()

    def _path(self, state: TacticState) -> Path:
        if self._closed:
            raise RuntimeError(f"the session of {self.theorem.name!r} is closed")
        ref = state.handle
        if not isinstance(ref, ReplStateRef) or ref.session != self._id:
            raise ValueError(f"state {state.pp[:80]!r} was not returned by this session")
        return ref.path

    def _run(self, proc: ReplProcess, path: Path, tactic: str, timeout: float) -> TacticResult:
        proof_state = self._restore(proc, path)
        response = proc.tactic(tactic, proof_state, timeout=timeout)
        if is_unknown_proof_state(response):  # the process lost our ids: rebuild them once
            logger.warning("%s does not know proof state %d; replaying", proc.name, proof_state)
            with self._lock:
                self._known.pop(proc.key, None)
            response = proc.tactic(tactic, self._restore(proc, path), timeout=timeout)
        result = tactic_outcome(response)
        if isinstance(result, TacticError) and is_unknown_proof_state(response):  # lost again: not Lean's
            return replace(result, transient=True)
        new_path = (*path, tactic)
        if isinstance(result, TacticState):
            self._known_in(proc)[new_path] = _new_state_id(response)
            self._pp.setdefault(new_path, result.pp)
            self._timeouts[new_path] = timeout
            return replace(result, handle=ReplStateRef(self._id, new_path))
        if isinstance(result, ProofFinished):
            return replace(result, handle=ReplStateRef(self._id, new_path))
        return result

    def _restore(self, proc: ReplProcess, path: Path) -> int:
        """The id of ``path``'s state in ``proc``, replaying what the process does not know yet."""
        known = self._known_in(proc)
        if path in known:
            return known[path]
        try:
            if () not in known:
                opened = open_theorem(proc, self.theorem, self.config)
                assert opened.proof_state is not None, "open_theorem returns a sorry with its proof state"
                known[()] = opened.proof_state
            done = max(i for i in range(len(path) + 1) if path[:i] in known)
            for i in range(done, len(path)):
                known[path[: i + 1]] = self._replay_step(proc, known[path[:i]], path[: i + 1])
        except (ProcessError, ReplProtocolError) as exc:
            raise ReplayError(f"{type(exc).__name__}: {exc}", process_failed=True) from exc
        except (HeaderError, InvalidTheoremError, BackendUnavailableError) as exc:
            raise ReplayError(f"the theorem no longer opens: {exc}", process_failed=False) from exc
        return known[path]

    def _replay_step(self, proc: ReplProcess, proof_state: int, path: Path) -> int:
        timeout = 2 * self._timeouts.get(path, self.config.tactic_timeout)
        response = proc.tactic(path[-1], proof_state, timeout=timeout)
        result = tactic_outcome(response)
        if not isinstance(result, TacticState):
            raise ReplayError(f"replaying {path[-1]!r} (step {len(path)}) gave {result!r}",
                              process_failed=False)
        if result.pp != self._pp.get(path, result.pp):
            logger.warning("replaying %r printed a different state than before", path[-1])
        return _new_state_id(response)

    def _known_in(self, proc: ReplProcess) -> dict[Path, int]:
        """The path -> id map of ``proc``'s incarnation; earlier incarnations of its slot are dropped."""
        slot, generation = proc.key
        with self._lock:
            for key in [k for k in self._known if k[0] == slot and k[1] < generation]:
                del self._known[key]
            known = self._known.pop(proc.key, {})
            self._known[proc.key] = known  # most recently used last
        return known

    def _preferred_slots(self) -> list[int]:
        with self._lock:
            return [slot for slot, _ in reversed(self._known)]


def failure_result(exc: ProcessError | ReplProtocolError, timeout: float) -> TacticResult:
    """The result of a tactic whose process failed: the one boundary where these errors become data."""
    if isinstance(exc, ProcessTimeout):
        return TacticTimeout(timeout)
    if isinstance(exc, MemoryLimitExceeded):
        return TacticError(f"Lean exceeded its memory limit: {exc}", transient=True)
    if isinstance(exc, ProcessDied):
        return TacticError(f"Lean {'ran out of memory' if exc.out_of_memory else 'crashed'}: {exc}",
                           transient=True)
    return TacticError(f"the REPL failed: {exc}", transient=True)


def open_session(pool: ReplPool, theorem: Theorem, config: LeanReplConfig) -> LeanReplSession:
    """Open ``theorem`` in a pooled process; a REPL that dies meanwhile (while starting, or importing
    the header) is replaced and the opening tried again (``start_attempts`` tries in all). Raises
    ``InvalidTheoremError`` when Lean rejects the statement or header, ``BackendUnavailableError`` when
    the REPL cannot start or the project cannot import the header, ``TheoremLoadError`` when the REPL
    works (``repl_answers``) but failed loading this theorem on every try (``load_failure``)."""

    def open_once() -> LeanReplSession:
        with borrowed_process(pool, theorem, "while opening") as proc:
            return LeanReplSession(pool, theorem, config, proc, open_theorem(proc, theorem, config))

    with load_failures(pool, theorem, config):
        return start_with_retries(open_once, attempts=config.start_attempts, backoff=config.start_backoff,
                                  what=f"the Lean REPL opening {theorem.name!r}")


LOAD_TIMEOUT_FIX = ("on a busy machine, raise --repl-import-timeout (the header) or --repl-command-timeout "
                    "(the statement)")


def load_failure(pool: ReplPool, theorem: Theorem, config: LeanReplConfig,
                 error: BackendUnavailableError) -> BackendUnavailableError:
    """``error``, raised by ``borrowed_process`` when a REPL failed (died, hung, garbled its answer)
    loading ``theorem``, as a ``TheoremLoadError`` when a REPL of ``pool`` answers a command without imports
    (``repl_answers``): the REPL works, so the fault is this theorem's (a header whose import kills Lean, a
    statement past its limit), not the backend's. Else ``error`` itself: the REPL cannot work at all. Call
    after the retries, raising the result ``from error.__cause__``."""
    cause = error.__cause__
    if isinstance(error, TheoremLoadError) or not isinstance(cause, (ProcessError, ReplProtocolError)):
        return error
    if not repl_answers(pool, config):
        return error
    fix = LOAD_TIMEOUT_FIX if isinstance(cause, ProcessTimeout) else None
    load = TheoremLoadError(BACKEND_NAME, theorem.name, error.reason, fix)
    if hasattr(error, GAVE_UP):  # retried to the end already: no outer retry starts again
        setattr(load, GAVE_UP, getattr(error, GAVE_UP))
    return load


@contextmanager
def load_failures(pool: ReplPool, theorem: Theorem, config: LeanReplConfig) -> Iterator[None]:
    """Within the block (after its retries): a ``BackendUnavailableError`` becomes ``load_failure``'s
    error, raised from the original's cause."""
    try:
        yield
    except BackendUnavailableError as exc:
        error = load_failure(pool, theorem, config, exc)
        if error is exc:
            raise
        raise error from exc.__cause__


def repl_answers(pool: ReplPool, config: LeanReplConfig) -> bool:
    """Whether a pooled REPL (a started one, else a fresh one) answers a command without imports: the
    REPL itself starts and works. The process is replaced when it fails."""
    try:
        proc = pool.acquire()
    except (BackendUnavailableError, RuntimeError):  # cannot start; the pool is closed
        return False
    failed = True
    try:
        proc.command("", timeout=config.import_timeout)
        failed = False
    except (ProcessError, ReplProtocolError) as exc:
        logger.warning("%s does not answer a command without imports either: %s", proc.name, exc)
    finally:
        pool.release(proc, failed=failed)
    return not failed


class CommandFailed(ProverError):
    """The process failed on a command of the caller's own (the header had imported): the caller reports
    it as data, not as an unavailable backend. Raised inside ``borrowed_process``, the process is given back
    as failed (it is replaced) and the error passes on unchanged."""


@contextmanager
def borrowed_process(pool: ReplPool, theorem: Theorem, doing: str) -> Iterator[ReplProcess]:
    """A pooled process for work on ``theorem``, given back afterwards (recycled if it failed). A header
    Lean refuses becomes ``InvalidTheoremError``; a process or protocol failure becomes
    ``BackendUnavailableError`` ("the REPL failed {doing} {name}"); a ``CommandFailed`` passes on."""
    proc = pool.acquire()
    failed = False
    try:
        yield proc
    except CommandFailed:
        failed = True
        raise
    except HeaderError as exc:
        raise header_error(theorem, exc) from exc
    except (ProcessError, ReplProtocolError) as exc:
        failed = True
        raise BackendUnavailableError(BACKEND_NAME, f"the REPL failed {doing} {theorem.name!r}: {exc}",
                                      SETUP_FIX) from exc
    finally:
        pool.release(proc, failed=failed)
