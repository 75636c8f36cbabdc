"""Reading coqtop's answers to ``Print Assumptions`` and ``About``, as text no proof can have written.

These answers are read from a coqtop that only loaded the compiled proof (see ``verify``): a tactic runs
when the proof is compiled, never when its ``.vo`` is loaded, so nothing in them comes from proof text.
The parse still fails closed: a line it does not understand is a rejection, never an ignored line.

``Print Assumptions`` (Coq 8.16) answers ``Closed under the global context``, or sections such as
``Axioms:`` whose entries start in column 0 (``NAME : TYPE`` on one line, or ``NAME`` with its type on
indented lines below). Unsafe definitions are entries of ``Axioms:`` too, written as sentences:
``G.loop is assumed to be guarded.`` (``Unset Guard Checking``), ``G.bad is assumed to be positive.``,
``G.h relies on an unsafe hierarchy.`` (``Unset Universe Checking``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search.errors import ProverError

CLOSED = "Closed under the global context"

# Messages coqtop -emacs wraps in tags (loading notices, "Fetching opaque proofs ...", warnings).
_TAGGED = re.compile(r"<(infomsg|warning)>.*?</\1>", re.DOTALL)
_ENTRY = re.compile(r"^(?P<name>[^\s:@]+)(?:@\{[^}]*\})?(?:\s*:(?:\s.*)?)?$")
_UNSAFE = re.compile(r"^(?P<name>\S+) (?:is assumed to be \w+|relies on an unsafe \w+)\.?$")
_EXPANDS = re.compile(r"^Expands to: Constant\s+(?P<name>\S+)\s*$", re.MULTILINE)  # may wrap


class AssumptionsError(ProverError, ValueError):
    """coqtop's answer is not one this module understands; the proof must be rejected."""


@dataclass(frozen=True)
class Assumptions:
    """What ``Print Assumptions`` listed: axiom names as printed (shortest unambiguous names, to be
    resolved with ``About``) and the entries that say a definition skipped a kernel check."""

    axioms: tuple[str, ...] = ()
    unsafe: tuple[str, ...] = ()


def strip_tags(output: str) -> str:
    """``output`` without coqtop's tagged info messages and warnings."""
    return _TAGGED.sub("", output)


def parse_assumptions(output: str) -> Assumptions:
    """Parse the answer to one ``Print Assumptions NAME.``; raises ``AssumptionsError`` for anything
    but ``Closed under the global context`` or an ``Axioms:`` section of well-formed entries."""
    text = strip_tags(output).strip("\n")
    if text.strip() == CLOSED:
        return Assumptions()
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "Axioms:":
        raise AssumptionsError(f"unexpected answer from Print Assumptions: {text[:300]!r}")
    axioms: list[str] = []
    unsafe: list[str] = []
    for line in lines[1:]:
        if line[0].isspace():
            continue  # the type of the entry above, on its indented continuation lines
        if _UNSAFE.match(line) is not None:
            unsafe.append(line)
        elif (match := _ENTRY.match(line)) is not None:
            axioms.append(match["name"])
        else:
            raise AssumptionsError(f"unexpected line in Print Assumptions' answer: {line[:200]!r}")
    return Assumptions(tuple(axioms), tuple(unsafe))


def parse_about_constant(output: str) -> str:
    """The kernel name in ``About NAME.``'s ``Expands to: Constant FULL.NAME`` line; raises
    ``AssumptionsError`` when there is no such single line (``NAME`` is not a constant)."""
    found = _EXPANDS.findall(strip_tags(output))
    if len(found) != 1:
        raise AssumptionsError(f"About gave no single constant: {strip_tags(output).strip()[:300]!r}")
    return found[0]
