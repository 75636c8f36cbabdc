"""Opening a theorem in a REPL process: ``statement by sorry`` in the header's environment.

The header (imports, ``open``s, options, auxiliary definitions) is sent once per process as a command
without ``env`` (the only kind that may ``import``) and its environment is cached; each theorem is then
elaborated in that environment as ``statement + " by sorry"`` (the statement ends with ``:=``; its newlines
are kept, since a few statements hold ``--`` comments). The single ``sorry`` of the answer carries the
initial goal and the proof-state id that tactic mode starts from.
"""

from __future__ import annotations

import re

from search.backends.lean.repl_config import SETUP_FIX, LeanReplConfig
from search.backends.lean.repl_messages import CommandResponse, ReplError, ReplResponse, Sorry, errors
from search.backends.lean.repl_process import BACKEND_NAME, HeaderError, ReplProcess
from search.errors import BackendUnavailableError, InvalidTheoremError
from search.types import Theorem

_MISSING_MODULE = re.compile(r"unknown module prefix|object file .* does not exist|unknown package",
                             re.IGNORECASE)


def statement_by_sorry(theorem: Theorem) -> str:
    """The command that opens the theorem. Raises ``InvalidTheoremError`` unless the statement ends
    with ``:=``."""
    statement = theorem.statement.rstrip()
    if not statement.endswith(":="):
        raise InvalidTheoremError(theorem.name, "a Lean statement must end with ':='")
    return f"{statement} by sorry"


def open_theorem(proc: ReplProcess, theorem: Theorem, config: LeanReplConfig) -> Sorry:
    """Elaborate ``theorem`` in ``proc`` and return its one ``sorry`` (with a proof-state id).

    Raises ``HeaderError`` (see ``header_error``), ``InvalidTheoremError`` and the errors of
    ``ReplProcess.request``.
    """
    command = statement_by_sorry(theorem)
    env = proc.header_env(theorem.header)
    return initial_sorry(theorem, proc.command(command, env, timeout=config.command_timeout))


def initial_sorry(theorem: Theorem, response: ReplResponse) -> Sorry:
    """The ``sorry`` of an opened statement. Raises ``InvalidTheoremError`` when the statement has
    errors (with Lean's message and its line in the statement), no sorry, or several."""
    if isinstance(response, ReplError):
        raise InvalidTheoremError(theorem.name, f"the REPL refused the statement: {response.message}")
    if not isinstance(response, CommandResponse):
        raise InvalidTheoremError(theorem.name, f"unexpected answer to the statement: {response!r:.300}")
    failed = errors(response.messages)
    if failed:
        details = "; ".join(m.render() for m in failed)
        raise InvalidTheoremError(theorem.name, f"the statement does not elaborate ({details})")
    with_state = [s for s in response.sorries if s.proof_state is not None]
    if len(response.sorries) != 1 or not with_state:
        raise InvalidTheoremError(
            theorem.name, f"expected exactly one sorry (the proof) with a proof state, found "
                          f"{len(response.sorries)}: the statement must not contain sorry itself")
    return with_state[0]


def header_error(theorem: Theorem, exc: HeaderError) -> InvalidTheoremError | BackendUnavailableError:
    """A missing module means the Lean project lacks it (unavailable); anything else is the header's
    fault (invalid theorem)."""
    text = "; ".join(exc.messages)
    if _MISSING_MODULE.search(text):
        return BackendUnavailableError(BACKEND_NAME, f"the Lean project cannot import the header of "
                                                     f"{theorem.name!r}: {text}", SETUP_FIX)
    return InvalidTheoremError(theorem.name, f"the header does not elaborate: {text}")
