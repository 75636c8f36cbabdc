"""Whole-proof verification by file: the output parser on recorded-style Lean output, the checked file,
and ``LeanFileChecker`` against a fake ``lake`` (a real process: deadlines, process-group kill, cleanup)."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from search.backends.lean.dojo_process import run_process
from search.backends.lean.dojo_verify import (
    VERIFY_TARGET,
    LeanFileChecker,
    named_statement,
    verification_file,
)
from search.backends.lean.dojo_verify_output import (
    parse_axioms_report,
    parse_json_messages,
    verdict_from_json_output,
)
from search.errors import BackendUnavailableError

F = "/tmp/prover_verify_abc.lean"
PRINT_LINE = 9  # the line of `#print axioms t` in the checked file


def msg(severity: str, line: int, data: str, col: int = 0) -> str:
    """One line of `lean --json` output (Lean's SerialMessage)."""
    return json.dumps({"fileName": F, "pos": {"line": line, "column": col},
                       "endPos": {"line": line, "column": col + 6}, "keepFullRange": False,
                       "severity": severity, "caption": "", "data": data, "kind": "[anonymous]"}) + "\n"


CLASSICAL = msg("information", PRINT_LINE, "'t' depends on axioms: [propext, Classical.choice, Quot.sound]")

ACCEPTED = [
    (CLASSICAL, 0, ("propext", "Classical.choice", "Quot.sound")),
    (msg("information", PRINT_LINE, "'t' does not depend on any axioms"), 0, ()),
    (msg("warning", 3, "unused variable `h`\nnote: this linter can be disabled") + CLASSICAL, 0,
     ("propext", "Classical.choice", "Quot.sound")),
    (msg("information", PRINT_LINE, "'t' depends on axioms: [propext,\n  Classical.choice,\n  Quot.sound]"),
     0, ("propext", "Classical.choice", "Quot.sound")),
    (msg("information", PRINT_LINE, "'Foo.t' depends on axioms: [propext]"), 0, ("propext",)),
    (msg("information", 1, "Try this: exact foo") + msg("information", PRINT_LINE, "'t' depends on axioms: "
                                                        "[propext]"), 0, ("propext",)),
    # a tactic that logs a look-alike report inside the proof does not count: its line is not the report's
    (msg("information", 7, "'t' depends on axioms: [sorryAx]", col=2) + CLASSICAL, 0,
     ("propext", "Classical.choice", "Quot.sound")),
]

REFUSED = [
    (msg("warning", 5, "declaration uses 'sorry'", 8) + msg("information", PRINT_LINE,
                                                            "'t' depends on axioms: [sorryAx]"), 0, "sorry"),
    (msg("error", 6, "unsolved goals\nx : ℕ\n⊢ x = x", 2) + CLASSICAL, 1, "unsolved goals"),
    (msg("error", 6, "Unknown identifier `foo`", 8), 1, "Unknown identifier"),
    (msg("information", PRINT_LINE, "'t' depends on axioms: [propext, Classical.choice, Lean.ofReduceBool]"),
     0, "Lean.ofReduceBool"),
    (msg("information", PRINT_LINE, "'t' depends on axioms: [ax, propext]"), 0, "beyond propext"),
    ("", 0, "found 0"),  # the file stopped before `#print axioms` (e.g. #exit)
    # the attack of issue 11: a tactic logs the report a clean proof would get; the real one says sorryAx
    (msg("information", 7, "'t' does not depend on any axioms", col=2)
     + msg("information", PRINT_LINE, "'t' depends on axioms: [sorryAx]"), 0, "sorryAx"),
    # the same with the real report missing (the file stopped early): the look-alike is not read at all
    (msg("information", 7, "'t' does not depend on any axioms", col=2), 0, "found 0"),
    ("'t' does not depend on any axioms\n", 0, "found 0"),  # raw text is never a report
    (msg("information", PRINT_LINE, "'t' does not depend on any axioms") * 2, 0, "found 2"),
    (msg("information", PRINT_LINE, "'t' does not depend on any axioms\nand more text"), 0, "not an axioms"),
    (msg("information", PRINT_LINE, "'u' does not depend on any axioms"), 0, "names 'u'"),
    ("error: unknown executable lean\n", 1, "exited with code 1"),
    (CLASSICAL, 137, "exited with code 137"),
]


@pytest.mark.parametrize(("output", "code", "axioms"), ACCEPTED)
def test_clean_outputs_are_accepted(output: str, code: int, axioms: tuple[str, ...]) -> None:
    verdict = verdict_from_json_output(output, code, target="t", print_line=PRINT_LINE, proof_text="proof")
    assert verdict.ok, verdict.messages
    assert verdict.axioms == axioms and verdict.proof_text == "proof"


@pytest.mark.parametrize(("output", "code", "words"), REFUSED)
def test_failures_are_refused_with_the_reason(output: str, code: int, words: str) -> None:
    verdict = verdict_from_json_output(output, code, target="t", print_line=PRINT_LINE, proof_text="proof")
    assert not verdict.ok
    assert any(words in message for message in verdict.messages), verdict.messages


def test_json_messages_keep_position_severity_and_text() -> None:
    output = msg("error", 6, "unsolved goals\nx : ℕ\n⊢ x = x", 2) + "raw line\n" + msg("warning", 9, "w")
    messages, raw = parse_json_messages(output)
    assert [(m.severity, m.line, m.col) for m in messages] == [("error", 6, 2), ("warning", 9, 0)]
    assert messages[0].text == "unsolved goals\nx : ℕ\n⊢ x = x" and raw == ["raw line"]
    report = parse_axioms_report("'h'' does not depend on any axioms")
    assert report is not None and report.name == "h'" and report.axioms == ()
    assert parse_axioms_report("trace: 't' does not depend on any axioms") is None


def test_names_lean_escapes_are_read_as_the_declared_name() -> None:
    """Lean prints a name that is no plain identifier escaped (``'«1st_step»'``), spaces included."""
    spaced = parse_axioms_report("'«my thm»' depends on axioms: [propext]")
    assert spaced is not None and spaced.axioms == ("propext",) and spaced.names("«my thm»")
    first = parse_axioms_report("'Ns.«1st_step»' does not depend on any axioms")
    assert first is not None and first.names("«1st_step»") and first.names("1st_step")
    assert not first.names("step") and not spaced.names("my")  # the whole name, never a part
    output = msg("information", PRINT_LINE, "'«1st_step»' does not depend on any axioms")
    assert verdict_from_json_output(output, 0, target="«1st_step»", print_line=PRINT_LINE,
                                    proof_text="proof").ok


@pytest.mark.parametrize(("statement", "expected", "name"), [
    ("theorem foo (x : ℕ) : x = x :=", "theorem foo (x : ℕ) : x = x :=", "foo"),
    ("set_option maxHeartbeats 400 in\nlemma bar : True :=", None, "bar"),
    ("example : True :=", f"theorem {VERIFY_TARGET} : True :=", VERIFY_TARGET),
    ("instance : Inhabited ℕ :=", f"instance {VERIFY_TARGET} : Inhabited ℕ :=", VERIFY_TARGET),
    ("instance (priority := 10) : Inhabited ℕ :=",
     f"instance (priority := 10) {VERIFY_TARGET} : Inhabited ℕ :=", VERIFY_TARGET),
    ("instance exercise_1 {G : Type*} [Group G] : Group G :=", None, "exercise_1"),
])
def test_named_statement(statement: str, expected: str | None, name: str) -> None:
    assert named_statement(statement) == (expected or statement, name)


def test_verification_file_appends_print_axioms_and_keeps_the_user_text() -> None:
    text, target, proof = verification_file("import Mathlib", "example : 1 = 1 :=", ["rfl"])
    assert target == VERIFY_TARGET
    body = f"theorem {VERIFY_TARGET} : 1 = 1 := by\n  rfl\n\n#print axioms {VERIFY_TARGET}\n"
    assert text == "import Mathlib\n\n" + body
    assert proof == "import Mathlib\n\nexample : 1 = 1 := by\n  rfl\n"


FAKE_LAKE = """#!{python}
import json, os, re, subprocess, sys, time
assert sys.argv[1:5] == ["env", "lean", "--json", "--threads=1"], sys.argv
text = open(sys.argv[-1], encoding="utf-8").read()
open(os.path.join(os.getcwd(), "seen.lean"), "w", encoding="utf-8").write(text)
line = text.rstrip("\\n").count("\\n") + 1  # where `#print axioms` is
def say(severity, at, data):
    print(json.dumps({{"fileName": sys.argv[-1], "pos": {{"line": at, "column": 0}}, "endPos": None,
                      "severity": severity, "caption": "", "data": data}}))
if "hang" in text:
    child = subprocess.Popen(["sleep", "60"])
    open("child.pid", "w").write(str(child.pid))
    time.sleep(60)
name = re.search(r"#print axioms (\\S+)", text).group(1)
if "sorry_like" in text:
    say("warning", 4, "declaration uses 'sorry'")
    say("information", line, f"'{{name}}' depends on axioms: [sorryAx]")
    sys.exit(0)
if "trace_spoof" in text:  # a tactic logs the clean report at its own line; the real one lists sorryAx
    say("information", line - 2, f"'{{name}}' does not depend on any axioms")
    say("information", line, f"'{{name}}' depends on axioms: [sorryAx]")
    sys.exit(0)
say("information", line, f"'{{name}}' depends on axioms: [propext, Classical.choice, Quot.sound]")
"""


@pytest.fixture
def fake_lake(tmp_path: Path) -> Path:
    path = tmp_path / "lake"
    path.write_text(FAKE_LAKE.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def checker(tmp_path: Path, fake_lake: Path, timeout: float = 20.0) -> LeanFileChecker:
    return LeanFileChecker(project=tmp_path, lake=str(fake_lake), timeout=timeout, memory_mb=None,
                           tmp_dir=tmp_path / "tmp")


def test_checker_runs_lake_env_lean_in_the_project(tmp_path: Path, fake_lake: Path) -> None:
    verdict = checker(tmp_path, fake_lake).verify("import Mathlib", "theorem t : True :=", ["trivial"])
    assert verdict.ok, verdict.messages
    assert (tmp_path / "seen.lean").read_text().endswith("  trivial\n\n#print axioms t\n")
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary file is gone


def test_checker_refuses_what_lean_flags(tmp_path: Path, fake_lake: Path) -> None:
    verdict = checker(tmp_path, fake_lake).verify("", "theorem t : True :=", ["exact sorry_like"])
    assert not verdict.ok and "the proof uses sorry" in verdict.messages


def test_checker_reads_the_report_only_from_the_print_axioms_line(tmp_path: Path, fake_lake: Path) -> None:
    verdict = checker(tmp_path, fake_lake).verify("", "theorem t : True :=", ["exact trace_spoof"])
    assert not verdict.ok and verdict.axioms == ("sorryAx",)


def test_checker_kills_the_whole_process_group_at_the_deadline(tmp_path: Path, fake_lake: Path) -> None:
    started = time.monotonic()
    verdict = checker(tmp_path, fake_lake, timeout=1.5).verify("", "theorem t : True :=", ["exact hang"])
    assert not verdict.ok and "timed out" in verdict.messages[0]
    assert time.monotonic() - started < 10
    child = int((tmp_path / "child.pid").read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the grandchild survived the deadline")


def test_missing_lake_makes_the_backend_unavailable(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="prover setup"):
        checker(tmp_path, tmp_path / "no-such-lake").verify("", "theorem t : True :=", ["trivial"])


def test_run_process_collects_output_and_exit_code() -> None:
    lines: list[str] = []
    outcome = run_process([sys.executable, "-c", "import sys; print('a'); print('b', file=sys.stderr); "
                           "sys.stdout.write('tail'); sys.exit(3)"], timeout=20, on_line=lines.append)
    assert outcome.returncode == 3 and not outcome.timed_out
    assert outcome.stdout == "a\ntail" and outcome.stderr.strip() == "b" and lines[0] == "a"


@pytest.mark.lean
def test_real_lean_accepts_a_proof_and_refuses_a_wrong_one() -> None:
    """Needs PROVER_LEAN_PROJECT: a built lean_project (Mathlib + REPL)."""
    project = Path(os.environ["PROVER_LEAN_PROJECT"])
    real = LeanFileChecker(project=project, timeout=600)
    header = "import Mathlib\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n"
    statement = "theorem mathd_algebra_182 (y : ℂ) : 7 * (3 * y + 2) = 21 * y + 14 :="
    good = real.verify(header, statement, ["ring"])
    assert good.ok, good.messages
    assert set(good.axioms) <= {"propext", "Classical.choice", "Quot.sound"}
    bad = real.verify(header, "theorem t (x : ℝ) (h : 2 * x = 4) : x = 3 :=", ["linarith"])
    assert not bad.ok and bad.messages
    sorry = real.verify(header, "example : (1 : ℕ) = 2 :=", ["exact?"])
    assert not sorry.ok
