"""Normalised goal keys: the same proof state up to the names of its hypotheses.

``x y : ℕ\\nh : x = y\\n⊢ y = x`` and ``a b : ℕ\\nhab : a = b\\n⊢ b = a`` share one key, so searches can
share what they proved or failed to prove. A cached proof is stored with canonical names and translated
to the names of the state that reuses it; the whole-proof verification that follows any reuse is what
makes it sound, not the translation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# a hypothesis line: names (space or comma separated), " : ", its type (Lean and Coq print it so)
_HYP_LINE = re.compile(r"^(?P<names>[^\s:⊢=][^:⊢]*?) : ", re.MULTILINE)
_IDENT = re.compile(r"[^\W\d][\w'!?]*(?:\.[^\W\d][\w'!?]*)*")
_NAME = re.compile(r"^[^\W\d][\w'!?]*$")
CANONICAL_PREFIX = "h_"


@dataclass(frozen=True)
class GoalKey:
    """``key`` is the state text with hypotheses renamed ``h_0, h_1, ...`` in order of appearance;
    ``names`` maps each original name to its canonical one."""

    key: str
    names: Mapping[str, str]

    def to_canonical(self, tactics: Sequence[str]) -> tuple[str, ...]:
        return tuple(rename(t, self.names) for t in tactics)

    def from_canonical(self, tactics: Sequence[str]) -> tuple[str, ...]:
        back = {canonical: name for name, canonical in self.names.items()}
        return tuple(rename(t, back) for t in tactics)


def goal_key(pp: str) -> GoalKey:
    names: dict[str, str] = {}
    for match in _HYP_LINE.finditer(pp):
        for name in re.split(r"[\s,]+", match.group("names").strip()):
            if _NAME.match(name) and name not in names:
                names[name] = f"{CANONICAL_PREFIX}{len(names)}"
    return GoalKey(rename(pp, names), names)


def rename(text: str, names: Mapping[str, str]) -> str:
    """Replace whole identifiers (not parts of dotted names such as ``Nat.h``) by their new names.

    A dotted identifier whose first component is renamed keeps its projection: ``h.symm`` with
    ``h -> h_0`` becomes ``h_0.symm``."""
    if not names:
        return text

    def swap(match: re.Match[str]) -> str:
        ident = match.group(0)
        head, dot, rest = ident.partition(".")
        if head in names:
            return names[head] + dot + rest
        return ident

    return _IDENT.sub(swap, text)
