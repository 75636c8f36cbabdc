"""The head of a compound tactic: the step a retrieved ``t1; t2`` starts with, proposed beside it.

Tactician learns from tactics decomposed into smaller steps, because a whole recorded sentence
(``induction n; simpl; auto with arith``) transfers to fewer states than its first step (``induction n``),
after which the search's own candidates may finish each goal. A head is the text before the first ``;``
outside brackets, parentheses, braces, strings, comments and ``match ... end``; a tactic with none has no
head. Coq's ``now``, ``intuition``, ``dintuition`` and ``firstorder`` take the whole sequence after them
(``now t1; t2`` is ``now (t1; t2)``, checked with coqtop 8.16), so a ``;`` after one of them at the same
level starts no head; ``try``, ``repeat``, ``do``, ``progress``, ``by`` and the other tacticals bind
tighter than ``;`` (``try t1; t2`` is ``(try t1); t2``) and are heads like any tactic.
"""

from __future__ import annotations

from prover.retrieval.tactic_tokens import MATCH_KEYWORDS, tokenize

_OPEN = {"(": ")", "[": "]", "{": "}", "⟨": "⟩", "⦃": "⦄"}

# Coq tacticals whose argument is a whole sequence ``t1; t2`` (level 5), not an atomic tactic.
_GREEDY = frozenset({"now", "intuition", "dintuition", "firstorder"})


def tactic_head(tactic: str) -> str | None:
    """The part of ``tactic`` before its first top-level ``;``, or None when there is no such ``;`` (also
    when a whole-sequence tactical such as ``now`` takes it), the head is empty, or the brackets do not
    balance before it (then the text is left as it is)."""
    closing: list[str] = []
    greedy = [False]  # per level: a tactical that takes the rest of the sequence was seen
    tokens = tokenize(tactic)
    for position, token in enumerate(tokens):
        word = token.kind == "ident" and not token.field
        if token.kind == "open":
            closing.append(_OPEN[token.text])
            greedy.append(False)
        elif token.kind == "close" or (word and token.text == "end"):
            if not closing or closing.pop() != token.text:
                return None
            greedy.pop()
        elif word and token.text in MATCH_KEYWORDS:
            closing.append("end")
            greedy.append(False)
        elif word and token.text in _GREEDY:
            following = tokens[position + 1] if position + 1 < len(tokens) else None
            greedy[-1] = greedy[-1] or (following is not None and following.text != ";")
        elif token.kind == "symbol" and token.text == ";" and not closing:
            if greedy[-1]:
                return None
            return tactic[:token.start].strip() or None
    return None
