"""Reading plans out of free-form answers: fences, prose, numbering, bullets, proofs and comments to drop,
multi-line statements, revisions, and the lines that must be refused (malformed, unsafe, duplicate)."""

from __future__ import annotations

import pytest
from planner_chat_server import recorded

from planner import Plan, Rejection, Subgoal, parse_plan

GOOD = ["have h1 : 5 * x = 25", "have h2 : x = 25 / 5"]


def lines(text: str, **options: int) -> list[str]:
    parsed = parse_plan(text, **options)
    assert not parsed.rejections, parsed.rejections
    return parsed.plan.lines()


def content(name: str) -> str:
    return recorded(name)["choices"][0]["message"]["content"] or ""


@pytest.mark.parametrize("name", ["plan_fenced", "plan_numbered", "plan_think", "replan_keeps_prefix"])
def test_recorded_good_answers(name: str) -> None:
    assert lines(content(name)) == GOOD


def test_recorded_multi_line_statements_are_joined() -> None:
    assert lines(content("multiline")) == ["have h1 : ∀ y : ℝ, 5 * y - 4 = 21 → 5 * y = 25",
                                           "have h2 : (5 * x = 25 ∧ x = 25 / 5)"]


@pytest.mark.parametrize("text", [
    "have h1 : 5 * x = 25 := by sorry\nhave h2 : x = 25 / 5 := sorry",
    "have h1 : 5 * x = 25 := by\n  linarith\nhave h2 : x = 25 / 5 := by norm_num [h1]",
    "- have h1 : 5 * x = 25\n- have h2 : x = 25 / 5",
    "* have h1 : 5 * x = 25\n* have h2 : x = 25 / 5",
    "1) have h1 : 5 * x = 25\n2) have h2 : x = 25 / 5",
    "Step 1: have h1 : 5 * x = 25\nStep 2: have h2 : x = 25 / 5",
    "  1. `have h1 : 5 * x = 25`\n  2. `have h2 : x = 25 / 5`",
    "have h1 : 5 * x = 25 -- add 4\nhave h2 : x = 25 / 5 /- divide -/",
    "have h1 : 5 * x = 25.\nhave h2 : x = 25 / 5,",
    "have h1 :   5 * x\t= 25\nhave   h2 : x = 25 / 5",
    "```\nhave h1 : 5 * x = 25\n```\nthen\n```lean4\nhave h2 : x = 25 / 5\n```",
    "have h1 : 5 * x = 25, from by linarith,\nhave h2 : x = 25 / 5, from by norm_num",
])
def test_formats_models_use(text: str) -> None:
    assert lines(text.replace("\t", " ")) == GOOD


def test_prose_around_fences_is_ignored_but_read_when_there_is_no_fence() -> None:
    text = "We have 5x = 25, so have a look:\n```lean\nhave h1 : 5 * x = 25\n```\nhave h9 : 1 = 1"
    assert lines(text) == ["have h1 : 5 * x = 25"]
    assert lines("First, have h1 : 5 * x = 25 is not a line start.\nhave h2 : x = 25 / 5") == GOOD[1:]


def test_a_revised_fence_replaces_the_draft() -> None:
    text = ("```lean\nhave h1 : 5 * x = 21 + 4\n```\nBetter:\n"
            "```lean\nhave h1 : 5 * x = 25\nhave h2 : x = 25 / 5\n```")
    assert lines(text) == GOOD


def test_anonymous_and_binder_haves() -> None:
    assert lines("have : 0 < x\nhave this : 0 < y\nhave h (n : ℕ) : n + 0 = n") == [
        "have h1 : 0 < x", "have h2 : 0 < y", "have h (n : ℕ) : n + 0 = n"]


def test_type_ascriptions_and_nested_colons_stay_in_the_statement() -> None:
    assert lines("have h1 : ∀ y : ℝ, (y : ℝ) ^ 2 ≥ 0 := fun y => sq_nonneg y") == [
        "have h1 : ∀ y : ℝ, (y : ℝ) ^ 2 ≥ 0"]
    assert lines("have h1 : (Finset.range 5).sum (fun i => i) = 10 -- sum") == [
        "have h1 : (Finset.range 5).sum (fun i => i) = 10"]


def test_continuation_after_a_trailing_operator_outside_fences() -> None:
    assert lines("have h1 : a + b =\n  c\nhave h2 : c ≤\nd") == ["have h1 : a + b = c", "have h2 : c ≤ d"]


def test_indented_prose_after_a_line_is_not_part_of_it_outside_fences() -> None:
    assert lines("1. have h1 : a = b\n   This follows from h₀.") == ["have h1 : a = b"]


@pytest.mark.parametrize(("text", "reason"), [
    ("have h1 : (a = b", "unbalanced brackets"),
    ("have h1 : a = b)", "unbalanced brackets"),
    ("have h1 a = b", "no ` : `"),
    ("have h1 :", "no statement"),
    ("have h1 : := by simp", "no statement"),
    ("have 1h : a = b", "not a name"),
    ("have h1 : \"unterminated", "cannot be read as Lean"),
    ("have h1 : a = b ∧ sorry", "safety filter"),
    ("have h1 : a = b #eval IO.println 1", "safety filter"),
    ("have h1 : by_elab foo", "safety filter"),
    ("have h1 : a = b\u202e", "safety filter"),
])
def test_malformed_and_unsafe_lines_are_refused_with_a_reason(text: str, reason: str) -> None:
    parsed = parse_plan(text)
    assert not parsed.usable and parsed.plan.subgoals == ()
    (rejection,) = parsed.rejections
    assert reason in rejection.reason and rejection.line.startswith("have")


