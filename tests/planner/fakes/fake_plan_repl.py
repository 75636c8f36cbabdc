"""A fake Lean REPL that also understands plans: ``fake_repl.py``'s scripted world plus ``have`` subgoals.

Run as ``python fake_plan_repl.py --script WORLD.json``. Standard library only; it loads ``fake_repl.py``
(tests/search/backends/fakes) by path and keeps every behaviour of its ``World``. What it adds, for a
theorem whose ``goal`` is ``CONTEXT\\n⊢ TARGET``:

- a plan command ``STATEMENT by\\n  have N1 : S1 := by sorry\\n ...\\n  sorry`` answers, as Lean does, one
  sorry per ``have`` (goal ``CONTEXT, N1 : S1, ..., ⊢ Si``, at the have's line) and one for the main goal (all
  haves in context), each with a fresh proof state; a statement not in the world's ``plan_statements``
  is an error at its line ("unknown identifier") and then no sorry is answered (as in the recorded
  ``no_goal_sorry`` session); a statement in ``plan_hang`` makes the plan command sleep forever, one in
  ``plan_crash`` makes the process exit (a plan Lean times out or crashes on);
- a whole proof whose tactics include ``have N : S := by`` blocks runs each block's tactics on the
  subgoal's goal, then the remaining tactics on the main goal with every have in context.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

_BASE = Path(__file__).resolve().parents[2] / "search" / "backends" / "fakes" / "fake_repl.py"
_spec = importlib.util.spec_from_file_location("fake_repl_base", _BASE)
assert _spec is not None and _spec.loader is not None
base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(base)

_PLAN_LINE = re.compile(r"^  have (?P<name>\S+) : (?P<statement>.+) := by sorry$")
_BLOCK_START = re.compile(r"^  have (?P<name>\S+) : (?P<statement>.+) := by$")


class PlanWorld(base.World):  # type: ignore[name-defined]  # loaded by path
    """``World`` plus plans; ``spec["plan_statements"]`` lists the statements that elaborate."""

    def declaration(self, name: str, theorem: dict[str, Any], body: str,
                    decls: dict[str, list[str]]) -> dict[str, Any]:
        lines = body.split("\n")
        if "error" not in theorem and lines[0] == " by" and lines[-1] == "  sorry" and len(lines) > 2:
            found = [_PLAN_LINE.match(line) for line in lines[1:-1]]
            haves = [(m["name"], m["statement"]) for m in found if m is not None]
            if len(haves) == len(found):
                return self.plan(theorem, haves, decls)
        if "error" not in theorem and any(_BLOCK_START.match(line) for line in lines):
            return self.planned_proof(name, theorem, lines, decls)
        return super().declaration(name, theorem, body, decls)

    def plan(self, theorem: dict[str, Any], haves: list[tuple[str, str]],
             decls: dict[str, list[str]]) -> dict[str, Any]:
        known = self.spec.get("plan_statements", [])
        if any(statement in self.spec.get("plan_hang", []) for _, statement in haves):
            time.sleep(3600)
        if any(statement in self.spec.get("plan_crash", []) for _, statement in haves):
            sys.stderr.write("fake REPL: crashing on a plan\n")
            sys.stderr.flush()
            os._exit(3)
        first = theorem["statement"].rstrip().count("\n") + 2  # the first have's line, as Lean numbers it
        for index, (_, statement) in enumerate(haves):
            if statement not in known:
                message = base._message("error", f"unknown identifier in '{statement}'", first + index)
                return {"messages": [message], "env": self.new_env(dict(decls))}
        sorries = []
        for index in range(len(haves) + 1):
            goal = subgoal_goal(theorem["goal"], haves, index)
            where = {"line": first + index, "column": 4}
            sorries.append({"proofState": self.new_state([goal]), "goal": goal, "pos": where,
                            "endPos": {"line": first + index, "column": 9}})
        return {"sorries": sorries, "messages": [base._message("warning", "declaration uses 'sorry'", 1)],
                "env": self.new_env(dict(decls))}

    def planned_proof(self, name: str, theorem: dict[str, Any], lines: list[str],
                      decls: dict[str, list[str]]) -> dict[str, Any]:
        haves: list[tuple[str, str]] = []
        goals: list[str] = []  # of the current have block, then of the main goal
        in_main = False
        messages = []
        for number, line in enumerate(lines[1:], start=2):
            block = _BLOCK_START.match(line)
            if block or (not in_main and not line.startswith("    ")):
                if goals:  # the previous block left its goal open
                    messages.append(base._message("error", "unsolved goals\n" + goals[0], number))
                    break
                if block:
                    haves.append((block["name"], block["statement"]))
                    goals = [subgoal_goal(theorem["goal"], haves, len(haves) - 1)]
                    continue
                in_main, goals = True, [subgoal_goal(theorem["goal"], haves, len(haves))]
            goals, failure, used_sorry = self.step(goals, line.strip())
            if failure is not None or used_sorry:
                text = "sorry" if failure is None else (failure.get("message")
                                                        or failure["messages"][0]["data"])
                messages.append(base._message("error", text.removeprefix("Lean error:\n"), number))
                break
        if not messages and (goals or not in_main):
            messages.append(base._message("error", "unsolved goals\n" + "\n\n".join(goals), 1))
        new = dict(decls)
        if not messages:
            new[name] = list(theorem.get("axioms", []))
        return {"messages": messages, "env": self.new_env(new)} if messages else {"env": self.new_env(new)}


def subgoal_goal(theorem_goal: str, haves: list[tuple[str, str]], index: int) -> str:
    """The goal of have ``index`` (``len(haves)``: the main goal) with the haves before it in context."""
    context, _, target = theorem_goal.rpartition("⊢ ")
    hypotheses = "".join(f"{n} : {s}\n" for n, s in haves[:index])
    statement = haves[index][1] if index < len(haves) else target
    return f"{context}{hypotheses}⊢ {statement}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--script", required=True, help="JSON file describing a scripted world")
    args = parser.parse_args()
    world = PlanWorld(json.loads(Path(args.script).read_text()))
    return base.serve(world)


if __name__ == "__main__":
    sys.exit(main())
