"""Scripted planning environments (fixtures, not product code): a theorem the policy cannot prove directly
but can prove through the right plan.

``ScriptedPlanBackend`` is a ``ScriptedBackend`` that also implements ``PlanBackend``: a plan elaborates
when every statement is in the world's ``statements``; subgoal ``i``'s goal is the theorem's context, the
earlier haves as hypotheses and ``⊢ s_i`` (the main goal: every have, ``⊢`` the theorem's target), as
Lean prints them. Its ``verify`` really checks an assembled proof: each ``have NAME : S := by`` block is
replayed from its subgoal's goal, the remaining tactics from the main goal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from scripted import QED, Outcome, ScriptedBackend, ScriptedEnv, ScriptedPolicy, ScriptedSession

from planner import ChatAnswer, ChatMessage, PlanCheck, PlanProblem
from search import SearchConfig, Session, Theorem, Verdict

THEOREM = Theorem("algebra_linear_5x",
                  "theorem algebra_linear_5x (x : ℝ) (h₀ : 5 * x - 4 = 21) : x = 5 :=",
                  "import Mathlib\nopen Real")
CONTEXT = "x : ℝ\nh₀ : 5 * x - 4 = 21"
TARGET = "x = 5"
GOOD = (("h1", "5 * x = 25"), ("h2", "x = 25 / 5"))
TACTICS = ("linarith", "rw [h2]", "norm_num", "nlinarith [h1]")
STUCK = (("h1", "5 * x = 25"), ("h2", "x ^ 2 = 25"))  # h2 has no proof the scripted world knows
SEARCH = SearchConfig(time_limit=None, max_expansions=20)
PLANNER = dict(subgoal_expansions=8, main_expansions=8, subgoal_time_limit=None, main_time_limit=None,
               replans=2, plan_attempts=3)
_HAVE = re.compile(r"^have (\S+) : (.+)$")
_BLOCK = re.compile(r"^have (\S+) : (.+) := by\n(.*)$", re.S)


def goal(haves: Sequence[tuple[str, str]], statement: str, context: str = CONTEXT) -> str:
    return "\n".join([context, *(f"{n} : {s}" for n, s in haves), f"⊢ {statement}"])


def default_moves() -> dict[str, dict[str, Outcome]]:
    """Only the good plan's goals have moves: the theorem's own goal has none."""
    main = goal(GOOD, TARGET)
    return {
        goal((), "5 * x = 25"): {"linarith": QED},
        goal(GOOD[:1], "x = 25 / 5"): {"linarith": QED},
        main: {"rw [h2]": goal(GOOD, "25 / 5 = 5"), "linarith": "main: linarith is a dead end"},
        goal(GOOD, "25 / 5 = 5"): {"norm_num": QED},
    }


STATEMENTS = frozenset({"5 * x = 25", "x = 25 / 5", "x ^ 2 = 25", "x * x = 25", "2 * x = 10", "x = 5 * 1"})


class ScriptedPlanBackend(ScriptedBackend):
    """A backend and plan backend over one scripted table (see the module docstring)."""

    def __init__(self, moves: dict[str, dict[str, Outcome]] | None = None,
                 statements: frozenset[str] = STATEMENTS, banned: Sequence[str] = ()) -> None:
        super().__init__(ScriptedEnv(goal((), TARGET), moves if moves is not None else default_moves()),
                         banned)
        self.statements = statements
        self.checked: list[tuple[str, ...]] = []
        self.time_lefts: list[float | None] = []  # what each check_plan / open_subgoals call was given
        self.opened: list[ScriptedSession] = []

    def check_plan(self, theorem: Theorem, haves: Sequence[str], *,
                   time_left: float | None = None) -> PlanCheck:
        self.checked.append(tuple(haves))
        self.time_lefts.append(time_left)
        return self._elaborate(haves)

    def _elaborate(self, haves: Sequence[str]) -> PlanCheck:
        pairs = [_split(h) for h in haves]
        problems = tuple(PlanProblem(i, f"unknown identifier in '{s}'")
                         for i, (_, s) in enumerate(pairs) if s not in self.statements)
        if problems:
            return PlanCheck(False, problems=problems)
        goals = [goal(pairs[:i], s) for i, (_, s) in enumerate(pairs)] + [goal(pairs, TARGET)]
        return PlanCheck(True, tuple(goals))

    def open_subgoals(self, theorem: Theorem, haves: Sequence[str], *,
                      time_left: float | None = None) -> list[Session]:
        self.time_lefts.append(time_left)
        check = self._elaborate(haves)
        if not check.ok:
            raise ValueError(f"the plan does not elaborate: {check.problems}")
        sessions = [ScriptedSession(ScriptedEnv(g, self.env.moves, calls=self.env.calls), theorem)
                    for g in check.goals]
        self.opened += sessions
        return list(sessions)

    def verify(self, theorem: Theorem, tactics: Sequence[str]) -> Verdict:
        self.verified.append(tuple(tactics))
        haves: list[tuple[str, str]] = []
        rest = list(tactics)
        while rest and (block := _BLOCK.match(rest[0])):
            name, statement, body = block.groups()
            steps = [line.strip() for line in body.split("\n")]
            if not ScriptedEnv(goal(haves, statement), self.env.moves).replays_to_qed(steps):
                return Verdict(False, (f"the proof of {name} does not replay",))
            haves.append((name, statement))
            rest.pop(0)
        ok = ScriptedEnv(goal(haves, TARGET), self.env.moves).replays_to_qed(rest)
        return Verdict(ok, () if ok else ("the main proof does not replay",), (),
                       self.render_proof(theorem, tactics))


def _split(have: str) -> tuple[str, str]:
    found = _HAVE.match(have)
    assert found is not None, have
    return found.group(1), found.group(2)


def policy() -> ScriptedPolicy:
    """The same tactics, in the same order, for every state."""
    return ScriptedPolicy({}, default=lambda state: [(t, -0.1 * (i + 1)) for i, t in enumerate(TACTICS)])


@dataclass
class ListClient:
    """A ``PlannerClient`` that answers from a list, recording each conversation it was sent."""

    answers: list[str | ChatAnswer]
    conversations: list[list[ChatMessage]] = field(default_factory=list)
    closed: bool = False

    def complete(self, messages: Sequence[ChatMessage], *, timeout: float | None = None) -> ChatAnswer:
        self.conversations.append(list(messages))
        if not self.answers:
            raise AssertionError("the planner was asked more often than the test expected")
        answer = self.answers.pop(0)
        return answer if isinstance(answer, ChatAnswer) else ChatAnswer(answer)

    def close(self) -> None:
        self.closed = True


def fenced(*haves: tuple[str, str]) -> str:
    return "```lean\n" + "\n".join(f"have {n} : {s}" for n, s in haves) + "\n```"
