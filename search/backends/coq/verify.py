"""Whole-proof verification with ``coqc``: nothing counts as proved before this passed.

The proof text is compiled from scratch in a fresh temporary directory, followed by
``Print Assumptions NAME.``; the proof is accepted when ``coqc`` exits 0 (so ``Qed`` was accepted) and Coq
says ``Closed under the global context`` (or lists only allowed axioms). An ``Admitted`` theorem shows up
there as an axiom named after the theorem itself.

``coqc`` runs under ``sh`` only to cap its memory with ``ulimit -v`` before it starts (no race with a
later ``prlimit``) and to print its exit status after its output, which is how ``ManagedProcess`` learns
that it finished.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from pathlib import Path

from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.launch import INSTALL_FIX
from search.backends.process import STDOUT, ManagedProcess, ProcessDied, ProcessTimeout
from search.errors import BackendUnavailableError
from search.types import Verdict

logger = logging.getLogger(__name__)

CHECK_FILE = "ProverCheck.v"
CLOSED = "Closed under the global context"
_EXIT = re.compile(rb"@@coqc-exit:(\d+)\n")
_AXIOM_LINE = re.compile(r"^(\S+) : ", re.MULTILINE)
_SCRIPT = 'ulimit -v "$1" 2>/dev/null; shift; "$@" 2>&1; echo "@@coqc-exit:$?"'


def compile_and_check(text: str, name: str, config: CoqBackendConfig) -> Verdict:
    """Compile ``text`` (a whole ``.v`` file proving ``name``) and check the axioms it depends on.

    Raises ``BackendUnavailableError`` when coqc cannot be found; every other outcome is a ``Verdict``.
    """
    try:
        code, output = run_coqc(f"{text.rstrip()}\n\nPrint Assumptions {name}.\n", config)
    except ProcessTimeout:
        return Verdict(False, (f"coqc did not finish within {config.verify_timeout:g} s",), proof_text=text)
    except ProcessDied as exc:
        return Verdict(False, (f"coqc died: {exc}",), proof_text=text)
    if code != 0:
        return Verdict(False, (_errors(output),), proof_text=text)
    return _assumptions_verdict(output, config.allowed_axioms, text)


def run_coqc(text: str, config: CoqBackendConfig) -> tuple[int, str]:
    """Compile ``text`` as a fresh file in a fresh temporary directory; return coqc's exit status and
    its output (stdout and stderr merged, in order).

    Raises ``BackendUnavailableError`` (no coqc), ``ProcessTimeout`` (past ``verify_timeout``) and
    ``ProcessDied``.
    """
    if shutil.which(config.coqc) is None:
        raise BackendUnavailableError("coq", f"coqc not found ({config.coqc!r})", INSTALL_FIX)
    limit = "unlimited" if config.memory_limit_mb is None else str(config.memory_limit_mb * 1024)
    argv = ["sh", "-c", _SCRIPT, "sh", limit, config.coqc, "-q", *config.coq_args, CHECK_FILE]
    with tempfile.TemporaryDirectory(prefix="coq-verify-") as tmp:
        Path(tmp, CHECK_FILE).write_text(text)
        with ManagedProcess(argv, name="coqc", cwd=tmp) as process:
            stdout, _ = process.read_until(STDOUT, _EXIT, config.verify_timeout)
    match = re.search(r"@@coqc-exit:(\d+)\n", stdout)
    assert match is not None, "read_until returned without the exit marker"
    return int(match.group(1)), stdout[: match.start()]


def _errors(output: str) -> str:
    """coqc's error report (from the last ``File ...`` location on), or its whole output."""
    at = output.rfind('File "')
    text = output[at:] if at >= 0 else output
    return text.strip() or "coqc failed without a message"


def _assumptions_verdict(output: str, allowed: tuple[str, ...], text: str) -> Verdict:
    """Read ``Print Assumptions``' answer: closed, or the list of axioms after ``Axioms:``."""
    if CLOSED in output:
        return Verdict(True, proof_text=text)
    at = output.rfind("Axioms:")
    if at < 0:
        return Verdict(False, (f"no Print Assumptions answer in coqc's output: {output[-300:]!r}",),
                       proof_text=text)
    axioms = tuple(_AXIOM_LINE.findall(output[at + len("Axioms:"):]))
    extra = [a for a in axioms if a not in allowed]
    if not extra:
        return Verdict(True, axioms=axioms, proof_text=text)
    return Verdict(False, (f"the proof depends on axioms: {', '.join(extra)}",), axioms, text)
