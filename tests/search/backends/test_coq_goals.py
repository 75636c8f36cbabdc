"""Reading coqtop's goal displays into the canonical state text (recorded outputs, no Coq needed)."""

from __future__ import annotations

import pytest

from search.backends.coq.goals import (
    Display,
    GoalDisplayError,
    canonical_pp,
    goal_text,
    parse_display,
    parse_shown_goal,
)

# coqtop prints a line of two spaces after each goal header; kept here as "\n  \n".
TWO_GOALS = """2 goals (ID 13)\n  \n  l1, l2 : list nat
  ============================
  length (l1 ++ l2) = length l1 + length l2

goal 2 (ID 14) is:
 a + b = b + a /\\ True
"""
SHOW_2 = """goal 2 (ID 14) is:\n  \n  l1, l2 : list nat
  ============================
  a + b = b + a /\\ True
"""


def test_first_goal_display() -> None:
    view = parse_display(TWO_GOALS)
    assert view.display is Display.GOALS and view.header == "2 goals" and view.count == 2
    assert view.body == ("  l1, l2 : list nat\n  ============================\n"
                         "  length (l1 ++ l2) = length l1 + length l2")
    later = parse_shown_goal(SHOW_2, 2)
    pp = canonical_pp(view.header, [view.body, later])
    assert pp.startswith("2 goals\n  l1, l2 : list nat") and "\n\ngoal 2 is:\n  l1, l2 : list nat" in pp
    assert "(ID" not in pp
    assert goal_text(later) == "l1, l2 : list nat\n============================\na + b = b + a /\\ True"
    with pytest.raises(GoalDisplayError):
        parse_shown_goal(SHOW_2, 3)


@pytest.mark.parametrize(("output", "display"), [
    ("No more goals.\n", Display.FINISHED),
    ("<infomsg>No more goals, but there are some goals you gave up:</infomsg>\n\n1 goal\n", Display.GAVE_UP),
    ("<infomsg>All the remaining goals are on the shelf.</infomsg>\n\n2 goals\n", Display.SHELF),
    ("<infomsg>\nThis subproof is complete, but there are some unfocused goals.\nTry unfocusing with \"}\"."
     "\n</infomsg>\n1 goal\n\ngoal 1 (ID 4) is:\n True\n", Display.UNFOCUSED),  # as coqtop -emacs prints it
    # a plan's focused subgoal "done" by shelving it (the audit's `shelve`): no proof of it
    ("<infomsg>\nThis subproof is complete, but there are some unfocused goals.\nTry unfocusing with \"}\"."
     "\n</infomsg>\n1 goal (shelved: 1)\n\ngoal 1 is:\n True\n", Display.SHELF),
    # what a tactic prints (idtac) is never read as Coq's notice or as a goal display
    ("<infomsg>fun but there are some unfocused goals : nat => but</infomsg>\nNo more goals.\n",
     Display.FINISHED),
    ("<infomsg>aaaa 1\n1 goal</infomsg>\n", Display.NONE),
    ("<infomsg>All the remaining goals are on the shelf</infomsg>\n", Display.NONE),  # no full stop: a term
    ("", Display.NONE),
    ("<warning>Warning: deprecated</warning>\n", Display.NONE),
])
def test_other_displays(output: str, display: Display) -> None:
    assert parse_display(output).display is display


def test_shelved_count_stays_in_the_header() -> None:
    shelved = "1 focused goal (shelved: 1) (ID 8)\n  \n  ============================\n  ?n = ?n\n"
    view = parse_display(shelved)
    assert view.header == "1 focused goal (shelved: 1)" and view.count == 1
