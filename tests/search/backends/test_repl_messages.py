"""The REPL protocol values: request encoding, strict parsing, garbage on stdout."""

from __future__ import annotations

import json

import pytest

from search.backends.lean import (
    CommandResponse,
    LeanReplConfig,
    Message,
    Pos,
    ReplError,
    ReplProcess,
    ReplProtocolError,
    Severity,
    TacticResponse,
    parse_response,
)
from search.backends.lean.repl_messages import command_request, encode_request, tactic_request


def test_a_request_is_one_line_then_a_blank_line() -> None:
    """The REPL joins a request's lines without newlines, so a raw newline would corrupt the text."""
    text = encode_request(command_request("theorem t : 1 = 1 := by\n  rfl", 3))
    assert text.endswith("\n\n") and text.count("\n") == 2
    assert json.loads(text) == {"cmd": "theorem t : 1 = 1 := by\n  rfl", "env": 3}
    step = {"tactic": "simp [h₀]", "proofState": 7}
    assert json.loads(encode_request(tactic_request("simp [h₀]", 7))) == step
    assert json.loads(encode_request(command_request("import Mathlib"))) == {"cmd": "import Mathlib"}


def test_shapes() -> None:
    assert parse_response({"env": 0}) == CommandResponse(0)
    assert parse_response({"message": "Unknown environment."}) == ReplError("Unknown environment.")
    tactic = parse_response({"proofState": 2, "goals": ["⊢ p"], "traces": ["t"],
                             "messages": [{"severity": "warning", "pos": {"line": 0, "column": 0},
                                           "endPos": None, "data": "w"}]})
    assert tactic == TacticResponse(2, ("⊢ p",), (Message(Severity.WARNING, "w", Pos(0, 0)),), (), ("t",))
    assert parse_response({"env": 1, "newField": True}) == CommandResponse(1)  # newer REPLs may add keys


@pytest.mark.parametrize(
    "bad",
    [[], "x", {}, {"proofState": "1", "goals": []}, {"proofState": 1, "goals": [3]},
     {"env": 0, "messages": [{"severity": "fatal", "pos": None, "data": ""}]},
     {"env": 0, "sorries": [{"proofState": 0}]}, {"env": True}, {"something": "else"}],
)
def test_anything_else_is_a_protocol_error(bad: object) -> None:
    with pytest.raises(ReplProtocolError):
        parse_response(bad)


def test_text_before_the_json_is_skipped() -> None:
    proc = ReplProcess(LeanReplConfig())
    assert proc._decode('{"env": 4}\n\n') == CommandResponse(4)
    debug_print = "Processing incremental state [pos: 0..5]:\ndef f\n"
    assert proc._decode(debug_print + '{"env": 2}') == CommandResponse(2)
    assert proc._decode("just noise") is None
    with pytest.raises(ReplProtocolError):
        proc._decode('{"env": ')


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="pool_size") as caught:
        LeanReplConfig(pool_size=0, tactic_timeout=0, command=())
    assert "tactic_timeout" in str(caught.value) and "command" in str(caught.value)
    assert LeanReplConfig(command=["lake", "env", "repl"]).command == ("lake", "env", "repl")  # type: ignore[arg-type]
    assert LeanReplConfig().resolved_project_dir().name == "lean_project"
