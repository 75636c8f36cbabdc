"""The Lean REPL's JSON protocol as typed, frozen values (leanprover-community/repl, ``REPL/JSON.lean``).

Requests are one line of JSON followed by a blank line (the REPL reads lines up to a blank one and joins
them after trimming each, so a raw newline inside a request would be lost: ``encode_request`` writes one
line). Every answer is one JSON object followed by a blank line, and is one of three shapes:

- ``CommandResponse``: ``env`` and optional ``messages``, ``sorries``, ``tactics``, ``infotree`` (a command,
  a file, an environment (un)pickled);
- ``TacticResponse``: ``proofState``, ``goals`` and optional ``messages``, ``sorries``, ``traces`` and
  ``proofStatus`` (absent in REPL versions before mid-2025);
- ``ReplError``: ``{"message": ...}`` (unknown environment or proof state, a tactic that threw, bad JSON).

Parsing is strict about the fields it uses and ignores fields it does not know, so a newer REPL that adds
keys still parses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeAlias

from search.errors import ProverError


class ReplProtocolError(ProverError):
    """The REPL printed something that is not one of its documented answers."""


class Severity(StrEnum):
    """Severity of a Lean message as the REPL writes it."""

    TRACE = "trace"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Pos:
    """A position in the command text: 1-based line, 0-based column (Lean's convention)."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Message:
    """A Lean message; ``pos`` is 0:0 for messages of tactic-mode steps."""

    severity: Severity
    data: str
    pos: Pos | None = None
    end_pos: Pos | None = None

    def render(self) -> str:
        """``severity at line L: data``, the way error reports quote Lean."""
        where = f" at line {self.pos.line}" if self.pos is not None and self.pos.line > 0 else ""
        return f"{self.severity.value}{where}: {self.data}"


@dataclass(frozen=True, slots=True)
class Sorry:
    """A ``sorry`` in a command or tactic; ``proof_state`` is the state at it, usable in tactic mode."""

    goal: str
    proof_state: int | None = None
    pos: Pos | None = None
    end_pos: Pos | None = None


@dataclass(frozen=True, slots=True)
class TacticInfo:
    """One tactic of an ``allTactics`` command answer."""

    tactic: str
    goals: str
    proof_state: int | None
    pos: Pos | None
    end_pos: Pos | None
    used_constants: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CommandResponse:
    """The answer to a command: the environment after it, its messages and sorries."""

    env: int | None
    messages: tuple[Message, ...] = ()
    sorries: tuple[Sorry, ...] = ()
    tactics: tuple[TacticInfo, ...] = ()
    infotree: str | None = None  # the raw JSON text, when the command asked for it


@dataclass(frozen=True, slots=True)
class TacticResponse:
    """The answer to a tactic: the new proof state and its goals.

    ``proof_status`` is ``None`` where the REPL predates it; otherwise "Completed", "Incomplete: ...",
    "Error: ..." or "Not verified: ...".
    """

    proof_state: int
    goals: tuple[str, ...]
    messages: tuple[Message, ...] = ()
    sorries: tuple[Sorry, ...] = ()
    traces: tuple[str, ...] = ()
    proof_status: str | None = None


@dataclass(frozen=True, slots=True)
class ReplError:
    """The REPL refused or could not run a request; ``message`` is its text."""

    message: str


ReplResponse: TypeAlias = CommandResponse | TacticResponse | ReplError


def errors(messages: tuple[Message, ...]) -> tuple[Message, ...]:
    """The messages of severity error."""
    return tuple(m for m in messages if m.severity is Severity.ERROR)


def encode_request(payload: dict[str, Any]) -> str:
    """One request as the text to write: a single JSON line and a blank line."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n\n"


def command_request(cmd: str, env: int | None = None) -> dict[str, Any]:
    """``{"cmd": ..., "env": ...}``; without ``env`` the REPL starts a fresh environment."""
    return {"cmd": cmd} if env is None else {"cmd": cmd, "env": env}


def tactic_request(tactic: str, proof_state: int) -> dict[str, Any]:
    return {"tactic": tactic, "proofState": proof_state}


def decode_response(text: str) -> ReplResponse:
    """Parse one answer block. Raises ``ReplProtocolError`` for anything but a documented answer."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplProtocolError(f"not JSON: {text[:200]!r}") from exc
    return parse_response(obj)


def parse_response(obj: Any) -> ReplResponse:
    """Turn a decoded JSON answer into its typed value. Raises ``ReplProtocolError``."""
    if not isinstance(obj, dict):
        raise ReplProtocolError(f"an answer must be a JSON object, got {type(obj).__name__}")
    try:
        if "proofState" in obj and "goals" in obj:
            return _tactic_response(obj)
        if "env" in obj or obj.keys() & {"messages", "sorries", "tactics", "infotree"}:
            return _command_response(obj)
        if isinstance(obj.get("message"), str):
            return ReplError(obj["message"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ReplProtocolError(f"malformed answer {json.dumps(obj)[:300]}: {exc}") from exc
    raise ReplProtocolError(f"unknown answer shape: {json.dumps(obj)[:300]}")


def _tactic_response(obj: dict[str, Any]) -> TacticResponse:
    status = obj.get("proofStatus")
    return TacticResponse(
        proof_state=_int(obj["proofState"]),
        goals=tuple(_str(g) for g in obj["goals"]),
        messages=tuple(_message(m) for m in obj.get("messages", ())),
        sorries=tuple(_sorry(s) for s in obj.get("sorries", ())),
        traces=tuple(_str(t) for t in obj.get("traces", ())),
        proof_status=None if status is None else _str(status),
    )


def _command_response(obj: dict[str, Any]) -> CommandResponse:
    env = obj.get("env")
    infotree = obj.get("infotree")
    return CommandResponse(
        env=None if env is None else _int(env),
        messages=tuple(_message(m) for m in obj.get("messages", ())),
        sorries=tuple(_sorry(s) for s in obj.get("sorries", ())),
        tactics=tuple(_tactic_info(t) for t in obj.get("tactics", ())),
        infotree=None if infotree is None else json.dumps(infotree, ensure_ascii=False),
    )


def _message(obj: dict[str, Any]) -> Message:
    return Message(Severity(obj["severity"]), _str(obj["data"]), _pos(obj.get("pos")),
                   _pos(obj.get("endPos")))


def _sorry(obj: dict[str, Any]) -> Sorry:
    state = obj.get("proofState")
    return Sorry(_str(obj["goal"]), None if state is None else _int(state), _pos(obj.get("pos")),
                 _pos(obj.get("endPos")))


def _tactic_info(obj: dict[str, Any]) -> TacticInfo:
    state = obj.get("proofState")
    return TacticInfo(_str(obj["tactic"]), _str(obj["goals"]), None if state is None else _int(state),
                      _pos(obj.get("pos")), _pos(obj.get("endPos")),
                      tuple(_str(c) for c in obj.get("usedConstants", ())))


def _pos(obj: Any) -> Pos | None:
    if obj is None:
        return None
    return Pos(_int(obj["line"]), _int(obj["column"]))


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value
