"""The Coq backend (the ``search.Backend`` protocol): sessions, the safety filter, proof text, coqc."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Sequence

from search.backends.coq.audit_pool import AuditPool
from search.backends.coq.clock import without_clock
from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.header_freshness import audit_prepare, check_header_statement
from search.backends.coq.header_pool import CoqtopPool
from search.backends.coq.header_text import canonical_header, header_sentences
from search.backends.coq.imports import library_requires, statement_check, statement_signature
from search.backends.coq.launch import INSTALL_FIX
from search.backends.coq.safety import check_coq_tactic, check_coq_theorem
from search.backends.coq.sentences import tactic_sentence
from search.backends.coq.session import CoqSession
from search.backends.coq.verify import compile_and_check, require_programs
from search.backends.process import STDOUT, ManagedProcess, ProcessError
from search.errors import BackendUnavailableError, InvalidTheoremError
from search.types import Theorem, Verdict

logger = logging.getLogger(__name__)


class CoqBackend:
    """Opens ``CoqSession``s, filters tactics, renders and verifies whole proofs.

    Keeps idle coqtops at the state after each header it met (``header_pool``, at most
    ``config.keep_coqtops``), so that the next theorem with that header starts without loading it; a
    session uses its coqtop alone. Each verification runs its own coqc; the axiom audit that follows is
    asked of a persistent audit coqtop (``audit_pool``, replaced every ``config.audit_reuse`` proofs) or,
    with ``audit_reuse == 0``, of a fresh one. ``close()`` kills the idle ones.
    """

    name = "coq"

    def __init__(self, config: CoqBackendConfig | None = None) -> None:
        self.config = config or CoqBackendConfig()
        self.pool = CoqtopPool(self.config)
        self.auditors = AuditPool(self.config) if self.config.audit_reuse > 0 else None

    def open(self, theorem: Theorem) -> CoqSession:
        """Start a session; raises ``InvalidTheoremError`` or ``BackendUnavailableError``."""
        return CoqSession(theorem, self.config, pool=self.pool)

    def check_tactic(self, tactic: str) -> str | None:
        return check_coq_tactic(tactic)

    def render_proof(self, theorem: Theorem, tactics: Sequence[str]) -> str:
        """The whole ``.v`` text: header, the backend's imports, statement, ``Proof.``, one tactic sentence
        a line, ``Qed.``. With imports, the statement is also stated under the header alone and checked
        to be the same proposition (``imports.py``)."""
        header = canonical_header(theorem.header)  # as the filter read it: no comment can hide a sentence
        lines = [header, ""] if header else []
        if self.config.imports:
            lines += statement_signature(theorem.statement)
            lines += [*self.config.imports, ""]
        lines += [theorem.statement.strip(), "Proof."]
        lines += [f"  {tactic_sentence(without_clock(t))}" for t in tactics]  # clock.py: why
        lines.append("Qed.")
        if self.config.imports:
            lines += statement_check(theorem.name)
        return "\n".join(lines) + "\n"

    def verify(self, theorem: Theorem, tactics: Sequence[str]) -> Verdict:
        """Check the proof with coqc from scratch; refused text is never compiled.

        Raises ``BackendUnavailableError`` when coqc is missing.
        """
        reason = check_coq_theorem(theorem.name, theorem.header, theorem.statement)
        if reason is not None:
            return Verdict(False, (f"theorem refused: {reason}",))
        for index, tactic in enumerate(tactics, start=1):
            reason = check_coq_tactic(tactic)
            if reason is not None:
                return Verdict(False, (f"tactic {index} ({tactic!r}) refused: {reason}",))
        text = self.render_proof(theorem, tactics)
        if self.auditors is None:
            verdict = compile_and_check(text, theorem.name, self.config,
                                        prepare=audit_prepare(theorem, self.config))
        else:
            verdict = self._check_with_auditors(theorem, text, self.auditors)
        logger.debug("%s: verified=%s %s", theorem.name, verdict.ok, verdict.messages)
        return verdict

    def _check_with_auditors(self, theorem: Theorem, text: str, auditors: AuditPool) -> Verdict:
        """The header's freshness check (its shadows are remembered once a session or a check loaded
        it), then coqc and the persistent audit, which loads the header's and the imports' libraries."""
        require_programs(self.config)
        try:
            check_header_statement(theorem, self.config, auditors.directory())
        except InvalidTheoremError as exc:
            return Verdict(False, (f"theorem refused: {exc.reason}",), proof_text=text)
        except ProcessError as exc:
            return Verdict(False, (f"the header check did not finish: {exc}",), proof_text=text)
        libraries = library_requires([*header_sentences(theorem.header), *self.config.imports])
        return compile_and_check(text, theorem.name, self.config, auditors=auditors, libraries=libraries)

    def close(self) -> None:
        """Kill the idle coqtops; open sessions keep theirs until they close. Idempotent."""
        self.pool.close()
        if self.auditors is not None:
            self.auditors.close()

    def __enter__(self) -> CoqBackend:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def version(self) -> str:
        """Coq's version (``8.16.1``), for diagnostics; raises ``BackendUnavailableError``."""
        return coq_version(self.config)


def coq_version(config: CoqBackendConfig | None = None) -> str:
    """Ask ``coqc --version`` which Coq is installed; raises ``BackendUnavailableError`` if none runs."""
    config = config or CoqBackendConfig()
    path = shutil.which(config.coqc)
    if path is None or shutil.which(config.coqtop) is None:
        raise BackendUnavailableError("coq", f"{config.coqtop!r}/{config.coqc!r} not found", INSTALL_FIX)
    try:
        with ManagedProcess([path, "--version"], name="coqc") as process:
            line, _ = process.read_until(STDOUT, b"\n", 30.0)
    except (OSError, ProcessError) as exc:
        raise BackendUnavailableError("coq", f"{path} --version failed: {exc}", INSTALL_FIX) from exc
    match = re.search(r"version (\S+)", line)
    return match.group(1) if match else line.strip()
