"""Reading Coq plans: ``assert (NAME : STATEMENT)`` sentences out of free-form answers, screened by the Coq
safety filter."""

from __future__ import annotations

from planner.coq_parse import parse_coq_plan


def texts(answer: str, **kwargs) -> list[str]:
    return [s.text for s in parse_coq_plan(answer, **kwargs).plan.subgoals]


def test_asserts_in_a_fence_across_lines_with_proofs_and_comments_dropped() -> None:
    answer = """I will first show a lemma. (* a comment (h9 : False) *)
```coq
assert (h1 : forall n : nat,
          double n = n + n).  (* by induction *)
assert (h2 : forall n : nat, n + n = 2 * n) by lia.
```
and then the theorem follows."""
    parsed = parse_coq_plan(answer)
    assert parsed.usable
    assert texts(answer) == ["assert (h1 : forall n : nat, double n = n + n)",
                             "assert (h2 : forall n : nat, n + n = 2 * n)"]
    assert {s.form for s in parsed.plan.subgoals} == {"assert"}


def test_without_a_fence_the_whole_answer_is_read() -> None:
    assert texts("First assert (h1 : 0 < 1). Then assert (h2 : (1 + 1) = 2).") == [
        "assert (h1 : 0 < 1)", "assert (h2 : (1 + 1) = 2)"]


def test_unsafe_malformed_duplicate_and_surplus_subgoals_are_refused() -> None:
    answer = "\n".join([
        "assert (h1 : 1 = 1).",
        "assert (h2 : 1 = 1. Qed).",  # a second sentence smuggled into the statement
        "assert (h3 : 2 = 2",  # never closed
        "assert (1 = 1).",  # no name
        "assert (h1 : 3 = 3).",  # the name again
        "assert (h4 : 1 = 1).",  # the statement again
        "assert (h5 : 4 = 4).",
    ])
    parsed = parse_coq_plan(answer, max_subgoals=1)
    assert [s.name for s in parsed.plan.subgoals] == ["h1"]
    reasons = " | ".join(r.reason for r in parsed.rejections)
    for expected in ("Coq safety filter", "unbalanced parentheses", "not of the form", "used twice",
                     "same statement twice", "more than 1 subgoals"):
        assert expected in reasons, (expected, reasons)
    assert not parsed.usable


def test_an_answer_without_asserts_is_refused_and_think_blocks_are_ignored() -> None:
    parsed = parse_coq_plan("<think>assert (h1 : 1 = 1).</think>I would use induction.")
    assert not parsed.plan.subgoals
    (rejection,) = parsed.rejections
    assert rejection.reason == "no `assert (NAME : STATEMENT).` line found in the answer"


def test_reasoning_outside_a_closed_think_pair_is_never_the_plan() -> None:
    """The planner audit's: a chat template that opens <think> itself sends only its end; a reply cut by
    its token limit ends inside the reasoning."""
    prefilled = "Okay... Maybe first assert (hx : x = 2). No, that is wrong.\n</think>\nassert (h1 : x = 1)."
    assert [s.name for s in parse_coq_plan(prefilled).plan.subgoals] == ["h1"]
    cut = "<think>assert (bad : False). and so on"
    assert parse_coq_plan(cut).plan.subgoals == ()


def test_windows_line_endings_keep_the_fences() -> None:
    text = "Note: in Python we would write assert (x == 1).\r\n```coq\r\nassert (h1 : x = 1).\r\n```\r\n"
    parsed = parse_coq_plan(text)
    assert [s.name for s in parsed.plan.subgoals] == ["h1"] and not parsed.rejections


def test_a_draft_then_a_corrected_plan_reads_the_correction() -> None:
    text = ("Draft:\n```coq\nassert (h1 : x = 1).\n```\nBetter:\n```coq\nassert (h1 : x = 1).\n"
            "assert (h2 : x + 0 = x).\n```")
    assert [s.name for s in parse_coq_plan(text).plan.subgoals] == ["h1", "h2"]


def test_surplus_subgoals_are_one_reason_however_many() -> None:
    text = "\n".join(f"assert (h{i} : {i} = {i})." for i in range(500))
    parsed = parse_coq_plan(text, max_subgoals=8)
    assert len(parsed.plan.subgoals) == 8
    assert [r.reason for r in parsed.rejections] == ["more than 8 subgoals (492 left out)"]


def test_text_in_the_plans_block_outside_asserts_is_refused_not_dropped() -> None:
    """The planner audit's: `intros` before the asserts or a proof after them were dropped unseen."""
    text = ("```coq\nintros n.\nassert (h1 : n + 0 = n) by lia.\n{ lia. }\n"
            "assert (h2 : n = n). (* fine *)\nlia.\n```")
    parsed = parse_coq_plan(text)
    assert texts(text) == ["assert (h1 : n + 0 = n)", "assert (h2 : n = n)"] and not parsed.usable
    assert [r.line for r in parsed.rejections] == ["intros n.", "{ lia. }", "lia."]
    assert all("only `assert (NAME : STATEMENT).` sentences" in r.reason for r in parsed.rejections)
    assert parse_coq_plan("Prose: intros n.\nassert (h1 : 1 = 1).").usable  # no fence: prose is ignored
