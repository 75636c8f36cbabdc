"""Whole-proof verification through the REPL: one command, then ``#print axioms``.

The proof is checked as ``statement + " " + lean_by_block(tactics)``, one command run in the environment
made by the theorem's header alone (cached per process). That is as sound as a fresh file: REPL
environments are immutable snapshots, a command run in environment N sees N and nothing that other
commands (the ``by sorry`` opening, tactic-mode states, earlier verifications) added elsewhere, and N was
made by the header text alone. ``LeanReplConfig.verify_in_fresh_process`` trades one import per proof for
not trusting even that.

Lean accepts the proof when the command has no error, no ``sorry`` (neither in ``sorries`` nor in the
``declaration uses 'sorry'`` warning) and ``#print axioms NAME``, a command of its own, names only
``propext``, ``Classical.choice`` and ``Quot.sound``. Its report is read by position (``parse_axioms``):
the one info message of that command, on its first line; text a tactic logged (``trace``) belongs to the
proof's command and never counts. ``example`` has no name to print, so it is checked as a
``theorem`` under a fixed fresh name (``named_statement``, shared with the LeanDojo backend's checker), as
is an anonymous ``instance``; the name cannot clash, since every check starts from the header's env.
"""

from __future__ import annotations

from collections.abc import Sequence

from search.backends.lean.dojo_verify import named_statement
from search.backends.lean.dojo_verify_output import ALLOWED_AXIOMS, parse_axioms_report
from search.backends.lean.repl_config import LeanReplConfig
from search.backends.lean.repl_messages import CommandResponse, ReplError, ReplResponse, Severity
from search.backends.lean.repl_outcome import command_problems
from search.backends.lean.repl_process import HeaderError, ReplProcess
from search.lean_proof import lean_by_block, lean_theorem_text
from search.types import Theorem, Verdict

__all__ = ["ALLOWED_AXIOMS", "parse_axioms", "verify_in_process"]

PRINT_AXIOMS = "#print axioms"


def parse_axioms(response: ReplResponse, name: str | None = None) -> tuple[str, ...] | None:
    """The axioms the answer to the command ``#print axioms NAME`` lists, read by position: the answer
    must hold exactly one message, an info message on the command's own first line, starting within its
    ``#print axioms`` keyword, whose whole text is the report (for ``name`` when given). ``None`` for any
    other answer: a report is never searched for in text, so no tactic's log can stand in for it."""
    if not isinstance(response, CommandResponse) or len(response.messages) != 1:
        return None
    message = response.messages[0]
    if message.severity is not Severity.INFO or message.pos is None:
        return None
    if message.pos.line != 1 or not 0 <= message.pos.column < len(PRINT_AXIOMS):
        return None
    report = parse_axioms_report(message.data)
    if report is None:
        return None
    if name is not None and not report.names(name):
        return None
    return report.axioms


def verify_in_process(proc: ReplProcess, theorem: Theorem, tactics: Sequence[str], *,
                      config: LeanReplConfig) -> Verdict:
    """Check the whole proof in ``proc`` (no tactic filter: the backend applies it first).

    Raises the errors of ``ReplProcess.request``; Lean's own rejections are a ``Verdict`` with
    ``ok=False`` and Lean's messages.
    """
    text = lean_theorem_text(theorem.header, theorem.statement, tactics)
    try:
        statement, name = named_statement(theorem.statement)
    except ValueError as exc:  # the lexer's LexError included
        return Verdict(False, (f"no declaration name in the statement: {exc}",), proof_text=text)
    try:
        env = proc.header_env(theorem.header)
    except HeaderError as exc:
        return Verdict(False, ("the header does not elaborate", *exc.messages), proof_text=text)
    command = f"{statement.rstrip()} {lean_by_block(tactics)}"
    response = proc.command(command, env, timeout=config.verify_timeout)
    problems = command_problems(response)
    if problems:
        return Verdict(False, tuple(problems), proof_text=text)
    assert isinstance(response, CommandResponse)
    printed = proc.command(f"{PRINT_AXIOMS} {name}", response.env, timeout=config.command_timeout)
    axioms = parse_axioms(printed, name)
    if axioms is None:
        detail = printed.message if isinstance(printed, ReplError) else "; ".join(command_problems(printed))
        return Verdict(False, (f"could not read the axioms of {name}: {detail or printed!r}",),
                       proof_text=text)
    extra = sorted(set(axioms) - ALLOWED_AXIOMS)
    if extra:
        return Verdict(False, (f"the proof depends on axioms beyond {sorted(ALLOWED_AXIOMS)}: {extra}",),
                       axioms, text)
    return Verdict(True, (), axioms, text)
