"""The axiom audit's questions to a coqtop that only loads compiled files.

Asked of the compiled proof module ``ROOT.ProverCheck`` (``verify``): ``Require`` it (never ``Load``: no
tactic runs when a ``.vo`` is loaded), ``Print Assumptions`` on the theorem, then ``About`` on each axiom
listed, which gives the axiom's kernel name. Everything the coqtop prints answers one of these commands;
the parse fails closed (``assumptions``). The same questions are asked by a fresh coqtop per proof and by
a persistent one (``audit_pool``).
"""

from __future__ import annotations

import time

from search.backends.coq.assumptions import parse_about_constant, parse_assumptions
from search.backends.coq.coqtop import CoqTop, Reply
from search.errors import ProverError

CHECK_MODULE = "ProverCheck"


class AuditError(ProverError):
    """The auditing coqtop refused a command or gave an answer that cannot be trusted."""


def ask_assumptions(top: CoqTop, root: str, name: str,
                    deadline: float) -> tuple[dict[str, str], tuple[str, ...]]:
    """Load ``root.ProverCheck`` into ``top`` (whose load path maps ``root`` to the compiled file's
    directory) and ask which axioms ``name`` depends on. Returns ``{kernel name: printed name}`` and the
    unsafe-definition entries. Raises ``AuditError``, ``AssumptionsError`` and the process errors."""
    ask(top, f"Require {root}.{CHECK_MODULE}.", deadline)
    printed = ask(top, f"Print Assumptions {root}.{CHECK_MODULE}.{name}.", deadline)
    found = parse_assumptions(printed.output)
    kernel_names = {}
    for axiom in found.axioms:
        kernel_names[parse_about_constant(ask(top, f"About {axiom}.", deadline).output)] = axiom
    return kernel_names, found.unsafe


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
