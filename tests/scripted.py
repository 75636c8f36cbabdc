"""Scripted proof environments for exact, Lean-free tests of the engine (fixtures, not product code).

A ``ScriptedEnv`` is a table: state text -> tactic -> outcome. Its backend verifies a proof by replaying
the tactics through the table, so verification is a real check of the path, not a formality.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import networkx as nx

from search import (
    Candidate,
    ProofFinished,
    TacticError,
    TacticResult,
    TacticState,
    TacticTimeout,
    Theorem,
    Verdict,
)

QED = "QED"


@dataclass(frozen=True)
class Fail:
    message: str = "tactic failed"


@dataclass(frozen=True)
class Hang:
    seconds: float = 1.0


Outcome = str | Fail | Hang  # a state's text, QED, or a failure


@dataclass
class ScriptedEnv:
    root: str
    moves: dict[str, dict[str, Outcome]]
    rejected_proofs: set[tuple[str, ...]] = field(default_factory=set)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def step(self, state: str, tactic: str) -> TacticResult:
        self.calls.append((state, tactic))
        outcome = self.moves.get(state, {}).get(tactic, Fail(f"unknown tactic {tactic!r}"))
        if isinstance(outcome, Fail):
            return TacticError(outcome.message)
        if isinstance(outcome, Hang):
            return TacticTimeout(outcome.seconds)
        if outcome == QED:
            return ProofFinished()
        return TacticState(outcome, (outcome,))

    def replays_to_qed(self, tactics: Sequence[str]) -> bool:
        state = self.root
        for i, tactic in enumerate(tactics):
            outcome = self.moves.get(state, {}).get(tactic)
            if isinstance(outcome, KillOnce):
                outcome = outcome.then
            if outcome == QED:
                return i == len(tactics) - 1
            if not isinstance(outcome, str):
                return False
            state = outcome
        return False

    def shortest_proof_length(self) -> int:
        graph = nx.DiGraph()
        for state, moves in self.moves.items():
            for outcome in moves.values():
                if isinstance(outcome, str):
                    graph.add_edge(state, outcome)
        return nx.shortest_path_length(graph, self.root, QED)


class ScriptedSession:
    def __init__(self, env: ScriptedEnv, theorem: Theorem) -> None:
        self.env = env
        self.theorem = theorem
        self.closed = False

    def initial_state(self) -> TacticState:
        return TacticState(self.env.root, (self.env.root,))

    def run_tactic(self, state: TacticState, tactic: str, *, timeout: float | None = None) -> TacticResult:
        assert not self.closed, "tactic run on a closed session"
        return self.env.step(state.pp, tactic)

    def close(self) -> None:
        self.closed = True


class ScriptedBackend:
    name = "scripted"

    def __init__(self, env: ScriptedEnv, banned: Sequence[str] = ()) -> None:
        self.env = env
        self.banned = tuple(banned)
        self.sessions: list[ScriptedSession] = []
        self.verified: list[tuple[str, ...]] = []

    def open(self, theorem: Theorem) -> ScriptedSession:
        session = ScriptedSession(self.env, theorem)
        self.sessions.append(session)
        return session

    def check_tactic(self, tactic: str) -> str | None:
        return next((f"contains {word!r}" for word in self.banned if word in tactic), None)

    def render_proof(self, theorem: Theorem, tactics: Sequence[str]) -> str:
        return f"{theorem.statement} " + "; ".join(tactics)

    def verify(self, theorem: Theorem, tactics: Sequence[str]) -> Verdict:
        self.verified.append(tuple(tactics))
        ok = self.env.replays_to_qed(tactics) and tuple(tactics) not in self.env.rejected_proofs
        return Verdict(ok, () if ok else ("scripted rejection",), (),
                       self.render_proof(theorem, tactics))

    def close(self) -> None:
        pass


@dataclass
class ScriptedPolicy:
    """Proposes per state the listed candidates; records which states it was asked about."""

    table: dict[str, list[tuple[str, float]]]
    default: Callable[[str], list[tuple[str, float]]] | None = None
    asked: list[str] = field(default_factory=list)
    fingerprint: str | None = None  # set it to let a proof cache reuse this policy's failures

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        out = []
        for state in states:
            self.asked.append(state)
            pairs = self.table.get(state)
            if pairs is None:
                pairs = self.default(state) if self.default else []
            ranked = sorted(pairs, key=lambda p: -p[1])[:n]
            out.append([Candidate(t, lp) for t, lp in ranked])
        return out


def countdown_env(start: int) -> ScriptedEnv:
    """A generated environment with ``start`` states: state ``n`` goes to ``n - 1`` (``dec``), to
    ``n // 2`` when ``n`` is a multiple of 64 (``half``) and to ``n - 7`` (``sub7``); reaching 0 closes
    the goal. The shortest proof is known by a breadth-first pass over the graph."""
    moves: dict[str, dict[str, Outcome]] = {}
    for n in range(1, start + 1):
        table: dict[str, Outcome] = {"dec": QED if n == 1 else f"n={n - 1}"}
        if n % 64 == 0:
            table["half"] = f"n={n // 2}"
        if n > 7:
            table["sub7"] = f"n={n - 7}"
        elif n == 7:
            table["sub7"] = QED
        moves[f"n={n}"] = table
    return ScriptedEnv(root=f"n={start}", moves=moves)


THEOREM = Theorem(name="scripted", statement="theorem scripted : True :=")


class KillOnce:
    """An outcome that kills the process running the tactic the first time (a marker file remembers)."""

    def __init__(self, marker: str, then: Outcome) -> None:
        self.marker = marker
        self.then = then


class MultiScriptedBackend(ScriptedBackend):
    """One scripted environment per theorem name; a statement containing INVALID is refused."""

    def __init__(self, envs: dict[str, ScriptedEnv]) -> None:
        super().__init__(next(iter(envs.values())))
        self.envs = envs

    def open(self, theorem: Theorem) -> ScriptedSession:
        from search import InvalidTheoremError

        if "INVALID" in theorem.statement:
            raise InvalidTheoremError(theorem.name, "unknown identifier 'INVALID'")
        session = KillingSession(self.envs[theorem.name], theorem)
        self.sessions.append(session)
        return session

    def verify(self, theorem: Theorem, tactics: Sequence[str]) -> Verdict:
        self.env = self.envs[theorem.name]
        return super().verify(theorem, tactics)


class KillingSession(ScriptedSession):
    def run_tactic(self, state: TacticState, tactic: str, *, timeout: float | None = None) -> TacticResult:
        import os
        import signal

        outcome = self.env.moves.get(state.pp, {}).get(tactic)
        if isinstance(outcome, KillOnce):
            if not os.path.exists(outcome.marker):
                open(outcome.marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
            return TacticState(outcome.then, (outcome.then,)) if outcome.then != QED else ProofFinished()
        return super().run_tactic(state, tactic, timeout=timeout)
