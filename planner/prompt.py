"""What the planner model is told: Lean 4 syntax rules, worked examples, the theorem, and feedback.

The conversation is: a system message (the task, the output format, the syntax rules), ``worked_examples``
user/assistant pairs (a theorem and a good plan), then the theorem. When a plan is refused, the model's
answer and the reasons (parse refusals, Lean's errors) are appended and it is asked again. A re-plan
starts a new conversation that shows the proven prefix (to be kept word for word), the stuck subgoal and
what the search did with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from planner.client import ChatMessage
from planner.plan import Plan, Rejection, Subgoal
from search.types import Theorem

if TYPE_CHECKING:
    from planner.dialect import PlanDialect

SYSTEM = """\
You are an expert in Lean 4 and Mathlib who plans proofs. Given a theorem, you do not prove it: you \
break it into a short sequence of intermediate facts, each easier to prove than the theorem, such that \
the theorem follows from them quickly. An automated prover will prove each fact separately, with the \
theorem's hypotheses and the earlier facts available, then the theorem with all of them.

Answer with one ```lean code block holding only `have` lines, one per line, and nothing else in the \
block:
have h1 : <statement>
have h2 : <statement>

Rules:
- No proofs: never write `:=`, `by`, `sorry` or tactics.
- Name the facts h1, h2, h3, ... (never reuse a name of the theorem's hypotheses).
- At most {max_subgoals} facts; 2 to 5 are usually best. The last facts should make the theorem follow \
by a simple step (linarith, nlinarith, omega, simp, norm_num, exact).
- Each statement is a Lean 4 proposition that type-checks where it stands: it may use the theorem's \
variables and hypotheses and the names of earlier facts, nothing else. Bind every new variable with \
`∀` or `∃`. The facts come before any `intro`: variables that the theorem binds after its colon (with \
`∀` or `→`) are not in scope, so quantify over them again.
- Lean 4 syntax, not Lean 3: `fun x => e` (never `λ x, e`), `∀ x : ℝ, P x`, `∃ n : ℕ, P n`, `a ∣ b` \
(divides), `a % b`, `x ^ 2` (never `x²`), `Real.sqrt x`, `Real.log x`, `Real.pi`, `|x|`, `Nat.Prime p`, \
`∑ i ∈ Finset.range n, f i`, `∏ i ∈ Finset.Icc 1 n, f i`, `Finset.card s`, `≤ ≥ ≠ ¬ ∧ ∨ → ↔`.
- Write numerals' types when they are ambiguous: `(2 : ℝ)`, `((n : ℝ) + 1)`; `/` on ℕ and ℤ rounds down.
- Do not restate the theorem itself as a fact, and do not state facts that are false.
"""

# (statement, plan): worked examples in the style of MiniF2F.
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("theorem mathd_algebra_10 (x : ℝ) (h₀ : 3 * x + 2 = 11) : x = 3 :=",
     "have h1 : 3 * x = 9\nhave h2 : x = 9 / 3"),
    ("theorem mathd_numbertheory_3 (n : ℕ) (h₀ : n % 5 = 3) : 2 * n % 5 = 1 :=",
     "have h1 : 2 * n % 5 = 2 * (n % 5) % 5\nhave h2 : 2 * (n % 5) % 5 = 6 % 5"),
    ("theorem amgm_two (a b : ℝ) (h₀ : 0 < a ∧ 0 < b) (h₁ : a * b = 1) : a + b ≥ 2 :=",
     "have h1 : 0 < a\nhave h2 : 0 < b\nhave h3 : (a - b) ^ 2 ≥ 0\n"
     "have h4 : (a + b) ^ 2 = (a - b) ^ 2 + 4 * (a * b)\nhave h5 : (a + b) ^ 2 ≥ 4"),
    ("theorem recurrence (f : ℕ → ℕ) (h₀ : ∀ n, f (n + 1) = f n + 2) (h₁ : f 0 = 1) : f 3 = 7 :=",
     "have h1 : f 1 = 3\nhave h2 : f 2 = 5\nhave h3 : f 3 = f 2 + 2"),
)


def _dialect(dialect: PlanDialect | None) -> PlanDialect:
    from planner.dialect import LEAN

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
