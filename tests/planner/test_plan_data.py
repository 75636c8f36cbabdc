"""The planner's plain data validates declaratively: every problem of a chat message, subgoal, plan or plan
check is reported at once (``ConfigError``, a ``ValueError``), named by its field."""

from __future__ import annotations

import pytest

from planner.client import ChatMessage
from planner.plan import Plan, Subgoal
from planner.protocols import PlanCheck, PlanProblem
from search.validation import ConfigError


def test_a_chat_message_names_its_role() -> None:
    with pytest.raises(ConfigError, match=r"role must be one of system, user, assistant, got 'robot'"):
        ChatMessage("robot", "hi")
    assert ChatMessage("user", "hi").as_dict() == {"role": "user", "content": "hi"}


def test_a_subgoal_reports_every_problem_and_its_name() -> None:
    with pytest.raises(ConfigError) as caught:
        Subgoal("", "a\nb", form="lemma")
    assert caught.value.keys == ("name", "statement", "form")
    with pytest.raises(ConfigError, match=r"^invalid subgoal 'h': binders must be empty in an assert "):
        Subgoal("h", "P", binders="(x : nat)", form="assert")
    with pytest.raises(ConfigError, match="statement and binders are one line"):
        Subgoal("h", "P", binders="(x :\n nat)")
    assert Subgoal("h", "P x", binders="(x : ℕ)").text == "have h (x : ℕ) : P x"


def test_a_plan_names_its_repeated_subgoals() -> None:
    with pytest.raises(ConfigError, match=r"subgoals must have distinct names, got \['h'\] more than once"):
        Plan((Subgoal("h", "P"), Subgoal("g", "Q"), Subgoal("h", "R")))
    with pytest.raises(ConfigError, match="subgoals must be Subgoals"):
        Plan(("have h : P",))  # type: ignore[arg-type]
    assert len(Plan([Subgoal("h", "P")])) == 1  # type: ignore[arg-type]  # a list is read as a tuple


def test_a_plan_check_is_accepted_without_problems_or_refused_with_some() -> None:
    with pytest.raises(ConfigError, match="problems must be empty for an accepted plan"):
        PlanCheck(True, ("g",), (PlanProblem(0, "no"),))
    with pytest.raises(ConfigError, match="problems must hold at least one problem for a refused plan"):
        PlanCheck(False)
    with pytest.raises(ConfigError) as caught:
        PlanCheck("yes", goals=("g", 3))  # type: ignore[arg-type]
    assert caught.value.keys == ("ok", "goals")
    assert PlanCheck(True, ["g1", "main"]).goals == ("g1", "main")  # type: ignore[arg-type]
