"""What the planner model is told: the dialect's rules and worked examples (``planner.lean_prompt``,
``planner.coq_prompt``), the theorem, and feedback.

The conversation is: a system message (the task, the output format, the syntax rules), ``worked_examples``
user/assistant pairs (a theorem and a good plan), then the theorem. When a plan is refused, the model's
answer and the reasons (parse refusals, Lean's errors) are appended and it is asked again. A re-plan
starts a new conversation that shows the proven prefix (to be kept word for word), the stuck subgoal and
what the search did with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.client import ChatMessage
from planner.dialect import LEAN, PlanDialect
from planner.plan import Plan, Rejection, Subgoal
from search.types import Theorem


def _dialect(dialect: PlanDialect | None) -> PlanDialect:
    return dialect or LEAN


def theorem_text(theorem: Theorem) -> str:
    """The statement with the header's non-import lines (``open``s, definitions) above it."""
    context = [line for line in theorem.header.splitlines() if line.strip() and not line.startswith("import")]
    return "\n".join([*context, theorem.statement.rstrip()])


def initial_messages(theorem: Theorem, *, max_subgoals: int, examples: int,
                     dialect: PlanDialect | None = None) -> list[ChatMessage]:
    """System rules, ``examples`` worked examples, then the theorem to plan (Lean unless ``dialect``)."""
    d = _dialect(dialect)
    messages = [ChatMessage("system", d.system.format(max_subgoals=max_subgoals))]
    for statement, plan in d.examples[:examples]:
        messages.append(ChatMessage("user", _ask(statement, d)))
        messages.append(ChatMessage("assistant", d.fenced(plan)))
    messages.append(ChatMessage("user", _ask(theorem_text(theorem), d)))
    return messages


def _ask(statement: str, dialect: PlanDialect) -> str:
    return f"Plan a proof of this theorem:\n{dialect.fenced(statement)}"


def _plan_text(subgoals: Sequence[Subgoal]) -> str:
    """Subgoals as the model writes them: Lean ``have`` lines, Coq ``assert`` sentences."""
    return "\n".join(s.text + ("." if s.form == "assert" else "") for s in subgoals)


def retry_message(rejections: Sequence[Rejection], problems: Sequence[str],
                  prefix: Sequence[Subgoal], dialect: PlanDialect | None = None) -> ChatMessage:
    """Ask again after a refused answer, with every reason."""
    d = _dialect(dialect)
    reasons = [f"- {r.render()}" for r in rejections] + [f"- {p}" for p in problems]
    text = "Your plan cannot be used:\n" + "\n".join(reasons)
    text += f"\nWrite the whole plan again, corrected, in one ```{d.fence} block of {d.lines}."
    if prefix:
        text += " Keep these first lines word for word:\n" + d.fenced(_plan_text(prefix))
    return ChatMessage("user", text)


def replan_messages(theorem: Theorem, *, plan: Plan, proven: int, failure: str, max_subgoals: int,
                    examples: int, dialect: PlanDialect | None = None) -> list[ChatMessage]:
    """A new conversation asking to revise ``plan`` from subgoal ``proven`` on (the main goal when
    ``proven == len(plan)``), keeping subgoals ``0..proven-1`` word for word."""
    d = _dialect(dialect)
    messages = initial_messages(theorem, max_subgoals=max_subgoals, examples=examples, dialect=d)
    messages.append(ChatMessage("assistant", d.fenced(_plan_text(plan.subgoals))))
    kept = plan.subgoals[:proven]
    if proven < len(plan):
        stuck = plan.subgoals[proven]
        text = (f"The prover could not prove `{stuck.text}`: {failure}.\nRevise the plan from that fact on: "
                f"replace it by easier facts (or a different route).")
    else:
        text = (f"Every fact was proved, but the theorem did not follow from them: {failure}.\nAdd or change "
                f"facts after the proven ones so that the theorem follows by a simple step.")
    if kept:
        text += " These facts are proven: keep them as the first lines, word for word:\n"
        text += d.fenced(_plan_text(kept))
    text += f"\nAnswer with the whole new plan in one ```{d.fence} block."
    messages.append(ChatMessage("user", text))
    return messages
