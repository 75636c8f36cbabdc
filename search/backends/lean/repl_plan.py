"""Plans in the Lean REPL: check ``have`` subgoals in a theorem's context and open a session per subgoal.

A plan ``have h1 : s1``, ..., ``have hn : sn`` is checked as one command in the header's environment::

    <statement, ending in :=> by
      have h1 : s1 := by sorry
      ...
      have hn : sn := by sorry
      sorry

Lean elaborates each ``have`` in order, in the theorem's context plus the earlier ``have``s, and the REPL
answers one ``sorry`` per ``have`` (its goal: ``s_i`` with ``h1..h_{i-1}`` in context) and one for the main
goal (with all of them), each with a proof-state id (the recorded session ``have_by_sorry`` shows the
answer for ``have ... := by sorry``). The plan is accepted when the command has no error and exactly
``n + 1`` sorries with proof states; errors are attributed to the ``have`` whose line they are
on. Every ``have`` passes ``check_lean_tactic`` before anything is sent: the text comes from a model.

The plan's command is the model's text, so Lean may time out, crash or blow its memory limit on it. Once
the header has imported (a failure before that is the backend's: ``BackendUnavailableError``), such a
failure is the plan's: the process is replaced and ``check_plan`` answers a plan problem ("Lean did not
answer the plan within N s") that goes back to the model like Lean's errors, and ``open_plan_sessions``
raises ``PlanCommandFailed`` with that problem (the planner fails the round). The command runs under
``command_timeout``, or the shorter ``timeout`` the caller has left.

``PlanSubgoalSession`` is a ``LeanReplSession`` whose initial state is one of those sorries. Where a process
does not know it (a restart after a crash or hang, another pool slot), it re-sends the plan command there
and takes the same sorry, then replays tactics as its parent does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from search.backends.lean.pool import ReplPool
from search.backends.lean.repl_config import LeanReplConfig
from search.backends.lean.repl_messages import (
    CommandResponse,
    ReplError,
    ReplProtocolError,
    ReplResponse,
    Sorry,
    errors,
)
from search.backends.lean.repl_process import HeaderError, MemoryLimitExceeded, ReplProcess
from search.backends.lean.repl_session import (
    CommandFailed,
    LeanReplSession,
    ReplayError,
    borrowed_process,
    load_failures,
)
from search.backends.lean.repl_theorem import statement_by_sorry
from search.backends.lean.safety import check_lean_tactic, check_lean_theorem
from search.backends.process import ProcessDied, ProcessError, ProcessTimeout
from search.errors import InvalidTheoremError
from search.lean_proof import lean_by_block
from search.types import Theorem

logger = logging.getLogger(__name__)


class PlanCommandFailed(CommandFailed):
    """Lean timed out, crashed or outgrew its memory limit on a plan's command; ``problem`` says which, in
    words for the model."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class PlanElaboration:
    """What Lean made of a plan. ``ok``: ``sorries`` holds one sorry per ``have`` then the main goal's, in
    order, each with a proof state. Otherwise ``problems`` holds ``(have index or None, message)``."""

    sorries: tuple[Sorry, ...] = ()
    problems: tuple[tuple[int | None, str], ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def goals(self) -> tuple[str, ...]:
        return tuple(s.goal for s in self.sorries)


def plan_command(theorem: Theorem, haves: Sequence[str]) -> str:
    """The command that checks the plan (see the module docstring). Raises ``InvalidTheoremError`` unless
    the statement ends with ``:=``."""
    statement = statement_by_sorry(theorem).removesuffix(" by sorry")
    return f"{statement} {lean_by_block([*(f'{have} := by sorry' for have in haves), 'sorry'])}"


def refused_haves(haves: Sequence[str]) -> tuple[tuple[int | None, str], ...]:
    """The ``have``s the safety filter refuses, as problems; empty when every one may be sent."""
    problems: list[tuple[int | None, str]] = []
    for index, have in enumerate(haves):
        reason = check_lean_tactic(have)
        if reason is None and not have.lstrip().startswith("have "):
            reason = "not a `have`"
        if reason is not None:
            problems.append((index, f"refused before Lean: {reason}"))
    return tuple(problems)


def read_plan_response(theorem: Theorem, haves: Sequence[str], response: ReplResponse) -> PlanElaboration:
    """Turn the REPL's answer to ``plan_command`` into a ``PlanElaboration``."""
    if isinstance(response, ReplError):
        return PlanElaboration(problems=((None, f"the REPL refused the plan: {response.message}"),))
    if not isinstance(response, CommandResponse):
        return PlanElaboration(problems=((None, f"unexpected answer to the plan: {response!r:.300}"),))
    failed = errors(response.messages)
    if failed:
        spans = _have_lines(theorem, haves)
        return PlanElaboration(problems=tuple(
            (_blame(spans, m.pos.line if m.pos is not None else 0), m.data) for m in failed))
    sorries = _in_order(response.sorries)
    if len(sorries) != len(haves) + 1 or any(s.proof_state is None for s in sorries):
        return PlanElaboration(problems=((None, f"expected {len(haves) + 1} sorries with proof states, "
                                                f"got {len(sorries)}"),))
    return PlanElaboration(sorries=sorries)


def _have_lines(theorem: Theorem, haves: Sequence[str]) -> list[range]:
    """The command lines (1-based, Lean's numbering) each ``have`` occupies."""
    line = theorem.statement.rstrip().count("\n") + 2
    spans = []
    for have in haves:
        height = have.strip("\n").count("\n") + 1
        spans.append(range(line, line + height))
        line += height
    return spans


def _blame(spans: list[range], line: int) -> int | None:
    return next((index for index, span in enumerate(spans) if line in span), None)


def _in_order(sorries: tuple[Sorry, ...]) -> tuple[Sorry, ...]:
    """Sorries in source order (the REPL lists them so; positions make sure)."""
    keys = [(s.pos.line, s.pos.column, index) for index, s in enumerate(sorries) if s.pos is not None]
    if len(keys) == len(sorries):
        return tuple(sorries[index] for _, _, index in sorted(keys))
    return sorries


def elaborate_plan(proc: ReplProcess, theorem: Theorem, haves: Sequence[str], *,
                   config: LeanReplConfig, timeout: float | None = None) -> PlanElaboration:
    """Check the plan in ``proc`` (its command under ``timeout``, else ``command_timeout``). Refused
    ``have``s are problems and nothing is sent. Raises ``HeaderError``, ``InvalidTheoremError`` and the
    errors of ``ReplProcess.request``."""
    refused = refused_haves(haves)
    if refused:
        return PlanElaboration(problems=refused)
    command = plan_command(theorem, haves)
    env = proc.header_env(theorem.header)
    limit = config.command_timeout if timeout is None else timeout
    return read_plan_response(theorem, haves, proc.command(command, env, timeout=limit))


def plan_timeout(config: LeanReplConfig, time_left: float | None) -> float:
    """The plan command's limit: ``command_timeout``, cut to ``time_left`` (at least a millisecond)."""
    return config.command_timeout if time_left is None else max(min(config.command_timeout, time_left), 1e-3)


def plan_failure(exc: ProcessError | ReplProtocolError, timeout: float) -> str:
    """What the model is told when Lean failed on its plan's command."""
    if isinstance(exc, ProcessTimeout):
        return (f"Lean did not answer the plan within {timeout:g} s: a statement may be too hard to "
                f"elaborate; write simpler statements")
    if isinstance(exc, MemoryLimitExceeded):
        return "Lean exceeded its memory limit on the plan; write simpler statements"
    if isinstance(exc, ProcessDied):
        return f"Lean {'ran out of memory' if exc.out_of_memory else 'crashed'} on the plan"
    return f"the Lean REPL failed on the plan: {exc}"


def _elaborate_borrowed(proc: ReplProcess, theorem: Theorem, haves: Sequence[str], *,
                        config: LeanReplConfig, time_left: float | None) -> PlanElaboration:
    """``elaborate_plan`` in a borrowed process, its failures on the plan's own command as
    ``PlanCommandFailed`` (the header imports first: a failure there stays the backend's)."""
    proc.header_env(theorem.header)
    limit = plan_timeout(config, time_left)
    try:
        return elaborate_plan(proc, theorem, haves, config=config, timeout=limit)
    except (ProcessError, ReplProtocolError) as exc:
        logger.warning("%s: Lean failed on a plan: %s", theorem.name, exc)
        raise PlanCommandFailed(plan_failure(exc, limit)) from exc


def check_plan(pool: ReplPool, theorem: Theorem, haves: Sequence[str], *,
               config: LeanReplConfig, time_left: float | None = None) -> PlanElaboration:
    """Check the plan in a pooled process (none is borrowed for a refused ``have``), its command under
    ``plan_timeout``. Lean's failure on the command is a problem (see the module docstring). Raises
    ``InvalidTheoremError`` (the theorem or its header is refused) and ``BackendUnavailableError`` (no
    REPL, or the header does not import; ``TheoremLoadError`` when the REPL works but failed on this
    theorem's header: ``load_failure``)."""
    refused = refused_haves(haves)
    if refused:
        return PlanElaboration(problems=refused)
    check_lean_theorem(theorem)
    with load_failures(pool, theorem, config):
        try:
            with borrowed_process(pool, theorem, "on a plan for") as proc:
                return _elaborate_borrowed(proc, theorem, haves, config=config, time_left=time_left)
        except PlanCommandFailed as exc:
            return PlanElaboration(problems=((None, exc.problem),))


def open_plan_sessions(pool: ReplPool, theorem: Theorem, haves: Sequence[str], *,
                       config: LeanReplConfig, time_left: float | None = None) -> list[PlanSubgoalSession]:
    """One session per ``have`` and one for the main goal (last). Raises like ``check_plan``,
    ``PlanCommandFailed`` when Lean fails on the plan's command and ``ValueError`` when the plan does not
    elaborate."""
    check_lean_theorem(theorem)
    with load_failures(pool, theorem, config), borrowed_process(pool, theorem, "on a plan for") as proc:
        plan = _elaborate_borrowed(proc, theorem, haves, config=config, time_left=time_left)
        if not plan.ok:
            raise ValueError(f"the plan does not elaborate: {plan.problems}")
        return [PlanSubgoalSession(pool, theorem, config, proc, sorry, haves=tuple(haves), index=index)
                for index, sorry in enumerate(plan.sorries)]


class PlanSubgoalSession(LeanReplSession):
    """A session whose initial state is sorry ``index`` of a plan (``len(haves)``: the main goal).

    It behaves as ``LeanReplSession`` in every way but one: a process that does not know the initial state
    gets the plan command, not ``statement by sorry``."""

    def __init__(self, pool: ReplPool, theorem: Theorem, config: LeanReplConfig, opened_in: ReplProcess,
                 initial: Sorry, *, haves: tuple[str, ...], index: int) -> None:
        super().__init__(pool, theorem, config, opened_in, initial)
        self.haves = haves
        self.index = index

    def _known_in(self, proc: ReplProcess) -> dict[tuple[str, ...], int]:
        known = super()._known_in(proc)
        if () not in known:
            known[()] = self._reopen(proc)
        return known

    def _reopen(self, proc: ReplProcess) -> int:
        """The proof-state id of this session's sorry in ``proc``. Raises ``ReplayError`` when the plan no
        longer elaborates, and the errors of ``ReplProcess.request``."""
        try:
            plan = elaborate_plan(proc, self.theorem, self.haves, config=self.config)
        except (HeaderError, InvalidTheoremError) as exc:
            raise ReplayError(f"the plan no longer opens: {exc}", process_failed=False) from exc
        if not plan.ok:
            raise ReplayError(f"the plan no longer elaborates: {plan.problems}", process_failed=False)
        sorry = plan.sorries[self.index]
        if sorry.goal != self.initial_state().pp:
            logger.warning("subgoal %d of %s reopened with a different goal", self.index, self.theorem.name)
        assert sorry.proof_state is not None
        logger.debug("reopened subgoal %d of %s in %s", self.index, self.theorem.name, proc.name)
        return sorry.proof_state
