"""Reading what ``lake env lean FILE`` printed for a whole proof, and deciding whether it is proved.

Lean's command-line driver prints errors and warnings as ``FILE:LINE:COL: error: text`` (since 2025 also
``error(lean.someName): text``; with an end position ``FILE:L:C-L2:C2: …``), continuation lines following,
and info messages (``#print axioms``, ``trace``) as raw text with no position. The verdict is sound only
if every way of failing is caught:

- any ``error`` message, or a non-zero exit code even without a readable message;
- a ``declaration uses 'sorry'`` warning (Lean accepts the file but the proof is not finished);
- the ``#print axioms`` report: exactly one must be present (none means the file did not get that far;
  more than one means some tactic printed a look-alike, e.g. through ``trace``), and it may list only
  ``propext``, ``Classical.choice`` and ``Quot.sound``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search.types import Verdict

ALLOWED_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})

_HEADER = re.compile(
    r"^(?P<file>[^\n]*?):(?P<line>\d+):(?P<col>\d+)(?:-\d+:\d+)?: "
    r"(?P<severity>error|warning|info|information)(?:\([^)\n]*\))?:[ ]?(?P<text>[^\n]*)$",
    re.MULTILINE,
)
_AXIOMS = re.compile(
    r"'(?P<name>[^\s]+?)'\s+"
    r"(?:depends\s+on\s+axioms:\s*\[(?P<axioms>[^\]]*)\]|does\s+not\s+depend\s+on\s+any\s+axioms)"
)
_SORRY = re.compile(r"declaration uses ['`]sorry['`]")


@dataclass(frozen=True)
class LeanMessage:
    """One positioned message; ``line`` is 1-based as Lean prints it, ``text`` may span lines."""

    severity: str
    line: int
    col: int
    text: str


@dataclass(frozen=True)
class AxiomsReport:
    """What ``#print axioms NAME`` said: the constant and the axioms it depends on."""

    name: str
    axioms: tuple[str, ...]


def parse_messages(output: str) -> list[LeanMessage]:
    """The positioned messages in ``output``, each with its continuation lines (up to the next message).

    Raw info text between messages ends up in the preceding message's text; this only matters for
    messages that are themselves failures, so it never turns a failure into a success."""
    headers = list(_HEADER.finditer(output))
    messages = []
    for index, match in enumerate(headers):
        end = headers[index + 1].start() if index + 1 < len(headers) else len(output)
        rest = output[match.end():end].strip("\n")
        text = match["text"] + ("\n" + rest if rest else "")
        severity = "info" if match["severity"] == "information" else match["severity"]
        messages.append(LeanMessage(severity, int(match["line"]), int(match["col"]), text.rstrip()))
    return messages


def parse_axioms_reports(output: str) -> list[AxiomsReport]:
    """Every ``'NAME' depends on axioms: [...]`` / ``'NAME' does not depend on any axioms`` in ``output``
    (lists may wrap over several lines)."""
    reports = []
    for match in _AXIOMS.finditer(output):
        listed = match["axioms"] or ""
        axioms = tuple(a for a in (part.strip() for part in listed.replace("\n", " ").split(",")) if a)
        reports.append(AxiomsReport(match["name"], axioms))
    return reports


def verdict_from_output(
    output: str, returncode: int | None, *, target: str, proof_text: str
) -> Verdict:
    """Decide from Lean's whole output (stdout and stderr) and exit code whether the proof of ``target``
    is accepted; ``messages`` of a failed verdict says why, errors first."""
    messages = parse_messages(output)
    problems = [f"line {m.line}: {m.text}" for m in messages if m.severity == "error"]
    if any(m.severity == "warning" and _SORRY.search(m.text) for m in messages):
        problems.append("the proof uses sorry")
    reports = parse_axioms_reports(output)
    axioms: tuple[str, ...] = ()
    if len(reports) != 1:
        problems.append(f"expected one `#print axioms {target}` report, found {len(reports)}")
    else:
        report = reports[0]
        axioms = report.axioms
        wanted = target.replace("«", "").replace("»", "")
        if report.name != wanted and not report.name.endswith("." + wanted):
            problems.append(f"the axioms report names {report.name!r}, not {target!r}")
        extra = sorted(set(axioms) - ALLOWED_AXIOMS)
        if extra:
            problems.append("uses axioms beyond propext, Classical.choice, Quot.sound: " + ", ".join(extra))
    if returncode not in (0, None) and not any(m.severity == "error" for m in messages):
        tail = output.strip()[-500:]
        problems.append(f"lean exited with code {returncode}" + (f": {tail}" if tail else ""))
    return Verdict(ok=not problems, messages=tuple(problems), axioms=axioms, proof_text=proof_text)
