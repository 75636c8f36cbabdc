"""A fake Lean REPL process for tests: the real protocol on stdin/stdout, answers from a table.

Run as ``python fake_repl.py --transcript DIR/NAME`` or ``python fake_repl.py --script WORLD.json``.
Standard library only: it stands for an external program and imports nothing from the project.

Input is read the way the REPL reads it (``REPL/Main.lean``, ``getLines``): lines up to a blank one, each
trimmed on the right and joined *without* newlines; end of input ends the process; a query starting with
``#`` or ``--`` is skipped; a query that is not JSON kills the process (the REPL throws). Each answer is
printed as JSON followed by a blank line.

``--transcript``: answers from a recorded session of ../shared/lean-repl-tests: a request equal to the next
recorded one (after the same line joining) gets its recorded answer, byte for byte; otherwise the first
unused recorded request equal to it; otherwise ``{"message": "fake REPL: ..."}``.

``--script``: a small deterministic Lean-like world (see ``World``): theorems with an initial goal, a table
goal -> tactic -> outcome acting on the first goal, real proof-state and environment numbering, whole
proofs checked by running the table, ``#print axioms`` answered from the theorem's ``axioms``, and cues:
tactics that hang, crash the process, or balloon its memory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

Answer = dict[str, Any]
_DECL = re.compile(r"^\s*(?:(?:theorem|lemma)\s+(?P<name>\S+)|example)(?P<rest>.*)$", re.S)


def read_query(stream: Any) -> str | None:
    """One query as ``getLines`` builds it; ``None`` at end of input."""
    parts = []
    while True:
        line = stream.readline()
        if line == "":
            return "".join(parts) if parts else None
        if not line.strip():
            return "".join(parts) if parts else line
        parts.append(line.rstrip())


def split_queries(text: str) -> list[str]:
    """The queries of a recorded ``.in`` file, read as the REPL reads them."""
    lines = iter(text.splitlines(keepends=True))
    queries, parts = [], []
    for line in lines:
        if line.strip():
            parts.append(line.rstrip())
        elif parts:
            queries.append("".join(parts))
            parts = []
    if parts:
        queries.append("".join(parts))
    return [q for q in queries if not q.startswith(("#", "--"))]


def write(answer: Answer | str, printed: dict[str, Any] | None = None) -> None:
    """Print an answer and its blank line; ``printed`` (a ``print`` cue) adds a tactic's own output before
    or after it, in the same write unless it has a ``delay``."""
    text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False, indent=1)
    parts = [text.strip() + "\n\n"]
    if printed is not None:
        extra = printed["text"].strip() + "\n\n"
        parts = [*parts, extra] if printed.get("after") else [extra, *parts]
        if printed.get("delay"):
            sys.stdout.write(parts[0])
            sys.stdout.flush()
            time.sleep(printed["delay"])
            parts = parts[1:]
    sys.stdout.write("".join(parts))
    sys.stdout.flush()


class Transcript:
    """Answers from one recorded session."""

    def __init__(self, prefix: str) -> None:
        requests = split_queries(Path(prefix + ".in").read_text())
        answers = re.split(r"\n\s*\n", Path(prefix + ".expected.out").read_text().strip())
        self.pairs = [(json.loads(q, strict=False), a) for q, a in zip(requests, answers, strict=True)]
        self.used = [False] * len(self.pairs)
        self.next = 0

    def answer(self, request: Any) -> Answer | str:
        order = [self.next] if self.next < len(self.pairs) else []
        order += [i for i in range(len(self.pairs)) if not self.used[i]]
        for i in order:
            if self.pairs[i][0] == request:
                self.used[i] = True
                self.next = i + 1
                return self.pairs[i][1]
        return {"message": f"fake REPL: request not in the transcript: {json.dumps(request)}"}


class World:
    """A scripted Lean-like world; ``spec`` is the decoded ``--script`` file:

    - ``theorems``: ``[{"statement": "theorem t ... :=", "goal": "...", "axioms": [...],
      "error": "elaboration error (optional)", "sorries": 1}]``
    - ``transitions``: ``{goal: {tactic: outcome}}``, outcome = list of new goals replacing the first
      goal, ``{"error": text}`` (an error message with ``"goals": []``, the REPL's trap),
      ``{"throw": text}`` (a ``{"message": "Lean error:..."}`` answer) or ``{"log": text, "goals": [...]}``
      (succeeds and logs ``text`` as an info message at the tactic's position, as ``trace`` does);
    - ``hang`` / ``crash`` / ``balloon``: tactics that sleep forever / exit / allocate ``balloon_mb`` MiB;
    - ``missing_imports``: modules whose import fails; ``crash_imports``: modules whose import kills the
      process; ``proof_status``: send ``proofStatus`` (default
      true); ``spawn_child``: start a ``sleep`` child in the process group;
    - ``print``: ``{tactic: {"text": ..., "after": false, "delay": 0}}``: in tactic mode (where the real REPL
      does not capture stdout) the tactic prints ``text`` and a blank line, as compiled code could, e.g. a
      forged answer. Before its answer (in the same write, or ``delay`` seconds earlier) or, with ``after``,
      after it (in the same write, or ``delay`` seconds later). Command mode prints nothing (the REPL
      captures it there).
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.theorems = [(_DECL.match(t["statement"]), t) for t in spec.get("theorems", [])]
        self.states: list[list[str]] = []
        self.envs: list[dict[str, list[str]]] = []
        self.logged: list[str] = []  # what the last step logged (a "log" outcome)
        self.printed: dict[str, Any] | None = None  # the last tactic's ``print`` cue, for ``serve``

    def answer(self, request: dict[str, Any]) -> Answer:
        if "tactic" in request:
            return self.tactic(request["tactic"], request["proofState"])
        if "env" not in request:
            return self.header(request["cmd"])
        if not 0 <= request["env"] < len(self.envs):
            return {"message": "Unknown environment."}
        return self.command(request["cmd"], self.envs[request["env"]])

    def new_env(self, decls: dict[str, list[str]]) -> int:
        self.envs.append(decls)
        return len(self.envs) - 1

    def new_state(self, goals: list[str]) -> int:
        self.states.append(goals)
        return len(self.states) - 1

    def header(self, cmd: str) -> Answer:
        time.sleep(self.spec.get("import_delay", 0))
        for module in re.findall(r"import\s+(\S+)", cmd):
            if module in self.spec.get("crash_imports", []):
                os._exit(137)  # as Lean killed (out of memory) while it imports the module
            if module in self.spec.get("missing_imports", []):
                return {"messages": [_message("error", f"unknown module prefix '{module}'", 1)],
                        "env": self.new_env({})}
        return {"env": self.new_env({})}

    def step(self, goals: list[str], tactic: str) -> tuple[list[str], Answer | None, bool]:
        """Run ``tactic`` on the first goal: (new goals, failure answer or None, used sorry)."""
        self.cue(tactic)
        if not goals:
            return goals, {"message": "Lean error:\nno goals to be proved"}, False
        if tactic == "sorry":
            return goals[1:], None, True
        outcome = self.spec.get("transitions", {}).get(goals[0], {}).get(tactic)
        if outcome is None:
            return goals, {"message": f"Lean error:\ntactic '{tactic}' failed on\n{goals[0]}"}, False
        if isinstance(outcome, dict) and "throw" in outcome:
            return goals, {"message": "Lean error:\n" + outcome["throw"]}, False
        if isinstance(outcome, dict) and "log" in outcome:
            self.logged.append(outcome["log"])
            return [*outcome["goals"], *goals[1:]], None, False
        if isinstance(outcome, dict):
            return goals, {"goals": [], "messages": [_message("error", outcome["error"], 0)],
                           "proofStatus": "Incomplete: contains sorry"}, False
        return [*outcome, *goals[1:]], None, False

    def cue(self, tactic: str) -> None:
        if tactic in self.spec.get("hang", []):
            time.sleep(3600)
        if tactic in self.spec.get("crash", []):
            sys.stderr.write("fake REPL: crashing on cue\n")
            sys.stderr.flush()
            os._exit(3)
        if tactic in self.spec.get("balloon", []):
            hoard = [bytearray(b"\x01") * (1 << 20) for _ in range(self.spec.get("balloon_mb", 512))]
            time.sleep(3600 + len(hoard))

    def tactic(self, tactic: str, proof_state: int) -> Answer:
        if not 0 <= proof_state < len(self.states):
            return {"message": "Unknown proof state."}
        goals = self.states[proof_state]
        self.logged = []
        self.printed = self.spec.get("print", {}).get(tactic)
        new_goals, failure, used_sorry = self.step(goals, tactic)
        if failure is not None and "goals" not in failure:
            return failure
        answer: Answer = {"proofState": self.new_state(new_goals), "goals": new_goals, **(failure or {})}
        if used_sorry:
            answer["sorries"] = [{"proofState": self.new_state(goals[:1]), "goal": goals[0]}]
        if self.logged:
            answer["messages"] = [_message("info", text, 0) for text in self.logged]
        if self.spec.get("proof_status", True) and "proofStatus" not in answer:
            answer["proofStatus"] = _status(new_goals, used_sorry)
        return answer

    def command(self, cmd: str, decls: dict[str, list[str]]) -> Answer:
        printed = re.fullmatch(r"#print axioms (\S+)", cmd.strip())
        if printed:
            return self.print_axioms(printed[1], decls)
        found = _DECL.match(cmd)
        if found:  # a theorem of the same name first, then one whose text matches (a renamed example)
            ranked = sorted(self.theorems, key=lambda pair: not pair[0] or pair[0]["name"] != found["name"])
            for known, theorem in ranked:
                if known and found["rest"].startswith(known["rest"]):
                    name = found["name"] or "_example"
                    return self.declaration(name, theorem, found["rest"][len(known["rest"]):], decls)
        return {"messages": [_message("error", "fake REPL: unknown statement", 1)],
                "env": self.new_env(dict(decls))}

    def declaration(self, name: str, theorem: dict[str, Any], body: str,
                    decls: dict[str, list[str]]) -> Answer:
        if "error" in theorem:
            return {"messages": [_message("error", theorem["error"], 2)], "env": self.new_env(dict(decls))}
        if body.strip() == "by sorry":
            goal = theorem["goal"]
            sorries = [{"proofState": self.new_state([goal]), "pos": {"line": 1, "column": 4},
                        "goal": goal, "endPos": {"line": 1, "column": 9}}
                       for _ in range(theorem.get("sorries", 1))]
            return {"sorries": sorries, "messages": [_message("warning", "declaration uses 'sorry'", 1)],
                    "env": self.new_env(dict(decls))}
        return self.whole_proof(name, theorem, body, decls)

    def whole_proof(self, name: str, theorem: dict[str, Any], body: str,
                    decls: dict[str, list[str]]) -> Answer:
        if not body.startswith(" by\n"):
            return {"messages": [_message("error", "fake REPL: expected a by block", 1)],
                    "env": self.new_env(dict(decls))}
        goals, messages, used_sorry = [theorem["goal"]], [], False
        for line, tactic in enumerate(body[len(" by\n"):].split("\n"), start=2):
            self.logged = []
            goals, failure, sorry_here = self.step(goals, tactic.strip())
            messages += [_message("info", text, line, column=2) for text in self.logged]
            used_sorry |= sorry_here
            if failure is not None:
                text = failure.get("message") or failure["messages"][0]["data"]
                messages.append(_message("error", text.removeprefix("Lean error:\n"), line))
                break
        if goals and not any(m["severity"] == "error" for m in messages):
            messages.append(_message("error", "unsolved goals\n" + "\n\n".join(goals), 1))
        if used_sorry:
            messages.append(_message("warning", "declaration uses 'sorry'", 1))
        new = dict(decls)
        if not any(m["severity"] == "error" for m in messages):
            new[name] = [*theorem.get("axioms", []), *(["sorryAx"] if used_sorry else [])]
        return {"messages": messages, "env": self.new_env(new)} if messages else {"env": self.new_env(new)}

    def print_axioms(self, name: str, decls: dict[str, list[str]]) -> Answer:
        if name not in decls:
            return {"messages": [_message("error", f"unknown constant '{name}'", 1)],
                    "env": self.new_env(dict(decls))}
        axioms = decls[name]
        text = (f"'{name}' depends on axioms: [{', '.join(axioms)}]" if axioms
                else f"'{name}' does not depend on any axioms")
        return {"messages": [_message("info", text, 1)], "env": self.new_env(dict(decls))}


def _status(goals: list[str], used_sorry: bool) -> str:
    if goals:
        return "Incomplete: open goals remain"
    return "Incomplete: contains sorry" if used_sorry else "Completed"


def _message(severity: str, data: str, line: int, column: int = 0) -> Answer:
    return {"severity": severity, "pos": {"line": line, "column": column},
            "endPos": {"line": line, "column": column + 1}, "data": data}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--transcript", help="recorded session: path without .in / .expected.out")
    mode.add_argument("--script", help="JSON file describing a scripted world")
    args = parser.parse_args()
    world: Transcript | World
    if args.transcript:
        world = Transcript(args.transcript)
    else:
        world = World(json.loads(Path(args.script).read_text()))
        if world.spec.get("spawn_child"):
            subprocess.Popen(["sleep", "600"])
    return serve(world)


def serve(world: Any) -> int:
    """Answer requests from stdin until it closes, as the REPL does (also used by other fakes)."""
    while True:
        query = read_query(sys.stdin)
        if query is None:
            return 0
        if query.startswith(("#", "--")):
            continue
        try:
            request = json.loads(query, strict=False)
        except json.JSONDecodeError as exc:
            sys.stderr.write(f'uncaught exception: {{"message": "Could not parse JSON:\\n{exc}"}}\n')
            return 1
        answer = world.answer(request)
        printed = getattr(world, "printed", None)
        if printed is not None:
            world.printed = None
        write(answer, printed)


if __name__ == "__main__":
    sys.exit(main())
