"""Normalised goal keys: the same proof state up to the names of its hypotheses.

``x y : ℕ\\nh : x = y\\n⊢ y = x`` and ``a b : ℕ\\nhab : a = b\\n⊢ b = a`` share one key, so searches can
share what they proved or failed to prove. A cached proof is stored with canonical names and translated
to the names of the state that reuses it; the whole-proof verification that follows any reuse is what
makes it sound, not the translation.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Hypothesis lines, as each assistant prints them. Lean: at column 0, names separated by spaces, then
# " : " (the conclusion starts with "⊢", wrapped lines are indented). Coq: above a goal's "====" bar,
# indented by two spaces, names separated by ", " (below the bar is the conclusion, whose binders
# "forall b : bool" must not count; wrapped types are indented further).
_NAME_CHARS = r"[^\s:,()\[\]{}⊢=]+"
_LEAN_HYP = re.compile(rf"^(?P<names>{_NAME_CHARS}(?: {_NAME_CHARS})*) : ")
_COQ_HYP = re.compile(rf"^ {{0,2}}(?P<names>{_NAME_CHARS}(?:, {_NAME_CHARS})*) : ")
_COQ_BAR = re.compile(r"^\s*={5,}\s*$")
_COQ_NEXT_GOAL = re.compile(r"^goal \d+ (?:\(ID \d+\) )?is:")
_IDENT = re.compile(r"[^\W\d][\w'!?]*(?:\.[^\W\d][\w'!?]*)*")
_NAME = re.compile(r"^[^\W\d][\w'!?]*$")
CANONICAL_PREFIX = "h_"


@dataclass(frozen=True)
class GoalKey:
    """``key`` is the state text with hypotheses renamed ``h_0, h_1, ...`` in order of appearance;
    ``names`` maps each original name to its canonical one. ``projections``: whether ``h.x`` is a
    projection of the hypothesis ``h`` (Lean) rather than the name ``x`` in module ``h`` (Coq)."""

    key: str
    names: Mapping[str, str]
    projections: bool = True

    def to_canonical(self, tactics: Sequence[str]) -> tuple[str, ...]:
        return tuple(rename(t, self.names, projections=self.projections) for t in tactics)

    def from_canonical(self, tactics: Sequence[str]) -> tuple[str, ...]:
        back = {canonical: name for name, canonical in self.names.items()}
        return tuple(rename(t, back, projections=self.projections) for t in tactics)


def goal_key(pp: str) -> GoalKey:
    """``pp``'s key. Each goal's hypotheses are renamed in that goal alone: in ``case a`` with ``f : ℕ``
    and ``case b`` without it, the ``f`` of ``case b`` is a global and keeps its name. A name gets one
    canonical name in every goal that has it as a hypothesis (numbered in order of first appearance), so
    ``names`` translates tactics whichever goal they work on; a single-goal state's key is its text with
    every hypothesis renamed."""
    names: dict[str, str] = {}
    lines = pp.split("\n")
    coq = any(_COQ_BAR.match(line) for line in lines)
    blocks = _goal_blocks(lines, coq)
    own: list[set[str]] = []  # each goal's hypothesis names
    for block in blocks:
        own.append(set())
        for hypotheses in _hypothesis_lines(block, coq):
            for name in re.split(r"[\s,]+", hypotheses.strip()):
                if _NAME.match(name):
                    own[-1].add(name)
                    names.setdefault(name, f"{CANONICAL_PREFIX}{len(names)}")
    projections = not coq
    canonical = set(names.values())
    for block, mine in zip(blocks, own, strict=True):
        text = "\n".join(block)
        taken = {part for ident in _IDENT.findall(text) for part in (ident, ident.partition(".")[0])}
        if canonical & (taken - mine):
            return GoalKey(pp, {}, projections)  # a canonical name is taken in the text: could conflate
    renamed = (rename("\n".join(block), {name: names[name] for name in mine}, projections=projections)
               for block, mine in zip(blocks, own, strict=True))
    return GoalKey("\n".join(renamed), names, projections)


def _goal_blocks(lines: list[str], coq: bool) -> list[list[str]]:
    """``lines`` cut into one run of lines per goal (joined with newlines they give the text back): in
    Coq's layout a goal starts at its ``goal k is:`` line; in Lean's, goals are separated by a blank line
    (the blank line ends the goal before it)."""
    blocks: list[list[str]] = [[]]
    for line in lines:
        ends_goal = bool(blocks[-1]) and not coq and not blocks[-1][-1].strip() and bool(line.strip())
        if ends_goal or (coq and _COQ_NEXT_GOAL.match(line) and blocks[-1]):
            blocks.append([])
        blocks[-1].append(line)
    return blocks


def _hypothesis_lines(lines: list[str], coq: bool) -> list[str]:
    """The names part of every hypothesis line of a state's ``lines`` (Coq's layout when it has a goal
    bar)."""
    if not coq:
        return [m.group("names") for m in map(_LEAN_HYP.match, lines) if m is not None]
    found: list[str] = []
    above_bar = True
    for line in lines:
        if _COQ_BAR.match(line):
            above_bar = False
        elif _COQ_NEXT_GOAL.match(line):
            above_bar = True
        elif above_bar and (match := _COQ_HYP.match(line)) is not None:
            found.append(match.group("names"))
    return found


def context_tag(context: str) -> str:
    """What leads the keys of a cache shared by theorems whose headers differ: the same goal text means
    the same goal only under the same header (a header's ``Definition d n := n + 1`` and another's
    ``d n := n * 1`` print ``d 0 = 0`` alike), so the header's digest; nothing for an empty header."""
    if not context.strip():
        return ""
    return f"[context {hashlib.sha256(context.encode()).hexdigest()[:16]}]\n"


def rename(text: str, names: Mapping[str, str], *, projections: bool = True) -> str:
    """Replace whole identifiers (not parts of dotted names such as ``Nat.h``) by their new names.

    With ``projections`` a dotted identifier whose first component is renamed keeps its projection:
    ``h.symm`` with ``h -> h_0`` becomes ``h_0.symm``; without (Coq, where ``M.f`` names ``f`` in module
    ``M`` whatever hypothesis is called ``M``), dotted identifiers are left alone."""
    if not names:
        return text

    def swap(match: re.Match[str]) -> str:
        ident = match.group(0)
        head, dot, rest = ident.partition(".")
        if head in names and (projections or not dot):
            return names[head] + dot + rest
        return ident

    return _IDENT.sub(swap, text)
