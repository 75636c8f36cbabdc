"""Rendering a linear tactic list as Lean 4 proof text."""

from __future__ import annotations

from collections.abc import Sequence


def lean_by_block(tactics: Sequence[str], indent: int = 2) -> str:
    """``by`` followed by one tactic per line; the lines of a multi-line tactic keep their relative
    indentation under the block's."""
    if not tactics:
        raise ValueError("a proof needs at least one tactic")
    pad = " " * indent
    lines = ["by"]
    for tactic in tactics:
        lines.extend(pad + line if line.strip() else "" for line in tactic.strip("\n").split("\n"))
    return "\n".join(lines)


def lean_theorem_text(header: str, statement: str, tactics: Sequence[str]) -> str:
    """The whole file Lean checks: header, statement (ending in ``:=``) and the ``by`` block."""
    body = statement.rstrip()
    head = header.rstrip("\n") + "\n\n" if header.strip() else ""
    return f"{head}{body} {lean_by_block(tactics)}\n"
