"""Reading what ``lake env lean --json FILE`` printed for a whole proof, and deciding whether it is proved.

With ``--json`` Lean prints every message of the file as one JSON object a line (``SerialMessage``:
``fileName``, ``pos`` ``{line, column}``, ``endPos``, ``severity`` — ``information``, ``warning`` or
``error`` —, ``caption``, ``data``). Lake reads Lean's messages this way itself (``compileLeanModule``).
Positions are what make the verdict unforgeable: a tactic can log any text (``trace``), but only at its
own position inside the proof, never at the ``#print axioms`` line after it. So the verdict is sound
only if every way of failing is caught:

- any ``error`` message, or a non-zero exit code even without a readable message;
- a ``declaration uses 'sorry'`` warning (Lean accepts the file but the proof is not finished);
- the axioms report is read from exactly one ``information`` message positioned on the ``#print axioms``
  line, whose whole text is the report for the target (a look-alike anywhere else is ignored; none, two,
  or a report with any other text there is a failure), and it may list only ``propext``,
  ``Classical.choice`` and ``Quot.sound``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from search.types import Verdict

ALLOWED_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})

_REPORT = re.compile(
    r"'(?P<name>(?:«[^»\n]*»|[^\s«])+?)'\s+"  # a name, escaped parts («my thm») may hold spaces
    r"(?:depends\s+on\s+axioms:\s*\[(?P<axioms>[^\]]*)\]|does\s+not\s+depend\s+on\s+any\s+axioms)\s*"
)
_SORRY = re.compile(r"declaration uses ['`]sorry['`]")
_SEVERITIES = {"information": "info", "info": "info", "warning": "warning", "error": "error"}


@dataclass(frozen=True)
class LeanMessage:
    """One positioned message; ``line`` is 1-based as Lean counts, ``col`` 0-based."""

    severity: str
    line: int
    col: int
    text: str


@dataclass(frozen=True)
class AxiomsReport:
    """What ``#print axioms NAME`` said: the constant and the axioms it depends on."""

    name: str
    axioms: tuple[str, ...]

    def names(self, target: str) -> bool:
        """Whether the report is about ``target`` (the name the checked file declared, perhaps inside a
        namespace), read without Lean's «» escapes on either side: Lean prints ``'«1st_step»'``."""
        reported, wanted = (text.replace("«", "").replace("»", "") for text in (self.name, target))
        return reported == wanted or reported.endswith("." + wanted)


def parse_axioms_report(text: str) -> AxiomsReport | None:
    """The report when ``text`` is exactly one ``'NAME' depends on axioms: [...]`` or ``'NAME' does not
    depend on any axioms`` (lists may wrap over lines); ``None`` for any other text."""
    match = _REPORT.fullmatch(text.strip() + " ")
    if match is None:
        return None
    listed = match["axioms"] or ""
    axioms = tuple(a for a in (part.strip() for part in listed.replace("\n", " ").split(",")) if a)
    return AxiomsReport(match["name"], axioms)


def parse_json_messages(stdout: str) -> tuple[list[LeanMessage], list[str]]:
    """The JSON messages of ``lean --json`` output, and the other non-empty lines (raw output)."""
    messages: list[LeanMessage] = []
    raw: list[str] = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        message = _json_message(line)
        if message is None:
            raw.append(line)
        else:
            messages.append(message)
    return messages, raw


def _json_message(line: str) -> LeanMessage | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("pos"), dict):
        return None
    severity = _SEVERITIES.get(str(data.get("severity")))
    line_no, col = data["pos"].get("line"), data["pos"].get("column")
    if severity is None or not isinstance(line_no, int) or not isinstance(col, int):
        return None
    caption = data.get("caption") or ""
    text = str(data.get("data", ""))
    return LeanMessage(severity, line_no, col, f"{caption}:\n{text}" if caption else text)


def verdict_from_json_output(stdout: str, returncode: int | None, *, target: str, print_line: int,
                             proof_text: str, stderr: str = "") -> Verdict:
    """Decide from ``lean --json``'s stdout and exit code whether the proof of ``target`` is accepted;
    ``print_line`` is the 1-based line of ``#print axioms target`` in the checked file. ``messages`` of a
    failed verdict says why, errors first."""
    messages, raw = parse_json_messages(stdout)
    problems = [f"line {m.line}: {m.text}" for m in messages if m.severity == "error"]
    if any(m.severity == "warning" and _SORRY.search(m.text) for m in messages):
        problems.append("the proof uses sorry")
    at_print = [m for m in messages if m.line == print_line]
    reports = [m for m in at_print if m.severity == "info"]
    axioms: tuple[str, ...] = ()
    report = parse_axioms_report(reports[0].text) if len(reports) == 1 else None
    if len(reports) != 1 or len(at_print) != 1:
        problems.append(f"expected one message from `#print axioms {target}` on line {print_line}, "
                        f"found {len(at_print)}")
    elif report is None:
        problems.append(f"the message on the `#print axioms` line is not an axioms report: "
                        f"{reports[0].text[:200]!r}")
    else:
        axioms = report.axioms
        if not report.names(target):
            problems.append(f"the axioms report names {report.name!r}, not {target!r}")
        extra = sorted(set(axioms) - ALLOWED_AXIOMS)
        if extra:
            problems.append("uses axioms beyond propext, Classical.choice, Quot.sound: " + ", ".join(extra))
    if returncode not in (0, None) and not any(m.severity == "error" for m in messages):
        tail = "\n".join([*raw, stderr.strip()]).strip()[-500:]
        problems.append(f"lean exited with code {returncode}" + (f": {tail}" if tail else ""))
    return Verdict(ok=not problems, messages=tuple(problems), axioms=axioms, proof_text=proof_text)
