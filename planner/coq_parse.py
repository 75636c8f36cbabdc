"""Reading a Coq plan out of a model's free-form answer: ``assert (NAME : STATEMENT)`` subgoals.

The answer's reasoning (``planner.reasoning``) and Coq comments are dropped; when fenced code blocks hold
``assert``s only those are read (from the last revision on: a draft, then the final plan), else the whole
answer. Each ``assert`` runs to the parenthesis that closes its ``(``, so a
statement may span lines, and the rest of its sentence (``.``, ``by tactic.``) is ignored. Inside a fence,
any other text (``intros n.``, a proof after the sentence, ``lia.`` for the theorem) is refused, line by
line: the prompt asks for a block of ``assert`` sentences only, and text dropped unseen would change the
plan the model meant. Outside fences prose is ignored. The subgoal's text must pass ``check_coq_tactic``
(the Coq safety filter): untrusted text never reaches Coq unchecked. Malformed, unsafe, duplicate and
surplus subgoals become ``Rejection``s with a reason.
"""

from __future__ import annotations

import re

from planner.plan import PlanCollector, PlanParse, Rejection, Subgoal, last_revision
from planner.reasoning import answer_part
from search.backends.coq.safety import check_coq_tactic

_COMMENT = re.compile(r"\(\*.*?\*\)", re.S)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.S | re.M)
_ASSERT = re.compile(r"(?<![\w'.])assert\s*\(")
_HEAD = re.compile(r"\s*([A-Za-z_][\w']*)\s*:(?!=)(.*)", re.S)
_NAMED = re.compile(r"(?<![\w'.])assert\s*\(\s*([A-Za-z_][\w']*)\s*:")
_SENTENCE_END = re.compile(r"\.(?=\s|\Z)")
STRAY_TEXT = ("not part of an `assert` sentence: the block must hold only `assert (NAME : STATEMENT).` "
              "sentences (no tactics such as `intros`, no proofs)")


def parse_coq_plan(text: str, *, max_subgoals: int = 16) -> PlanParse:
    """The plan in ``text`` and the subgoals refused. Never raises on any string."""
    text = _COMMENT.sub(" ", answer_part(text))
    fenced = [m.group(2) for m in _FENCE.finditer(text) if _ASSERT.search(m.group(2))]
    fenced = last_revision(fenced, lambda block: {m.group(1) for m in _NAMED.finditer(block)})
    regions = fenced or [text]
    plan = PlanCollector(max_subgoals)
    found = 0
    for region in regions:
        if fenced:
            for line in _stray_lines(region):
                plan.refuse(Rejection(line, STRAY_TEXT))
        for start in (m.end() for m in _ASSERT.finditer(region)):
            found += 1
            read = _read_assert(region, start)
            if isinstance(read, Rejection):
                plan.refuse(read)
            else:
                plan.offer(read, read.source)
    missing = "no `assert (NAME : STATEMENT).` line found in the answer"
    return plan.parse(none_found=None if found else missing)


def _stray_lines(region: str) -> list[str]:
    """The lines of text in a plan's block outside its ``assert`` sentences (comments already gone)."""
    kept = list(region)
    for match in _ASSERT.finditer(region):
        end = _closing(region, match.end())
        stop = None if end is None else _SENTENCE_END.search(region, end)
        for index in range(match.start(), len(region) if stop is None else stop.end()):
            kept[index] = " " if region[index] != "\n" else "\n"
    return [line.strip() for line in "".join(kept).split("\n") if line.strip()]


def _closing(region: str, start: int) -> int | None:
    """The index after the parenthesis that closes the one before ``start`` (``None`` when none does)."""
    depth, end = 1, start
    while end < len(region) and depth:
        depth += {"(": 1, ")": -1}.get(region[end], 0)
        end += 1
    return None if depth else end


def _read_assert(region: str, start: int) -> Subgoal | Rejection:
    """The subgoal whose ``assert (`` ends at ``start`` in ``region``."""
    source = region[max(0, start - 8):].split("\n", 1)[0].strip()
    end = _closing(region, start)
    if end is None:
        return Rejection(source, "unbalanced parentheses")
    inside = region[start:end - 1]
    head = _HEAD.fullmatch(inside)
    if head is None:
        return Rejection(source, "not of the form `assert (NAME : STATEMENT)`")
    name, statement = head.group(1), " ".join(head.group(2).split())
    if not statement:
        return Rejection(source, "an empty statement")
    subgoal = Subgoal(name, statement, source=source, form="assert")
    reason = check_coq_tactic(subgoal.text)
    if reason is not None:
        return Rejection(source, f"refused by the Coq safety filter: {reason}")
    return subgoal
