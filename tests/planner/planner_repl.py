"""A Lean REPL backend whose process is the plan-aware fake (``fakes/fake_plan_repl.py``) running a world
for ``planner_worlds.THEOREM``. Test fixture, not product code."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from planner_worlds import CONTEXT, TARGET, THEOREM, goal

from search import Theorem
from search.backends.lean import LeanReplConfig

FAKE_PLAN_REPL = Path(__file__).resolve().parent / "fakes" / "fake_plan_repl.py"
MULTI_LINE = Theorem("linear_multi_line", "theorem linear_multi_line\n  (x : ℝ)\n  (h₀ : 5 * x - 4 = 21) :\n"
                                          "  x = 5 :=", THEOREM.header)  # laid out as MiniF2F does


def world(**extra: Any) -> dict[str, Any]:
    """The planning world as the fake REPL's script: only the plan's goals have moves."""
    good = [("h1", "5 * x = 25"), ("h2", "x = 25 / 5")]
    transitions: dict[str, dict[str, Any]] = {
        goal((), "5 * x = 25"): {"linarith": []},
        goal(good[:1], "x = 25 / 5"): {"linarith": []},
        goal(good, TARGET): {"rw [h2]": [goal(good, "25 / 5 = 5")]},
        goal(good, "25 / 5 = 5"): {"norm_num": []},
    }
    axioms = ["propext", "Classical.choice", "Quot.sound"]
    spec = {"theorems": [{"statement": THEOREM.statement, "goal": f"{CONTEXT}\n⊢ {TARGET}", "axioms": axioms},
                         {"statement": MULTI_LINE.statement, "goal": f"{CONTEXT}\n⊢ {TARGET}",
                          "axioms": axioms}],
            "transitions": transitions, "plan_statements": ["5 * x = 25", "x = 25 / 5", "x ^ 2 = 25"],
            "crash": ["crash"], "hang": ["hang"]}
    spec.update(extra)
    return spec


def plan_repl_config(tmp_path: Path, spec: dict[str, Any] | None = None, **overrides: Any) -> LeanReplConfig:
    path = tmp_path / "world.json"
    path.write_text(json.dumps(spec or world()))
    settings: dict[str, Any] = {"tactic_timeout": 5.0, "import_timeout": 10.0, "command_timeout": 10.0,
                                "verify_timeout": 10.0, "memory_poll_interval": 0.05}
    settings.update(overrides)
    return LeanReplConfig(project_dir=str(tmp_path), command=(sys.executable, str(FAKE_PLAN_REPL), "--script",
                                                              str(path)), **settings)
