"""Reading coqtop's goal displays and building the canonical text of a proof state.

coqtop prints the first goal in full and later goals by their conclusion only, with evar ids
(``(ID 13)``) that depend on the path that reached the state. The canonical text ``pp`` therefore holds
every goal in full (later ones from ``Show k``) and no ids, so states that Coq prints the same are one
search node whichever branch reached them:

    2 goals
      n : nat
      ============================
      0 + 0 = 0

    goal 2 is:
      n : nat
      IHn : n + 0 = n
      ============================
      S n + 0 = S n
"""

from __future__ import annotations

import enum
import re
import textwrap
from dataclasses import dataclass

from search.backends.coq.assumptions import strip_tags
from search.errors import ProverError

_HEADER = re.compile(r"^(\d+) (?:focused )?goals?\b[^\n]*$", re.MULTILINE)
_ID = re.compile(r" \(ID \d+\)")
_LATER_GOAL = re.compile(r"\n\s*\ngoal \d+ \(ID \d+\) is:\n")
_SHOWN_GOAL = re.compile(r"^goal (\d+) \(ID \d+\) is:\n", re.MULTILINE)
NO_MORE_GOALS = "No more goals."
GAVE_UP = "No more goals, but there are some goals you gave up"
ON_SHELF = "All the remaining goals are on the shelf."
UNFOCUSED_NOTICE = "This subproof is complete, but there are some unfocused goals."
_INFOMSG = re.compile(r"<infomsg>(.*?)</infomsg>", re.DOTALL)  # tactic text cannot hold "</"


class GoalDisplayError(ProverError, ValueError):
    """coqtop printed something that is not the goal display asked for."""


class Display(enum.Enum):
    """What a goal display says about the proof."""

    GOALS = "goals"  # focused goals remain
    FINISHED = "finished"  # "No more goals." and nothing shelved or given up
    GAVE_UP = "gave_up"  # no goals left, but some were given up (Qed would fail)
    SHELF = "shelf"  # only shelved goals remain (Qed would fail)
    UNFOCUSED = "unfocused"  # a focused block is done, unfocused goals remain (bullets/braces)
    NONE = "none"  # nothing recognisable was printed: ask with `Show.`


@dataclass(frozen=True)
class FirstGoal:
    """The parsed display after a tactic: its kind, the header without ids, the goal count and the
    first goal's body (indented as Coq prints it, blank lines dropped)."""

    display: Display
    header: str = ""
    count: int = 0
    body: str = ""


def parse_display(output: str) -> FirstGoal:
    """Parse what coqtop printed after a command (a tactic or ``Show.``).

    Coq's own notices (gave up, on the shelf, unfocused goals) each fill an ``<infomsg>`` block of their
    own, from its start; anything else in such blocks (what ``idtac`` prints) is never read, nor searched
    for a goal header: a tactic cannot print its way to a finished proof or a made-up state."""
    notices = [match.group(1).strip() for match in _INFOMSG.finditer(output)]
    if any(notice.startswith(GAVE_UP) for notice in notices):
        return FirstGoal(Display.GAVE_UP)
    if ON_SHELF in notices:
        return FirstGoal(Display.SHELF)
    output = strip_tags(output)
    if any(notice.startswith(UNFOCUSED_NOTICE) for notice in notices):
        # a focused block done; a goal it shelved shows as "(shelved: N)" after it
        return FirstGoal(Display.SHELF if "(shelved:" in output else Display.UNFOCUSED)
    headers = list(_HEADER.finditer(output))
    if not headers:
        if NO_MORE_GOALS in output:
            return FirstGoal(Display.FINISHED)
        return FirstGoal(Display.NONE)
    header = headers[-1]
    rest = output[header.end():]
    later = _LATER_GOAL.search(rest)
    body = rest[: later.start()] if later else rest
    return FirstGoal(Display.GOALS, _ID.sub("", header.group()).strip(), int(header.group(1)),
                     clean_body(body))


def parse_shown_goal(output: str, index: int) -> str:
    """The body of goal ``index`` from the output of ``Show index.``; raises ``GoalDisplayError``."""
    for match in _SHOWN_GOAL.finditer(output):
        if int(match.group(1)) == index:
            return clean_body(output[match.end():])
    raise GoalDisplayError(f"no goal {index} in coqtop's output: {output[:200]!r}")


def clean_body(text: str) -> str:
    """Drop blank lines and trailing spaces, keep Coq's indentation and line breaks."""
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def canonical_pp(header: str, bodies: list[str]) -> str:
    """The canonical text of a state: the header, goal 1, then ``goal k is:`` and goal k for the rest."""
    parts = [f"{header}\n{bodies[0]}"]
    parts.extend(f"goal {k} is:\n{body}" for k, body in enumerate(bodies[1:], start=2))
    return "\n\n".join(parts)


def goal_text(body: str) -> str:
    """One goal as a standalone text (hypotheses, bar, conclusion) without Coq's indentation."""
    return textwrap.dedent(body)
