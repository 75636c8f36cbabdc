"""The head of a compound tactic: what a retrieved ``t1; t2; ...`` does first.

Tactician learns from tactics decomposed into smaller steps, because a whole recorded sentence
(``induction n; simpl; auto with arith``) transfers to fewer states than its first step (``induction n``),
after which the search's own candidates may finish each goal. A head is the text before the first ``;``
outside brackets, parentheses, braces and strings; a tactic with none has no head.
"""

from __future__ import annotations

_OPEN = {"(": ")", "[": "]", "{": "}"}


def tactic_head(tactic: str) -> str | None:
    """The part of ``tactic`` before its first top-level ``;``, or None when there is no such ``;``, the
    head is empty, or the brackets do not balance (then the text is left as it is)."""
    closing: list[str] = []
    in_string = False
    for position, char in enumerate(tactic):
        if in_string:
            in_string = char != '"'
        elif char == '"':
            in_string = True
        elif char in _OPEN:
            closing.append(_OPEN[char])
        elif char in ")]}":
            if not closing or closing.pop() != char:
                return None
        elif char == ";" and not closing:
            head = tactic[:position].strip()
            return head or None
    return None
