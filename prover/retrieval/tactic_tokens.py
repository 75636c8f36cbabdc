"""Reading a retrieved tactic's text as tokens: identifiers (a dotted name whole, a component after a dot
marked as a field), numbers, strings, brackets and symbols, with comments left out. The heads of compound
tactics (``tactic_heads``) and the names a tactic binds (``tactic_binders``) are read from these tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_TOKEN = re.compile(r"""
  (?P<comment>\(\*.*?(?:\*\)|\Z))
| (?P<string>"(?:[^"]|"")*(?:"|\Z))
| (?P<ident>[^\W\d][\w']*(?:\.(?:[^\W\d][\w']*|\d+))*)
| (?P<number>\d+)
| (?P<open>[(\[{⟨⦃])
| (?P<close>[)\]}⟩⦄])
| (?P<symbol><;>|:=|::|=>|\|\||\|-|[|:,;↦∀∃∑∏⋃⋂⨆⨅]|[^\w\s()\[\]{}⟨⟩⦃⦄"|:,;↦∀∃∑∏⋃⋂⨆⨅]+)
""", re.VERBOSE | re.DOTALL)

TokenKind = Literal["ident", "number", "string", "open", "close", "symbol"]


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    start: int
    end: int
    newline: bool  # a line break between this token and the one before
    field: bool = False  # an identifier right after a dot (``.symm``, Lean's ``.inl``): no local's name


def tokenize(tactic: str) -> list[Token]:
    """The tokens of ``tactic``, comments left out; every other character is in a token or is space."""
    out: list[Token] = []
    last = 0
    for match in _TOKEN.finditer(tactic):
        kind, start = match.lastgroup, match.start()
        newline = "\n" in tactic[last:start]
        last = match.end()
        if kind == "comment" or kind is None:
            continue
        field = (kind == "ident" and start > 0 and tactic[start - 1] == "."
                 and tactic[max(0, start - 2):start] != "..")
        out.append(Token(kind, match.group(), start, match.end(), newline, field))  # type: ignore[arg-type]
    return out


# Keywords that open a ``match ... end`` block: its ``end`` closes it like a bracket.
MATCH_KEYWORDS = frozenset({"match", "lazymatch", "multimatch"})
