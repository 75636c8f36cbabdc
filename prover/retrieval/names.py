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

from prover.retrieval.state_text import Goal, identifiers, is_prop


def _signature(typ: str, locals_: set[str]) -> tuple[str, ...]:
    return tuple("_" if t in locals_ else t for t in identifiers(typ))


def map_tactic(tactic: str, source: Goal, target: Goal) -> str | None:
    """``tactic`` (recorded at ``source``) with its locals renamed to ``target``'s, or None when a local
    it uses has no counterpart."""
    source_names = source.names
    if not source_names:
        return tactic
    used = [n for n in dict.fromkeys(identifiers(tactic)) if n in source_names]
    if not used:
        return tactic
    src_locals, tgt_locals = set(source_names), set(target.names)
    src = {name: (i, typ) for i, (name, typ) in enumerate(source.hypotheses)}
    tgt = list(enumerate(target.hypotheses))
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for name in used:
        index, typ = src[name]
        signature, prop, from_end = _signature(typ, src_locals), is_prop(typ), len(source_names) - index
        best: tuple[float, str] | None = None
        for j, (candidate, ctyp) in tgt:
            if candidate in taken:
                continue
            score = (4.0 * (_signature(ctyp, tgt_locals) == signature) + 2.0 * (candidate == name)
                     + 1.0 * (is_prop(ctyp) == prop) - 0.1 * abs((len(tgt) - j) - from_end))
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
