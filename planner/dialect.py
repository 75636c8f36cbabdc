"""The proof-assistant side of planning: how plans are asked for, written and read, per assistant.

Lean plans are ``have NAME : STATEMENT`` lines (``planner.lean_prompt``, ``planner.parse``); Coq plans are
``assert (NAME : STATEMENT).`` sentences (``planner.coq_prompt``, ``planner.coq_parse``). A plan backend
names its assistant (``PlanBackend.assistant``, Lean when it does not say).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from planner import coq_prompt, lean_prompt
from planner.coq_parse import parse_coq_plan
from planner.parse import parse_plan
from planner.plan import PlanParse


@dataclass(frozen=True)
class PlanDialect:
    """Everything about plans that depends on the assistant."""

    assistant: str  # "Lean" or "Coq", as the model reads it in feedback
    fence: str  # the code-block language of plans and theorems
    lines: str  # what a plan is made of, for instructions
    system: str  # the system prompt, with a {max_subgoals} field
    examples: tuple[tuple[str, str], ...]  # (theorem, plan)
    parse: Callable[..., PlanParse]  # parse(answer, max_subgoals=N)

    def fenced(self, text: str) -> str:
        return f"```{self.fence}\n{text}\n```"


LEAN = PlanDialect("Lean", "lean", "`have` lines without proofs", lean_prompt.SYSTEM, lean_prompt.EXAMPLES,
                   parse_plan)
COQ = PlanDialect("Coq", "coq", "`assert (NAME : STATEMENT).` sentences without proofs", coq_prompt.SYSTEM,
                  coq_prompt.EXAMPLES, parse_coq_plan)
DIALECTS = {"lean": LEAN, "coq": COQ}


def dialect_of(plan_backend: object) -> PlanDialect:
    """The dialect of a plan backend's assistant (``assistant`` attribute; Lean when absent)."""
    return DIALECTS[getattr(plan_backend, "assistant", "lean")]
