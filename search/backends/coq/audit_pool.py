"""Persistent audit coqtops: the axiom audit without loading the libraries again for every proof.

A fresh audit coqtop per proof loads Reals and the policy's libraries again with each compiled proof,
and fetches their opaque proofs from disk again, before ``Print Assumptions`` can walk them (most of the
audit's cost, issue 13). An ``Auditor`` is one coqtop that keeps them loaded. It only ever

- ``Require``s libraries (compiled files, without ``Import``: the header's and the backend's imports), in
  its *base* state, which grows as new libraries are met;
- per proof: adds the proof's directory to its load path under the proof's own random root, asks the
  questions of ``audit`` (``Require`` of the compiled proof, ``Print Assumptions``, ``About``), and goes
  ``BackTo`` the base state, which undoes everything the proof's module brought (its constants, its
  names, an option its ``Global Set`` changed).

It never compiles proof text and never runs a tactic, so nothing a proof prints can reach it; each proof
lives under its own root, so no two proofs share a name. Libraries loaded in advance change nothing of
what ``Print Assumptions`` finds (it walks kernel names, and ``Require`` checks each ``.vo`` against what
the proof was compiled with).

An auditor is replaced after ``config.audit_reuse`` proofs (its memory stays bounded), when it dies, when
an answer does not come in time, and when it does not come back to its base state. One that dies while
auditing a proof after earlier ones is replaced and the proof asked again, once: a long-lived process may
die of what is not this proof's doing; a fresh one that dies fails the audit, as before.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterable

from search.backends.coq.audit import AuditAnswer, ask, ask_assumptions, left
from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.coqtop import CoqTop
from search.backends.process import ProcessDied, ProcessError
from search.backends.start_retry import start_with_retries

logger = logging.getLogger(__name__)


class Auditor:
    """One persistent audit coqtop: the libraries it loaded (``Require`` sentences), the state id after
    them (``base``) and how many proofs it audited."""

    def __init__(self, config: CoqBackendConfig, cwd: str) -> None:
        self.config = config
        self.top = CoqTop(config, name="coqtop[audit]", cwd=cwd)
        self.libraries: set[str] = set()
        self.refused: set[str] = set()
        self.base = 0
        self.audits = 0

    @property
    def pid(self) -> int | None:
        return self.top.pid

    def start(self, deadline: float) -> None:
        """Start coqtop, again when it dies while starting (``start_attempts`` tries in all)."""
        start_with_retries(lambda: self.top.start(left(deadline)), attempts=self.config.start_attempts,
                           backoff=self.config.start_backoff, what="coqtop[audit]",
                           retry_if=lambda error: isinstance(error, ProcessDied))
        self.base = self.top.state_id

    def load(self, libraries: Iterable[str], deadline: float) -> None:
        """``Require`` each library sentence not loaded yet, at the base state, which moves past them. One
        Coq refuses is left to the proof's own ``Require`` (which loads what it needs or fails)."""
        for sentence in libraries:
            if sentence in self.libraries or sentence in self.refused:
                continue
            before = self.top.state_id
            reply = self.top.command(sentence, left(deadline))
            if reply.state_id == before or reply.error is not None:
                logger.info("audit coqtop %s cannot load %r: %s", self.pid, sentence, reply.error)
                self.refused.add(sentence)
                continue
            self.libraries.add(sentence)
            self.base = reply.state_id

    def audit(self, directory: str, root: str, name: str, deadline: float) -> AuditAnswer:
        """Map ``directory`` to ``root`` and ask ``ask_assumptions``; the caller goes back to base."""
        self.audits += 1
        quoted = directory.replace('"', '""')
        ask(self.top, f'Add LoadPath "{quoted}" as {root}.', deadline)
        return ask_assumptions(self.top, root, name, deadline)

    def back_to_base(self, timeout: float) -> bool:
        """Go back to the base state; whether coqtop is there, outside every proof."""
        try:
            reply = self.top.command(f"BackTo {self.base}.", timeout)
        except ProcessError as exc:
            logger.info("audit coqtop %s did not go back to its base state: %s", self.pid, exc)
            return False
        return reply.state_id == self.base and reply.proof is None and reply.error is None

    def close(self) -> None:
        self.top.close()


class AuditPool:
    """The auditors of one backend: at most ``keep`` idle ones, in the pool's own temporary directory.
    Thread-safe; each audit uses its auditor alone."""

    def __init__(self, config: CoqBackendConfig, *, keep: int = 1) -> None:
        if config.audit_reuse < 1:
            raise ValueError("an audit pool needs audit_reuse >= 1 (0 means a fresh coqtop per proof)")
        self.config = config
        self.keep = keep
        self._idle: list[Auditor] = []
        self._lock = threading.Lock()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._closed = False
        self.started = 0  # auditors started by this pool

    def directory(self) -> str:
        """Where the pool's coqtops run (``config.workdir``, or the pool's own temporary directory)."""
        if self.config.workdir is not None:
            return self.config.workdir
        with self._lock:
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="coq-audit-")
            return self._tmp.name

    def audit(self, directory: str, root: str, name: str, libraries: tuple[str, ...],
              deadline: float) -> AuditAnswer:
        """Audit the compiled ``root.ProverCheck`` in ``directory`` (see the module docstring). Returns
        ``ask_assumptions``' answer: the axioms ``name`` depends on, the unsafe-definition entries and
        the files the axioms' libraries came from. Raises ``AuditError``, ``AssumptionsError``,
        ``ProcessTimeout`` and ``ProcessDied``."""
        auditor = self._take(deadline)
        while True:
            reused = auditor.audits > 0
            try:
                auditor.load(libraries, deadline)
                found = auditor.audit(directory, root, name, deadline)
            except ProcessDied as exc:
                auditor.close()
                if not reused:
                    raise
                logger.warning("audit coqtop died after %d proofs (%s); auditing %s in a fresh one",
                               auditor.audits - 1, exc, name)
                auditor = self._start(deadline)
                continue
            except ProcessError:
                auditor.close()
                raise
            except BaseException:
                self._give_back(auditor)  # a refused command or an untrusted answer: coqtop is in step
                raise
            self._give_back(auditor)
            return found

    def idle(self) -> list[Auditor]:
        """The idle auditors, oldest first (a snapshot)."""
        with self._lock:
            return list(self._idle)

    def close(self) -> None:
        """Kill the idle auditors and remove the pool's directory; later give-backs kill theirs.
        Idempotent."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            tmp, self._tmp = self._tmp, None
        for auditor in idle:
            auditor.close()
        if tmp is not None:
            tmp.cleanup()

    def _take(self, deadline: float) -> Auditor:
        while True:
            with self._lock:
                auditor = self._idle.pop() if self._idle else None
            if auditor is None:
                return self._start(deadline)
            if auditor.top.alive and auditor.top.state_id == auditor.base:
                return auditor
            logger.info("audit coqtop %s died while idle; starting another", auditor.pid)
            auditor.close()

    def _start(self, deadline: float) -> Auditor:
        auditor = Auditor(self.config, self.directory())
        auditor.start(deadline)
        with self._lock:
            self.started += 1
        return auditor

    def _give_back(self, auditor: Auditor) -> None:
        """Back to base and idle, or closed: when that fails, it has audited ``audit_reuse`` proofs, the
        pool is full or closed."""
        if (self._closed or auditor.audits >= self.config.audit_reuse or not auditor.top.alive
                or not auditor.back_to_base(self.config.replay_timeout)):
            auditor.close()
            return
        with self._lock:
            if not self._closed and len(self._idle) < self.keep:
                self._idle.append(auditor)
                return
        auditor.close()
