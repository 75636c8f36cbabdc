"""The REPL client against every recorded session of real Lean (../shared/lean-repl-tests, both versions).

Each session is replayed through a real fake-REPL *process*: the client sends the recorded requests over
the pipe, reads the answers back, and must parse every one exactly and classify every tactic answer by the
rules below (written here independently of the client's code), then the known traps are pinned by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_repl_fixtures import RECORDED, recorded, transcript_config, transcripts

from search.backends.lean import ReplProcess, TacticResponse, parse_response, tactic_outcome
from search.backends.lean.repl_outcome import command_problems
from search.backends.lean.repl_theorem import initial_sorry
from search.errors import InvalidTheoremError
from search.types import ProofFinished, TacticError, TacticResult, TacticState, Theorem

pytestmark = pytest.mark.skipif(not RECORDED.is_dir(), reason=f"recorded sessions not found at {RECORDED}")

SESSIONS = transcripts()
VERSIONS = ("v4.24.0", "v4.33.0-rc2")
THEOREM = Theorem("t", "theorem t : True :=")


def _id(prefix: Path) -> str:
    return str(prefix.relative_to(RECORDED))


def expected_kind(answer: dict[str, Any]) -> type:
    """The classification rules, from the raw JSON: error answer, error message or sorry -> error;
    no goals -> finished only with proofStatus Completed or absent; goals -> a state."""
    if "proofState" not in answer:
        return TacticError
    if any(m["severity"] == "error" for m in answer.get("messages", [])) or answer.get("sorries"):
        return TacticError
    if not answer["goals"]:
        return ProofFinished if answer.get("proofStatus", "Completed") == "Completed" else TacticError
    return TacticState


def test_every_session_with_answers_is_found() -> None:
    assert len(SESSIONS) >= 120
    for version in VERSIONS:
        assert any(p.parts[-3:-1] == ("Mathlib", "test") and version in p.parts for p in SESSIONS)


@pytest.mark.parametrize("prefix", SESSIONS, ids=_id)
def test_client_reads_and_classifies_every_answer(prefix: Path) -> None:
    proc = ReplProcess(transcript_config(prefix))
    proc.start()
    try:
        for request, raw in recorded(prefix):
            answer = json.loads(raw)
            response = proc.request(request, timeout=10)
            assert response == parse_response(answer)
            if "tactic" not in request:
                continue
            result = tactic_outcome(response)
            assert type(result) is expected_kind(answer), (request, answer)
            if isinstance(result, TacticState):
                assert result.goals == tuple(answer["goals"])
                assert result.pp == "\n\n".join(answer["goals"])
    finally:
        proc.close()


def outcome(version: str, name: str, index: int) -> TacticResult:
    _, raw = recorded(RECORDED / version / name)[index]
    return tactic_outcome(parse_response(json.loads(raw)))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("name", "index", "kind", "needle"),
    [
        ("invalid_tactic", 1, TacticError, "Unknown identifier `my_fake_premise`"),  # error, goals []
        ("Mathlib/test/20240209", 1, TacticError, "unsolved goals"),  # error, goals []
        ("app_type_mismatch", 4, TacticError, "contains metavariable(s)"),  # goals [], not complete
        ("app_type_mismatch2", 4, TacticError, "kernel type check failed"),
        ("app_type_mismatch2", 5, TacticError, "sorry"),  # `have: true := sorry`
        ("app_type_mismatch2", 6, TacticError, "could not unify"),
        ("self_proof_rw", 2, TacticError, "kernel type check failed"),
        ("by_cases", 3, TacticError, "sorry"),  # all_goals sorry: goals [] but sorries
        ("have_by_sorry", 2, TacticError, "sorry"),
        ("name_generator", 2, TacticError, "metavariable"),
        ("unknown_proof_state", 1, TacticError, "Unknown proof state"),
        ("unknown_tactic", 1, TacticError, "unknown tactic"),
        ("Mathlib/test/exact", 4, TacticError, "could not close the goal"),
        ("Mathlib/test/exact", 2, ProofFinished, "Try this"),  # an info message does not matter
        ("trace_simp", 6, ProofFinished, ""),
        ("proof_branching", 4, ProofFinished, ""),
        ("readme", 2, ProofFinished, ""),
    ],
)
def test_traps(version: str, name: str, index: int, kind: type, needle: str) -> None:
    result = outcome(version, name, index)
    assert type(result) is kind
    text = result.message if isinstance(result, TacticError) else (result.message or "")
    assert needle in text


@pytest.mark.parametrize("version", VERSIONS)
def test_multi_goal_state_is_printed_like_leandojo(version: str) -> None:
    result = outcome(version, "proof_branching", 1)
    assert isinstance(result, TacticState)
    assert result.num_goals == 2
    assert result.pp == ("case left\np q r : Prop\nh1 : p ∧ q\nh2 : q → r\n⊢ p\n\n"
                         "case right\np q r : Prop\nh1 : p ∧ q\nh2 : q → r\n⊢ r")


def test_absent_proof_status_is_read_as_older_repls_mean_it() -> None:
    """Before proofStatus existed, goals [] without error was the only sign of a finished proof."""
    for name, index in (("readme", 2), ("proof_branching", 4), ("assumption_proof", 1)):
        _, raw = recorded(RECORDED / "v4.24.0" / name)[index]
        answer = json.loads(raw)
        del answer["proofStatus"]
        response = parse_response(answer)
        assert isinstance(response, TacticResponse) and response.proof_status is None
        assert isinstance(tactic_outcome(response), ProofFinished)
    _, raw = recorded(RECORDED / "v4.24.0" / "readme")[1]
    answer = json.loads(raw)
    del answer["proofStatus"]
    assert tactic_outcome(parse_response(answer)) == TacticState("x : Unit\n⊢ Int", ("x : Unit\n⊢ Int",))
    _, raw = recorded(RECORDED / "v4.24.0" / "invalid_tactic")[1]
    answer = json.loads(raw)
    del answer["proofStatus"]
    assert isinstance(tactic_outcome(parse_response(answer)), TacticError)


def command_answer(version: str, name: str, index: int) -> Any:
    _, raw = recorded(RECORDED / version / name)[index]
    return parse_response(json.loads(raw))


@pytest.mark.parametrize("version", VERSIONS)
def test_opening_a_statement_takes_its_one_sorry(version: str) -> None:
    opened = initial_sorry(THEOREM, command_answer(version, "readme", 0))
    assert (opened.goal, opened.proof_state) == ("x : Unit\n⊢ Nat", 0)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("name", "index", "needle"),
    [
        ("root_goals", 0, "exactly one sorry"),  # two sorries
        ("calc", 0, "exactly one sorry"),
        ("Mathlib/test/H20231115_2", 1, "exactly one sorry"),
        ("have_by_sorry", 0, "unsolved goals"),  # an error beside the sorry
        ("incomplete", 1, "line 3"),  # errors carry their line
        ("def_eval", 0, "exactly one sorry"),  # no sorry at all
        ("unknown_environment", 0, "Unknown environment"),
    ],
)
def test_opening_refuses_bad_statements(version: str, name: str, index: int, needle: str) -> None:
    with pytest.raises(InvalidTheoremError) as caught:
        initial_sorry(THEOREM, command_answer(version, name, index))
    assert needle in caught.value.reason


@pytest.mark.parametrize("version", VERSIONS)
def test_command_problems_see_errors_and_both_sorry_warnings(version: str) -> None:
    assert command_problems(command_answer(version, "def_eval", 0)) == []
    assert command_problems(command_answer(version, "file_env", 1)) == []
    assert any("Unknown identifier" in p for p in command_problems(command_answer(version, "dup_msg", 2)))
    problems = command_problems(command_answer(version, "tactic_sorry", 0))
    assert any("declaration uses" in p for p in problems)  # 'sorry' in 4.24, `sorry` in 4.33
    assert any("contains 1 sorry" in p for p in problems)
    assert command_problems(command_answer(version, "unknown_environment", 0)) == ["Unknown environment."]
