"""The plug-in points of the engine. Each is a ``Protocol`` with its contract written beside it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from search.types import Candidate, TacticResult, TacticState, Theorem, Verdict


@runtime_checkable
class Session(Protocol):
    """One open theorem in one proof assistant.

    Contract:
    - ``initial_state()`` returns the state before any tactic; it may be called many times.
    - ``run_tactic`` applies one tactic to any state this session returned earlier (not only the last one)
      and never raises for a failing, crashing or hanging tactic: those are ``TacticError`` or
      ``TacticTimeout``. A session whose process dies restores itself (restart, replay) before answering.
      ``timeout`` is in seconds; ``None`` means the session's default.
    - ``close()`` releases every process the session owns; it is idempotent.
    """

    theorem: Theorem

    def initial_state(self) -> TacticState: ...

    def run_tactic(
        self, state: TacticState, tactic: str, *, timeout: float | None = None
    ) -> TacticResult: ...

    def close(self) -> None: ...


@runtime_checkable
class Backend(Protocol):
    """A proof assistant: opens sessions, filters tactics, renders and verifies whole proofs.

    Contract:
    - ``open(theorem)`` raises ``InvalidTheoremError`` when the statement is refused or does not elaborate,
      and ``BackendUnavailableError`` when the proof assistant cannot be started.
    - ``check_tactic(tactic)`` returns ``None`` for a tactic that may be sent to the assistant, or the reason
      it must not be. Untrusted text never reaches the assistant without passing it.
    - ``verify(theorem, tactics)`` checks the whole proof from scratch; only ``Verdict.ok`` counts as proved.
    """

    name: str

    def open(self, theorem: Theorem) -> Session: ...

    def check_tactic(self, tactic: str) -> str | None: ...

    def render_proof(self, theorem: Theorem, tactics: Sequence[str]) -> str: ...

    def verify(self, theorem: Theorem, tactics: Sequence[str]) -> Verdict: ...

    def close(self) -> None: ...


@runtime_checkable
class Policy(Protocol):
    """A step prover: proposes tactics for many states at once.

    ``propose(states, n)`` takes pretty-printed states and returns, per state and in the same order, at
    most ``n`` distinct candidates sorted by descending ``logprob`` (mean token log-probability).
    """

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]: ...
