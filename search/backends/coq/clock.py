"""Tactics bounded by Coq's ``timeout N`` in a session, and the same tactics without the clock in a proof.

A policy may give a tactic that is often slow when it fails (``sauto``, ``nra`` on a large goal) a limit of
its own, shorter than the search's per-tactic limit: ``timeout 2 sauto`` fails after 2 s, so one state
does not spend the search's whole budget on it. When such a tactic succeeded, it finished within its limit;
the tactics Coq offers are deterministic, so the same tactic without the limit does the same. The verified
proof holds it without the limit (``without_clock``): coqc on a busier machine then cannot fail a proof
the session found only because a clock ran out.
"""

from __future__ import annotations

import re

_BOUNDED = re.compile(r"^timeout\s+\d+\s+(?P<tactic>\S.*)$", re.DOTALL)


def bounded(tactic: str, seconds: int) -> str:
    """``tactic`` under a limit of ``seconds`` (whole seconds, as Coq's ``timeout`` takes)."""
    if seconds < 1:
        raise ValueError(f"a tactic's limit is at least 1 s, got {seconds}")
    inner = tactic if re.fullmatch(r"[\w.' ]+", tactic) else f"({tactic})"
    return f"timeout {seconds} {inner}"


def without_clock(tactic: str) -> str:
    """The tactic without an outermost ``timeout N`` (and the parentheses ``bounded`` put around it);
    any other tactic unchanged."""
    match = _BOUNDED.match(tactic.strip())
    if match is None:
        return tactic
    inner = match.group("tactic").strip()
    return inner[1:-1].strip() if _enclosed(inner) else inner


def _enclosed(text: str) -> bool:
    """Whether ``text`` is one parenthesised group: ``(a; b)``, not ``(a); (b)``."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and index < len(text) - 1:
            return False
    return True
