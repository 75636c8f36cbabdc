"""Mapping the local names of a retrieved tactic onto the current state's.

A tactic recorded at state S mentions S's hypotheses and variables (``rewrite IHl``, ``apply H0``,
``induction n``). At the current state T those names may differ. Each local of S that the tactic mentions
is mapped to a local of T, preferring (in this order) the same type up to local names, the same name, the
same role (proposition or data) and the same distance from the end of the context (recent hypotheses
are usually the relevant ones). The mapping is one-to-one; a tactic whose locals cannot all be mapped is
dropped.

Only the tactic's free occurrences of names are references to the state
(``tactic_binders.name_occurrences``): names the tactic binds or introduces (``forall x``, ``fun x``,
``intros x``, ``as [x y]``, ``set (x := e)``, ``obtain ⟨x, hx⟩``), the occurrences they bind, a named
argument's name (``with (m := ...)`` names the lemma's binder) and components after a dot (``Nat.succ``,
``foo.h``) stay as they are; a projection's first component is a reference (``h.symm`` becomes
``hab.symm``). A mapping is refused (None) when a name it writes already occurs in the tactic for something
else: ``assert (forall a, a + n = n + a)`` with ``n`` mapped to ``a`` would bind the mapped ``a`` (another
statement), and a name written beside a global or an introduced name of the same spelling would be read as
the other one.
"""

from __future__ import annotations

from dataclasses import dataclass

from prover.retrieval.state_text import Goal, identifiers, is_prop
from prover.retrieval.tactic_binders import name_occurrences


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
    it uses has no counterpart or a renamed local would be captured."""
    src = source if isinstance(source, Context) else Context.of(source)
    if not src.names:
        return tactic
    occurrences = name_occurrences(tactic)
    used = list(dict.fromkeys(o.name for o in occurrences if o.role == "free" and o.name in src.names))
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
    renamed = {k: v for k, v in mapping.items() if k != v}
    if not renamed:
        return tactic
    rewritten = [o for o in occurrences if o.role == "free" and o.name in renamed]
    written, moved = set(renamed.values()), {o.start for o in rewritten}
    if any(o.name in written and o.start not in moved for o in occurrences):
        return None  # the new name would be read as (or bound by) the tactic's own name of that spelling
    pieces: list[str] = []
    last = 0
    for occurrence in rewritten:
        pieces += [tactic[last:occurrence.start], renamed[occurrence.name]]
        last = occurrence.end
    return "".join([*pieces, tactic[last:]])
