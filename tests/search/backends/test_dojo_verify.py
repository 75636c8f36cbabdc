"""Whole-proof verification by file: the output parser on recorded-style Lean output, the checked file,
and ``LeanFileChecker`` against a fake ``lake`` (a real process: deadlines, process-group kill, cleanup)."""

from __future__ import annotations

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
from search.backends.lean.dojo_verify_output import parse_axioms_reports, parse_messages, verdict_from_output
from search.errors import BackendUnavailableError

F = "/tmp/prover_verify_abc.lean"
CLASSICAL = "'t' depends on axioms: [propext, Classical.choice, Quot.sound]\n"

ACCEPTED = [
    (CLASSICAL, 0, ("propext", "Classical.choice", "Quot.sound")),
    ("'t' does not depend on any axioms\n", 0, ()),
    (f"{F}:3:6: warning: unused variable `h`\nnote: this linter can be disabled\n{CLASSICAL}", 0,
     ("propext", "Classical.choice", "Quot.sound")),
    ("'t' depends on axioms: [propext,\n  Classical.choice,\n  Quot.sound]\n", 0,
     ("propext", "Classical.choice", "Quot.sound")),
    ("'Foo.t' depends on axioms: [propext]\n", 0, ("propext",)),  # the header opened `namespace Foo`
    (f"{F}:1:0: info: Try this: exact foo\n't' depends on axioms: [propext]\n", 0, ("propext",)),
]

REFUSED = [
    (f"{F}:5:8: warning: declaration uses 'sorry'\n't' depends on axioms: [sorryAx]\n", 0, "sorry"),
    (f"{F}:6:2: error: unsolved goals\nx : ℕ\n⊢ x = x\n't' depends on axioms: [propext]\n", 1,
     "unsolved goals"),
    (f"{F}:6:8-6:11: error(lean.unknownIdentifier): Unknown identifier `foo`\n", 1, "Unknown identifier"),
    ("'t' depends on axioms: [propext, Classical.choice, Lean.ofReduceBool, Lean.trustCompiler]\n", 0,
     "Lean.ofReduceBool"),
    ("'t' depends on axioms: [ax, propext]\n", 0, "beyond propext"),
    ("", 0, "found 0"),  # the file stopped before `#print axioms` (e.g. #exit)
    ("'t' does not depend on any axioms\n" + "'t' depends on axioms: [sorryAx]\n", 0, "found 2"),
    ("'u' does not depend on any axioms\n", 0, "names 'u'"),
    ("error: unknown executable lean\n", 1, "exited with code 1"),
    (CLASSICAL, 137, "exited with code 137"),
]


@pytest.mark.parametrize(("output", "code", "axioms"), ACCEPTED)
def test_clean_outputs_are_accepted(output: str, code: int, axioms: tuple[str, ...]) -> None:
    verdict = verdict_from_output(output, code, target="t", proof_text="proof")
    assert verdict.ok, verdict.messages
    assert verdict.axioms == axioms and verdict.proof_text == "proof"


@pytest.mark.parametrize(("output", "code", "words"), REFUSED)
def test_failures_are_refused_with_the_reason(output: str, code: int, words: str) -> None:
    verdict = verdict_from_output(output, code, target="t", proof_text="proof")
    assert not verdict.ok
    assert any(words in message for message in verdict.messages), verdict.messages


def test_messages_keep_position_severity_and_continuation_lines() -> None:
    output = f"{F}:6:2: error: unsolved goals\nx : ℕ\n⊢ x = x\n{F}:9:0: warning: w\n"
    messages = parse_messages(output)
    assert [(m.severity, m.line, m.col) for m in messages] == [("error", 6, 2), ("warning", 9, 0)]
    assert messages[0].text == "unsolved goals\nx : ℕ\n⊢ x = x"
    assert parse_axioms_reports("'h'' does not depend on any axioms")[0].name == "h'"


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
import os, re, subprocess, sys, time
assert sys.argv[1:4] == ["env", "lean", "--threads=1"], sys.argv
text = open(sys.argv[-1], encoding="utf-8").read()
open(os.path.join(os.getcwd(), "seen.lean"), "w", encoding="utf-8").write(text)
if "hang" in text:
    child = subprocess.Popen(["sleep", "60"])
    open("child.pid", "w").write(str(child.pid))
    time.sleep(60)
if "sorry_like" in text:
    print(sys.argv[-1] + ":4:8: warning: declaration uses 'sorry'")
    print("'t' depends on axioms: [sorryAx]")
    sys.exit(0)
name = re.search(r"#print axioms (\\S+)", text).group(1)
print(f"'{{name}}' depends on axioms: [propext, Classical.choice, Quot.sound]")
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
