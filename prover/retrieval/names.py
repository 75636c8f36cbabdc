"""Mapping the local names of a retrieved tactic onto the current state's.

A tactic recorded at state S mentions S's hypotheses and variables (``rewrite IHl``, ``apply H0``,
``induction n``). At the current state T those names may differ. Each local of S that the tactic mentions
is mapped to a local of T, preferring (in this order) the same type up to local names, the same name, the
same role (proposition or data) and the same distance from the end of the context (recent hypotheses
are usually the relevant ones). The mapping is one-to-one; a tactic whose locals cannot all be mapped is
dropped. Names the tactic introduces (``intros x``) and global names are left as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prover.retrieval.state_text import Goal, identifiers, is_prop


@dataclass(frozen=True)
class Context:
    """A goal's locals, each with its type's signature (identifiers, locals as ``_``) and role."""

    names: tuple[str, ...]
    signatures: tuple[tuple[str, ...], ...]
    props: tuple[bool, ...]

    @classmethod
    def of(cls, goal: Goal) -> Context:
        locals_ = set(goal.names)
        signatures = tuple(tuple("_" if t in locals_ else t for t in identifiers(typ))
                           for _, typ in goal.hypotheses)
        return cls(goal.names, signatures, tuple(is_prop(typ) for _, typ in goal.hypotheses))


def map_tactic(tactic: str, source: Goal | Context, target: Goal | Context) -> str | None:
    """``tactic`` (recorded at ``source``) with its locals renamed to ``target``'s, or None when a local
    it uses has no counterpart."""
    src = source if isinstance(source, Context) else Context.of(source)
    if not src.names:
        return tactic
    used = [n for n in dict.fromkeys(identifiers(tactic)) if n in src.names]
    if not used:
        return tactic
    tgt = target if isinstance(target, Context) else Context.of(target)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    size = len(tgt.names)
    for name in used:
        index = src.names.index(name)
        signature, prop, from_end = src.signatures[index], src.props[index], len(src.names) - index
        best: tuple[float, str] | None = None
        for j, candidate in enumerate(tgt.names):
            if candidate in taken:
                continue
            score = (4.0 * (tgt.signatures[j] == signature) + 2.0 * (candidate == name)
                     + 1.0 * (tgt.props[j] == prop) - 0.1 * abs((size - j) - from_end))
            if best is None or score > best[0]:
                best = (score, candidate)
        if best is None or best[0] < 0.5:
            return None
        mapping[name] = best[1]
        taken.add(best[1])
    if all(k == v for k, v in mapping.items()):
        return tactic
    pattern = re.compile(r"(?<![\w'.])(" + "|".join(map(re.escape, mapping)) + r")(?![\w'])")
    return pattern.sub(lambda m: mapping[m.group(1)], tactic)
