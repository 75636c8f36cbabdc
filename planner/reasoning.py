"""The part of a model's answer that is its answer, not its reasoning.

Reasoning models write ``<think>...</think>`` before the answer; some chat templates open the ``<think>``
themselves, so the reply holds only the closing tag; a reply cut off by its token limit may end inside an
unclosed ``<think>``. A draft plan in the reasoning must never be read as the plan, so everything up to the
last ``</think>`` is dropped, and an unclosed ``<think>`` drops the rest. Windows line endings become
``\\n`` (the fence patterns of both parsers read lines).
"""

from __future__ import annotations

import re

_OPEN = re.compile(r"<think>", re.I)
_CLOSE = re.compile(r"</think>", re.I)


def answer_part(text: str) -> str:
    """``text`` without its reasoning (see the module docstring), with ``\\n`` line endings."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    closes = list(_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end():]
    opened = _OPEN.search(text)
    return text[:opened.start()] if opened else text
