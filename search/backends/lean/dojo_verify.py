"""Whole-proof verification by running ``lake env lean`` on one file, with a deadline.

``lean_dojo.check_proof`` is not enough: it has no timeout (``subprocess.run`` without one), does not look
at axioms, and only searches for ``sorry`` warnings inside the theorem's lines. Here the checked file is
``header``, the statement with its ``by`` block, then ``#print axioms NAME``; Lean runs in its own process
group (``ManagedProcess``) inside a Lake project whose packages match the header (the traced LeanDojo
repository, or ``lean_project/``), and the whole group is killed at the deadline. Lean prints its messages
as JSON with their positions (``--json``), and ``dojo_verify_output.verdict_from_json_output`` reads the
axioms only from the message on the ``#print axioms`` line, which no tactic can write to.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from search.backends.lean.dojo_process import ProcessOutcome, run_process
from search.backends.lean.dojo_verify_output import verdict_from_json_output
from search.backends.lean.safety_lexer import Kind, Token, lex
from search.backends.lean.safety_theorem import declaration_start
from search.errors import BackendUnavailableError
from search.lean_proof import lean_theorem_text
from search.types import Verdict

logger = logging.getLogger(__name__)

VERIFY_TARGET = "prover_verify_target"  # the name given to an `example` or anonymous `instance`


def named_statement(statement: str) -> tuple[str, str]:
    """``(statement, name)``: the statement with a name ``#print axioms`` can refer to, and that name.

    A ``theorem``/``lemma``/``def``/``abbrev``/named ``instance`` keeps its text; ``example`` becomes
    ``theorem prover_verify_target``; an anonymous ``instance`` gets that name inserted. Raises
    ``ValueError`` for text that is not a single declaration (``check_lean_theorem`` refuses it first).
    """
    tokens = lex(statement)
    start = declaration_start(tokens)
    if isinstance(start, str):
        raise ValueError(start)
    keyword = tokens[start]
    if keyword.text == "example":
        end = keyword.offset + len(keyword.text)
        return statement[: keyword.offset] + f"theorem {VERIFY_TARGET}" + statement[end:], VERIFY_TARGET
    index = _after_priority(tokens, start + 1) if keyword.text == "instance" else start + 1
    name = tokens[index] if index < len(tokens) else None
    if name is not None and name.kind is Kind.IDENT:
        return statement, name.text
    if keyword.text != "instance":
        raise ValueError(f"cannot find the name declared by `{keyword.text}`")
    at = name.offset if name is not None else len(statement)
    return statement[:at] + f"{VERIFY_TARGET} " + statement[at:], VERIFY_TARGET


def _after_priority(tokens: list[Token], index: int) -> int:
    """The index after ``(priority := n)`` when it starts at ``index``; ``index`` otherwise."""
    if not (index + 1 < len(tokens) and tokens[index].text == "(" and tokens[index + 1].text == "priority"):
        return index
    depth = 0
    for position in range(index, len(tokens)):
        depth += {"(": 1, ")": -1}.get(tokens[position].text, 0)
        if depth == 0:
            return position + 1
    return len(tokens)


def verification_file(header: str, statement: str, tactics: Sequence[str]) -> tuple[str, str, str]:
    """``(file text, target name, proof text)``: what Lean checks, and the proof as the user sees it."""
    proof_text = lean_theorem_text(header, statement, tactics)
    named, target = named_statement(statement)
    checked = lean_theorem_text(header, named, tactics) + f"\n#print axioms {target}\n"
    return checked, target, proof_text


def print_axioms_line(checked: str) -> int:
    """The 1-based line of the final ``#print axioms`` command in a ``verification_file`` text."""
    return checked.rstrip("\n").count("\n") + 1


@dataclass(frozen=True, kw_only=True)
class LeanFileChecker:
    """Runs ``lake env lean --json --threads=N [--memory=MB] FILE`` in ``project`` (a built Lake project).

    ``timeout`` is in seconds for the whole run; ``memory_mb`` is passed to Lean's own ``--memory`` (an
    address-space rlimit breaks Lean's memory-mapped .olean files); ``tmp_dir`` holds the temporary file.
    """

    project: Path
    lake: str = "lake"
    timeout: float = 300.0
    memory_mb: int | None = 32768
    threads: int = 1
    tmp_dir: Path | None = None

    def argv(self, path: Path) -> list[str]:
        argv = [self.lake, "env", "lean", "--json", f"--threads={self.threads}"]
        if self.memory_mb is not None:
            argv.append(f"--memory={self.memory_mb}")
        return [*argv, str(path)]

    def verify(self, header: str, statement: str, tactics: Sequence[str]) -> Verdict:
        """Check the whole proof; raises ``BackendUnavailableError`` when Lake cannot be started."""
        text, target, proof_text = verification_file(header, statement, tactics)
        if self.tmp_dir is not None:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix="prover_verify_", suffix=".lean", dir=self.tmp_dir)
        path = Path(name)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            outcome = self.run(path)
        finally:
            path.unlink(missing_ok=True)
        if outcome.timed_out:
            return Verdict(False, (f"verification timed out after {self.timeout:g} s",), (), proof_text)
        return verdict_from_json_output(outcome.stdout, outcome.returncode, target=target,
                                        print_line=print_axioms_line(text), proof_text=proof_text,
                                        stderr=outcome.stderr)

    def run(self, path: Path) -> ProcessOutcome:
        """Lean's output on ``path``; raises ``BackendUnavailableError`` when ``lake`` is missing."""
        try:
            return run_process(self.argv(path), timeout=self.timeout, cwd=self.project, name="lean-verify")
        except FileNotFoundError as exc:
            raise BackendUnavailableError(
                "dojo", f"cannot run {self.lake!r}: {exc}", "install Lean with `prover setup`"
            ) from exc
