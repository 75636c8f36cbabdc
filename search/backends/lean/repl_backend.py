"""``LeanReplBackend``: the Backend protocol over a pool of Lean REPL processes.

Nothing starts when the backend is built; the first ``open`` or ``verify`` spawns a REPL. ``close()``
kills every process of the pool (use the backend as a context manager).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from search.backends.lean.pool import ReplPool
from search.backends.lean.repl_config import LeanReplConfig
from search.backends.lean.repl_messages import ReplProtocolError
from search.backends.lean.repl_process import ReplProcess
from search.backends.lean.repl_session import LeanReplSession, open_session
from search.backends.lean.repl_verify import verify_in_process
from search.backends.lean.safety import check_lean_proof_tactic, check_lean_tactic, check_lean_theorem
from search.backends.process import ProcessError, ProcessTimeout
from search.errors import InvalidTheoremError
from search.lean_proof import lean_theorem_text
from search.types import Theorem, Verdict

logger = logging.getLogger(__name__)


class LeanReplBackend:
    """Lean 4 through leanprover-community/repl: sessions in tactic mode, whole-proof verification."""

    name = "repl"

    def __init__(self, config: LeanReplConfig | None = None) -> None:
        self.config = config or LeanReplConfig()
        self.pool = ReplPool(self.config)

    def open(self, theorem: Theorem) -> LeanReplSession:
        """Check the theorem (``check_lean_theorem``) and open it in a pooled REPL.

        Raises ``InvalidTheoremError`` (refused, or Lean rejects the statement or header) and
        ``BackendUnavailableError`` (no REPL, or the project cannot import the header).
        """
        check_lean_theorem(theorem)
        return open_session(self.pool, theorem, self.config)

    def check_tactic(self, tactic: str) -> str | None:
        return check_lean_tactic(tactic)

    def render_proof(self, theorem: Theorem, tactics: Sequence[str]) -> str:
        return lean_theorem_text(theorem.header, theorem.statement, tactics)

    def verify(self, theorem: Theorem, tactics: Sequence[str]) -> Verdict:
        """Check the whole proof from the header up (see ``repl_verify``). A refused theorem or tactic
        (``check_lean_proof_tactic``: a planner's assembled ``have`` block is not refused for its length
        alone), a Lean error, a sorry, a disallowed axiom, a crash or a timeout are all ``ok=False``."""
        if not tactics:
            return Verdict(False, ("an empty proof",))
        text = self.render_proof(theorem, tactics)
        try:
            check_lean_theorem(theorem)
        except InvalidTheoremError as exc:
            return Verdict(False, (exc.reason,), proof_text=text)
        for tactic in tactics:  # a planner's assembled `have` block is checked part by part
            reason = check_lean_proof_tactic(tactic)
            if reason is not None:
                return Verdict(False, (f"tactic {tactic!r} refused: {reason}",), proof_text=text)
        if self.config.verify_in_fresh_process:
            return self._verify_fresh(theorem, tactics, text)
        proc = self.pool.acquire()
        failed = False
        try:
            return self._check(proc, theorem, tactics)
        except (ProcessError, ReplProtocolError) as exc:
            failed = True
            return _failed_verdict(exc, text)
        finally:
            self.pool.release(proc, failed=failed)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> LeanReplBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _verify_fresh(self, theorem: Theorem, tactics: Sequence[str], text: str) -> Verdict:
        proc = ReplProcess(self.config, slot=-1)
        try:
            proc.start()
            return self._check(proc, theorem, tactics)
        except (ProcessError, ReplProtocolError) as exc:
            return _failed_verdict(exc, text)
        finally:
            proc.close()

    def _check(self, proc: ReplProcess, theorem: Theorem, tactics: Sequence[str]) -> Verdict:
        return verify_in_process(proc, theorem, tactics, config=self.config)


def _failed_verdict(exc: ProcessError | ReplProtocolError, text: str) -> Verdict:
    what = "timed out" if isinstance(exc, ProcessTimeout) else "failed"
    logger.warning("verification %s: %s", what, exc)
    return Verdict(False, (f"verification {what}: {exc}",), proof_text=text)
