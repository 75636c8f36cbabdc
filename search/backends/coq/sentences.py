"""Coq sentences as plain text: where one ends, and the one spelling of a tactic sent to Coq.

A Coq sentence ends with a ``.`` followed by whitespace or the end of the text. Dots followed by anything
else belong to the sentence: qualified names (``Nat.add_comm``), numerals (``1.5``), projections
(``x.(f)``). Comments and string literals could hide a terminator from this rule, so the safety filter
refuses them before any text is split here.
"""

from __future__ import annotations

import re

from search.errors import ProverError

# A terminator as Coq's lexer sees it: a dot, then whitespace or the end of the text.
_TERMINATOR = re.compile(r"\.(?=\s|\Z)")
_WHITESPACE_RUN = re.compile(r"\s+")


class SentenceError(ProverError, ValueError):
    """The text is not a sequence of complete sentences."""


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences, each kept with its final ``.`` and stripped of outer whitespace.

    Raises ``SentenceError`` when text follows the last terminator (an unfinished sentence) or a sentence
    is empty (``..`` or a lone ``.``).
    """
    sentences: list[str] = []
    start = 0
    for match in _TERMINATOR.finditer(text):
        sentence = text[start : match.end()].strip()
        if sentence == "." or sentence.endswith(".."):
            raise SentenceError(f"empty sentence or ellipsis near {sentence[-40:]!r}")
        sentences.append(sentence)
        start = match.end()
    rest = text[start:].strip()
    if rest:
        raise SentenceError(f"unfinished sentence (no final '.'): {rest[:60]!r}")
    return sentences


def has_terminator(text: str) -> bool:
    """Whether ``text`` contains a sentence terminator anywhere."""
    return _TERMINATOR.search(text) is not None


def tactic_body(tactic: str) -> str:
    """The tactic without its optional final ``.``, whitespace runs collapsed to one space.

    This is the one spelling used both in the coqtop session and in the rendered proof, so the two can
    never disagree. Collapsing whitespace is safe because the filter refuses strings and comments, the
    only places where Coq reads whitespace literally.
    """
    body = _WHITESPACE_RUN.sub(" ", tactic).strip()
    if body.endswith(".") and not body.endswith(".."):
        body = body[:-1].rstrip()
    return body


def tactic_sentence(tactic: str) -> str:
    """The tactic as one sentence: its body and a final ``.``."""
    return tactic_body(tactic) + "."
