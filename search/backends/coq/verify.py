"""Whole-proof verification: nothing counts as proved before this passed.

Two processes, so that no proof text can write the verdict:

1. ``coqc`` compiles the proof text, alone, in a fresh temporary directory, to a ``.vo`` under a logical
   root with a random name. Its output is read only for its exit status and, on failure, the error to
   report: a tactic may print anything there (``idtac "Closed under the global context"``) and it is
   never read as a verdict.
2. A coqtop that only loads compiled files answers ``Print Assumptions`` on the theorem (``audit``: it
   ``Require``s the compiled file, never ``Load``s it, so no tactic runs) and ``About`` on each axiom it
   lists, which gives the axiom's kernel name. Everything this coqtop prints answers a command this
   package wrote; the parse fails closed (``assumptions``). With an ``AuditPool`` that coqtop is a
   persistent one that keeps the libraries loaded between proofs and goes back to its state after them
   after each proof (``audit_pool``); without one, a fresh coqtop per proof.

The proof is accepted when the file compiles (so ``Qed`` was accepted) and every axiom it depends on is
in ``allowed_axioms`` (by default the axioms the standard library and the benchmark libraries declare,
``axioms.LIBRARY_AXIOMS``). The theorem itself ``Admitted``, a lemma admitted on the way, or a definition
that skipped a kernel check (``Unset Guard Checking`` and the like) shows up as an assumption that is not
allowed. ``Verdict.axioms`` names every axiom the proof uses by its kernel name.

``coqc`` runs under ``sh`` only to cap its memory with ``ulimit -v`` before it starts (no race with a
later ``prlimit``) and to print its exit status after its output, which is how ``ManagedProcess`` learns
that it finished.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from search.backends.coq.assumptions import CLOSED, AssumptionsError
from search.backends.coq.audit import CHECK_MODULE, AuditAnswer, AuditError, ask_assumptions, left
from search.backends.coq.audit_pool import AuditPool
from search.backends.coq.axioms import LIBRARY_AXIOMS
from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.coqtop import CoqTop
from search.backends.coq.launch import INSTALL_FIX
from search.backends.process import STDOUT, ManagedProcess, ProcessDied, ProcessTimeout
from search.backends.start_retry import start_with_retries
from search.errors import BackendUnavailableError, InvalidTheoremError
from search.types import Verdict

logger = logging.getLogger(__name__)

__all__ = ["CHECK_FILE", "CLOSED", "AuditError", "compile_and_check", "require_programs", "run_coqc"]

CHECK_FILE = f"{CHECK_MODULE}.v"
_EXIT = re.compile(rb"@@coqc-exit:(\d+)\n")
_SCRIPT = 'ulimit -v "$1" 2>/dev/null; shift; "$@" 2>&1; echo "@@coqc-exit:$?"'

# Runs in the fresh auditing coqtop before the compiled proof is loaded (the header's freshness check);
# may raise AuditError or InvalidTheoremError to reject the proof.
Prepare = Callable[[CoqTop, float], None]


def compile_and_check(text: str, name: str, config: CoqBackendConfig, *, prepare: Prepare | None = None,
                      auditors: AuditPool | None = None, libraries: tuple[str, ...] = (),
                      output_check: Callable[[str], str | None] | None = None,
                      own_axioms: tuple[str, ...] = ()) -> Verdict:
    """Compile ``text`` (a whole ``.v`` file proving ``name`` at its top level) and audit the axioms
    the theorem depends on in a separate coqtop: one of ``auditors``, which first loads ``libraries``
    (``Require`` sentences) if it has not yet, or else a fresh one. ``prepare(coqtop, seconds_left)``
    runs in a fresh auditing coqtop first and may raise ``AuditError`` or ``InvalidTheoremError`` to
    reject the proof; it cannot be given with ``auditors`` (a persistent coqtop only loads compiled
    files: check the header before, ``header_freshness.check_header_statement``). ``output_check`` reads
    coqc's output of a compiled file and may name a reason to reject it: a rejection only, since the proof
    can print text too (it must read only what its own commands printed after the proof, e.g. behind a
    marker the proof could not know). ``own_axioms``: axioms ``text`` itself declares (by their path in
    the file) that count as allowed, for a caller whose text before the proof is trusted and re-declares
    library axioms (the stdlib benchmark replaying ``FunctionalExtensionality.v``); a proof cannot declare
    one, since no tactic may run a command.

    Raises ``BackendUnavailableError`` when coqc or coqtop cannot be found; every other outcome is a
    ``Verdict``.
    """
    if prepare is not None and auditors is not None:
        raise ValueError("prepare runs in a fresh audit coqtop; check the header before using auditors")
    require_programs(config)
    deadline = time.monotonic() + config.verify_timeout
    root = f"ProverVerify{secrets.token_hex(6)}"
    with tempfile.TemporaryDirectory(prefix="coq-verify-") as tmp:
        try:
            code, output = run_coqc(text, config, directory=tmp, root=root)
        except ProcessTimeout:
            return _failed(f"coqc did not finish within {config.verify_timeout:g} s", text)
        except ProcessDied as exc:
            return _failed(f"coqc died: {exc}", text)
        if code != 0:
            return _failed(_errors(output), text)
        if output_check is not None and (reason := output_check(output)) is not None:
            return _failed(reason, text)
        try:
            if auditors is not None:
                axioms, unsafe, files = auditors.audit(tmp, root, name, libraries, deadline)
            else:
                axioms, unsafe, files = _audit(tmp, root, name, config, deadline, prepare)
        except ProcessTimeout:
            return _failed(f"the axiom audit did not finish within {config.verify_timeout:g} s", text)
        except ProcessDied as exc:
            return _failed(f"coqtop died during the axiom audit: {exc}", text)
        except (AuditError, AssumptionsError) as exc:
            return _failed(f"axiom audit failed: {exc}", text)
    misplaced = misplaced_library_axioms(files, config.allowed_axioms, config.coqc)
    allowed = (*config.allowed_axioms, *(f"{root}.{CHECK_MODULE}.{axiom}" for axiom in own_axioms))
    return _judge(axioms, unsafe, f"{root}.{CHECK_MODULE}.{name}", allowed, text, misplaced)


def require_programs(config: CoqBackendConfig) -> None:
    """Raise ``BackendUnavailableError`` unless both coqc and coqtop can be found."""
    for program in (config.coqc, config.coqtop):
        if shutil.which(program) is None:
            raise BackendUnavailableError("coq", f"{program!r} not found", INSTALL_FIX)


def run_coqc(text: str, config: CoqBackendConfig, *, directory: str | None = None,
             root: str | None = None) -> tuple[int, str]:
    """Compile ``text`` as ``ProverCheck.v`` in ``directory`` (default: a fresh temporary one, deleted
    after), as module ``root.ProverCheck`` when ``root`` is given; return coqc's exit status and its
    output (stdout and stderr merged, in order). The output is proof-controlled text: never read a
    verdict from it.

    Raises ``BackendUnavailableError`` (no coqc), ``ProcessTimeout`` (past ``verify_timeout``) and
    ``ProcessDied``.
    """
    if shutil.which(config.coqc) is None:
        raise BackendUnavailableError("coq", f"coqc not found ({config.coqc!r})", INSTALL_FIX)
    if directory is None:
        with tempfile.TemporaryDirectory(prefix="coq-verify-") as tmp:
            return run_coqc(text, config, directory=tmp, root=root)
    limit = "unlimited" if config.memory_limit_mb is None else str(config.memory_limit_mb * 1024)
    mapping = ("-Q", directory, root) if root is not None else ()
    argv = ["sh", "-c", _SCRIPT, "sh", limit, config.coqc, "-q", *config.coq_args, *mapping, CHECK_FILE]
    Path(directory, CHECK_FILE).write_text(text)
    with ManagedProcess(argv, name="coqc", cwd=directory) as process:
        stdout, _ = process.read_until(STDOUT, _EXIT, config.verify_timeout)
    match = re.search(r"@@coqc-exit:(\d+)\n", stdout)
    assert match is not None, "read_until returned without the exit marker"
    return int(match.group(1)), stdout[: match.start()]


def _audit(directory: str, root: str, name: str, config: CoqBackendConfig, deadline: float,
           prepare: Prepare | None) -> AuditAnswer:
    """In a fresh coqtop that maps ``directory`` to ``root``: ``prepare``, then ``ask_assumptions``."""
    audit_config = dataclasses.replace(config, coq_args=(*config.coq_args, "-Q", directory, root))
    top = CoqTop(audit_config, name=f"coqtop[audit {name}]", cwd=directory)
    try:
        start_with_retries(lambda: top.start(left(deadline)), attempts=config.start_attempts,
                           backoff=config.start_backoff, what=f"coqtop[audit {name}]",
                           retry_if=lambda error: isinstance(error, ProcessDied))
        if prepare is not None:
            try:
                prepare(top, left(deadline))
            except InvalidTheoremError as exc:
                raise AuditError(f"theorem refused: {exc.reason}") from exc
        return ask_assumptions(top, root, name, deadline)
    finally:
        top.close()


def misplaced_library_axioms(files: dict[str, str], allowed: tuple[str, ...], coqc: str) -> list[str]:
    """The allowed standard-library axioms (``LIBRARY_AXIOMS``) among ``files``' whose library was not
    loaded from the installed libraries (under ``coqc -where``): a file that a load path (``-Q``/``-R``,
    ``COQPATH``) maps onto ``Coq.Logic`` can declare ``Coq.Logic.Classical_Prop.classic : False``. Each
    as "NAME (from FILE)"."""
    root = installed_root(coqc)
    problems = []
    for kernel, file in sorted(files.items()):
        if kernel not in allowed or kernel not in LIBRARY_AXIOMS:
            continue
        if not root or not file or not Path(file).resolve().is_relative_to(root):
            problems.append(f"{kernel} (from {file or 'no located library'})")
    return problems


# Environment variables that move what ``coqc -where`` answers: the installed root is asked without them.
_ROOT_VARIABLES = ("COQLIB", "COQCORELIB", "ROCQLIB")


def installed_root(coqc: str) -> Path | None:
    """``coqc -where``, resolved: where the installed libraries (``theories``, ``user-contrib``) are. Asked
    without ``COQLIB`` and its kin, which would make any folder the "installed" library (a copy whose
    ``Classical_Prop`` declares ``classic : False``); a coqtop that honours them loads its library from
    that folder, and the audit then finds the axioms outside the installed root."""
    if coqc in _ROOTS:
        return _ROOTS[coqc]
    env = {key: value for key, value in os.environ.items() if key not in _ROOT_VARIABLES}
    try:
        where = subprocess.run([coqc, "-where"], capture_output=True, text=True, timeout=60, check=True,
                               env=env)
    except (OSError, subprocess.SubprocessError) as exc:  # not remembered: the next proof asks again
        logger.warning("`%s -where` failed (%s): no standard-library axiom can be trusted", coqc, exc)
        return None
    _ROOTS[coqc] = Path(where.stdout.strip()).resolve()
    return _ROOTS[coqc]


_ROOTS: dict[str, Path] = {}  # coqc -> its installed root, once known


def _judge(axioms: dict[str, str], unsafe: tuple[str, ...], target: str, allowed: tuple[str, ...],
           text: str, misplaced: list[str]) -> Verdict:
    """Accept when every axiom is allowed and every allowed library axiom comes from the installed
    library; say which do not, and whether the theorem is admitted."""
    used = tuple(sorted(axioms))
    problems = []
    if misplaced:
        problems.append("the proof depends on standard-library axiom names declared outside the installed "
                        f"libraries: {', '.join(misplaced)}")
    if target in axioms:
        problems.append("the theorem itself is admitted (it is an axiom of its own proof)")
    if unsafe:
        problems.append("the proof relies on definitions that skipped a kernel check: " + "; ".join(unsafe))
    extra = [a for a in used if a not in set(allowed) and a != target]
    if extra:
        problems.append(f"the proof depends on axioms that are not allowed: {', '.join(extra)}")
    return Verdict(not problems, tuple(problems), used, text)


def _failed(message: str, text: str) -> Verdict:
    return Verdict(False, (message,), proof_text=text)


def _errors(output: str) -> str:
    """coqc's error report (from the last ``File ...`` location on), or its whole output."""
    at = output.rfind('File "')
    text = output[at:] if at >= 0 else output
    return text.strip() or "coqc failed without a message"