def test_refusals_keep_the_good_lines_but_make_the_plan_unusable() -> None:
    parsed = parse_plan(content("plan_unsafe"))
    assert parsed.plan.lines() == ["have h1 : 5 * x = 25"] and len(parsed.rejections) == 2
    assert not parsed.usable


def test_duplicates_and_surplus() -> None:
    parsed = parse_plan("have h1 : a = b\nhave h1 : c = d\nhave h2 : a = b\nhave h3 : e = f\nhave h4 : g = h",
                        max_subgoals=2)
    assert parsed.plan.lines() == ["have h1 : a = b", "have h3 : e = f"]
    assert [r.reason for r in parsed.rejections] == ["the name h1 is used twice", "the same statement twice",
                                                     "more than 2 subgoals (1 left out)"]


@pytest.mark.parametrize("text", ["", "I cannot solve this.", "```lean\nlinarith\n```",
                                  content("plan_empty")])
def test_answers_without_haves(text: str) -> None:
    parsed = parse_plan(text)
    assert parsed.rejections == (Rejection("", "no `have NAME : STATEMENT` line found in the answer"),)


def test_truncated_answer() -> None:
    parsed = parse_plan(content("plan_truncated"))
    assert parsed.plan.lines() == ["have h1 : 5 * x = 25"]
    assert "unbalanced" in parsed.rejections[0].reason


def test_never_raises_on_odd_text() -> None:
    odd = ["have", "have :", "have h : ``` ```", "<think>", "have h : «x", "```lean\nhave", "\x00have h"]
    for text in odd:
        parse_plan(text)


def test_plan_and_subgoal_invariants() -> None:
    with pytest.raises(ValueError):
        Subgoal("h", "a =\nb")
    with pytest.raises(ValueError):
        Plan((Subgoal("h", "a"), Subgoal("h", "b")))
    plan = Plan((Subgoal("h1", "a"), Subgoal("h2", "b")))
    assert plan.shares_prefix((Subgoal("h1", "a", source="other"),)) and not plan.shares_prefix(
        (Subgoal("h1", "b"),))
    assert plan.render() == "have h1 : a\nhave h2 : b"


def test_lean_reasoning_outside_a_closed_think_pair_is_never_the_plan() -> None:
    prefilled = "Maybe have hx : x = 2 first... no.\n</think>\n```lean\nhave h1 : x = 1 := by sorry\n```"
    assert [s.name for s in parse_plan(prefilled).plan.subgoals] == ["h1"]
    assert parse_plan("<think>\nhave bad : False := by sorry\nand so on").plan.subgoals == ()


@pytest.mark.parametrize(("text", "expected"), [
    ("have h1 : x = 1\n  ∧ y = 2", ["have h1 : x = 1 ∧ y = 2"]),  # unfenced, indented deeper
    ("have h1 : x = 1\n∧ y = 2\nhave h2 : z ≤ 1\n→ z < 2",
     ["have h1 : x = 1 ∧ y = 2", "have h2 : z ≤ 1 → z < 2"]),
    ("```lean\nhave h1 : x = 1\n\n  ∧ y = 2\nhave h2 : z = 1\n```",
     ["have h1 : x = 1 ∧ y = 2", "have h2 : z = 1"]),
    ("```lean\nhave h1 : x = 1\n-- the key step\n  ∧ y = 2\n```", ["have h1 : x = 1 ∧ y = 2"]),
    ("- have h1 : a = b\n- Then h2 follows.\n- have h2 : c = d", ["have h1 : a = b", "have h2 : c = d"]),
])
def test_continuation_lines_are_never_cut_off(text: str, expected: list[str]) -> None:
    """The planner audit's: an operator line or a blank line before a continuation cut the statement
    short (`x = 1 ∧ y = 2` became `x = 1`) and the plan was still marked usable."""
    assert lines(text) == expected


def test_lines_in_the_plans_block_that_are_not_haves_are_refused_not_dropped() -> None:
    """The planner audit's: `intro x hx` and a closing `nlinarith` inside the block were dropped unseen."""
    parsed = parse_plan("Plan:\n```lean\nintro x hx\nhave h1 : x = 1\nnlinarith\n```")
    assert parsed.plan.lines() == ["have h1 : x = 1"] and not parsed.usable
    assert [r.line for r in parsed.rejections] == ["intro x hx", "nlinarith"]
    assert all("only `have NAME : STATEMENT` lines" in r.reason for r in parsed.rejections)
    sketch = parse_plan("```lean\ntheorem t : P := by\n  have h1 : a = b := by sorry\n  linarith\n```")
    assert [r.line for r in sketch.rejections] == ["theorem t : P := by", "linarith"]
