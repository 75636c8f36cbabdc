"""The axiom audit's questions to a coqtop that only loads compiled files.

Asked of the compiled proof module ``ROOT.ProverCheck`` (``verify``): ``Require`` it (never ``Load``: no
tactic runs when a ``.vo`` is loaded), ``Print Assumptions`` on the theorem, then ``About`` on each axiom
listed, which gives the axiom's kernel name, and ``Locate Library`` on its library, which gives the
compiled file that declared it (an allowed name must come from the installed library, not from a file a
load path maps onto ``Coq``). Everything the coqtop prints answers one of these commands; the parse fails
closed (``assumptions``). The same questions are asked by a fresh coqtop per proof and by
a persistent one (``audit_pool``).
"""

from __future__ import annotations

import re
import time

from search.backends.coq.assumptions import parse_about_constant, parse_assumptions
from search.backends.coq.axioms import LIBRARY_AXIOMS
from search.backends.coq.coqtop import CoqTop, Reply
from search.errors import ProverError

CHECK_MODULE = "ProverCheck"
_LOADED_FROM = re.compile(r"has been loaded from file\s+(.+?\.vo)\s*$", re.MULTILINE)

# {kernel name: printed name} of the axioms, the unsafe-definition entries, {kernel name: the compiled
# file its library was loaded from} for the standard-library axioms (the names whose origin the verifier
# checks; "" when no library of the name could be located).
AuditAnswer = tuple[dict[str, str], tuple[str, ...], dict[str, str]]


class AuditError(ProverError):
    """The auditing coqtop refused a command or gave an answer that cannot be trusted."""


def ask_assumptions(top: CoqTop, root: str, name: str, deadline: float) -> AuditAnswer:
    """Load ``root.ProverCheck`` into ``top`` (whose load path maps ``root`` to the compiled file's
    directory) and ask which axioms ``name`` depends on, and from which compiled file each axiom's library
    was loaded. Raises ``AuditError``, ``AssumptionsError`` and the process errors."""
    ask(top, f"Require {root}.{CHECK_MODULE}.", deadline)
    printed = ask(top, f"Print Assumptions {root}.{CHECK_MODULE}.{name}.", deadline)
    found = parse_assumptions(printed.output)
    kernel_names = {}
    for axiom in found.axioms:
        kernel_names[parse_about_constant(ask(top, f"About {axiom}.", deadline).output)] = axiom
    located = (kernel for kernel in kernel_names if kernel in LIBRARY_AXIOMS)
    files = {kernel: library_file(top, kernel, deadline) for kernel in located}
    return kernel_names, found.unsafe, files


def library_file(top: CoqTop, kernel_name: str, deadline: float) -> str:
    """The compiled file of the longest loaded library that is a prefix of ``kernel_name``
    (``Coq.Logic.Eqdep.Eq_rect_eq.eq_rect_eq``: ``.../Logic/Eqdep.vo``), or "" when there is none."""
    parts = kernel_name.split(".")
    for end in range(len(parts) - 1, 0, -1):
        reply = top.command(f"Locate Library {'.'.join(parts[:end])}.", left(deadline))
        if reply.error is None and (match := _LOADED_FROM.search(reply.output)) is not None:
            return match.group(1)
    return ""


def ask(top: CoqTop, command: str, deadline: float) -> Reply:
    """Run one command; raises ``AuditError`` when coqtop refuses it (the state id did not move)."""
    before = top.state_id
    reply = top.command(command, left(deadline))
    if reply.state_id == before or reply.error is not None:
        raise AuditError(f"{command} failed: {reply.error or reply.output.strip()[:300]}")
    return reply


def left(deadline: float) -> float:
    """Seconds until ``deadline`` (``time.monotonic``), at least a hundredth."""
    return max(0.01, deadline - time.monotonic())
