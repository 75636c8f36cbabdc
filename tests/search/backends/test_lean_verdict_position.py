"""Lean verdicts are read by message position, never by searching text: a tactic that logs a look-alike
``#print axioms`` report (``trace``) cannot make a proof pass. REPL path: the parser, then the fake REPL
process with a tactic that logs; the file path (``lean --json``) is tested in ``test_dojo_verify``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_repl_fixtures import HEADER, script_config

from search.backends.lean import LeanReplBackend, check_lean_tactic
from search.backends.lean.repl_messages import CommandResponse, Message, Pos, Severity
from search.backends.lean.repl_verify import parse_axioms
from search.types import Theorem

CLEAN = "'t' does not depend on any axioms"
SPOOF = "trace \"'t' does not depend on any axioms\""
SPOOF_ALL = "trace \"'t' depends on axioms: [propext]\""


def answer(*messages: Message) -> CommandResponse:
    return CommandResponse(env=3, messages=messages)


def info(data: str, line: int = 1, column: int = 0) -> Message:
    return Message(Severity.INFO, data, Pos(line, column), Pos(line, column + 6))


def test_the_report_is_the_one_info_message_at_the_command_keyword() -> None:
    assert parse_axioms(answer(info(CLEAN)), "t") == ()
    assert parse_axioms(answer(info("'t' depends on axioms: [propext, Quot.sound]")), "t") == (
        "propext", "Quot.sound")
    assert parse_axioms(answer(info("'Foo.t' depends on axioms: [propext]")), "t") == ("propext",)


@pytest.mark.parametrize("response", [
    answer(),
    answer(info(CLEAN, line=2)),  # not on the command's own line
    answer(info(CLEAN, column=20)),  # on its line but past the `#print axioms` keyword
    answer(info(CLEAN), info(CLEAN)),  # two reports
    answer(info("trace: " + CLEAN)),  # text around the report
    answer(info(CLEAN + "\nand more")),
    answer(Message(Severity.WARNING, CLEAN, Pos(1, 0))),  # not an info message
    answer(Message(Severity.INFO, CLEAN, None)),  # no position at all
    answer(info("'u' does not depend on any axioms")),  # another constant
])
def test_anything_else_is_no_report(response: CommandResponse) -> None:
    assert parse_axioms(response, "t") is None


def spoof_world(axioms: list[str]) -> dict[str, object]:
    goal = "n : Nat\n⊢ n = n"
    return {"theorems": [{"statement": "theorem t (n : Nat) : n = n :=", "goal": goal, "axioms": axioms}],
            "transitions": {goal: {SPOOF: {"log": CLEAN, "goals": [goal]},
                                   SPOOF_ALL: {"log": "'t' depends on axioms: [propext]", "goals": [goal]},
                                   "rfl": []}}}


@pytest.fixture
def spoofed(tmp_path: Path) -> Iterator[LeanReplBackend]:
    with LeanReplBackend(script_config(tmp_path, spoof_world(["propext", "sorryAx"]))) as made:
        yield made


def test_the_spoofing_tactics_pass_the_filter() -> None:
    """The filter lets `trace` through (it runs no code): the verdict itself must not be fooled."""
    assert check_lean_tactic(SPOOF) is None and check_lean_tactic(SPOOF_ALL) is None


def test_a_tactic_that_logs_a_clean_report_does_not_pass(spoofed: LeanReplBackend) -> None:
    theorem = Theorem("t", "theorem t (n : Nat) : n = n :=", HEADER)
    for proof in ((SPOOF, "rfl"), (SPOOF_ALL, "rfl"), (SPOOF, SPOOF_ALL, "rfl")):
        verdict = spoofed.verify(theorem, proof)
        assert not verdict.ok, proof
        assert "sorryAx" in verdict.messages[0] and verdict.axioms == ("propext", "sorryAx")


def test_a_logged_report_does_not_confuse_an_honest_verdict(tmp_path: Path) -> None:
    with LeanReplBackend(script_config(tmp_path, spoof_world(["propext"]))) as honest:
        verdict = honest.verify(Theorem("t", "theorem t (n : Nat) : n = n :=", HEADER), (SPOOF, "rfl"))
    assert verdict.ok, verdict.messages
    assert verdict.axioms == ("propext",)
