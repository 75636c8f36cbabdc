"""Helpers for the REPL tests: where the fake REPL and the recorded sessions are, configs that run the
fake, and scripted worlds. Test fixtures, not product code."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from module_loading import load_module

from search.backends.lean import LeanReplConfig

FAKES = Path(__file__).resolve().parent / "fakes"
FAKE_REPL = FAKES / "fake_repl.py"
RECORDED = Path(__file__).resolve().parents[3].parent / "shared" / "lean-repl-tests"


def fake_module() -> ModuleType:
    """The fake REPL imported as a module (for its request splitting, the REPL's own reading rule)."""
    return load_module("fake_repl", FAKE_REPL)


def transcripts() -> list[Path]:
    """Every recorded session that has answers, both versions, Mathlib ones included (path prefixes)."""
    outs = sorted(RECORDED.glob("*/**/*.expected.out"))
    return [out.with_name(out.name.removesuffix(".expected.out")) for out in outs]


def recorded(prefix: Path) -> list[tuple[dict[str, Any], str]]:
    """(request as the REPL decodes it, raw recorded answer) pairs of one session."""
    fake = fake_module()
    requests = fake.split_queries(prefix.with_name(prefix.name + ".in").read_text())
    answers = re.split(r"\n\s*\n", prefix.with_name(prefix.name + ".expected.out").read_text().strip())
    assert len(requests) == len(answers), prefix
    return [(json.loads(q, strict=False), a) for q, a in zip(requests, answers, strict=True)]


def transcript_config(prefix: Path, **overrides: Any) -> LeanReplConfig:
    return LeanReplConfig(project_dir=str(FAKES), command=(sys.executable, str(FAKE_REPL), "--transcript",
                                                           str(prefix)), **overrides)


def script_config(tmp_path: Path, world: dict[str, Any], **overrides: Any) -> LeanReplConfig:
    """A config whose REPL is the fake running ``world`` (written to ``tmp_path/world.json``)."""
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world))
    settings: dict[str, Any] = {"tactic_timeout": 5.0, "import_timeout": 10.0, "command_timeout": 10.0,
                                "verify_timeout": 10.0, "memory_poll_interval": 0.05}
    settings.update(overrides)
    return LeanReplConfig(project_dir=str(tmp_path), command=(sys.executable, str(FAKE_REPL), "--script",
                                                              str(path)), **settings)


CHAIN_STATEMENT = "theorem chain (n : Nat) : n = n :="
HEADER = "import Mathlib\nopen Nat"


def goal(i: int) -> str:
    return f"n : Nat\nh{i} : step {i}\n⊢ n = n"


def chain_world(depth: int, **extra: Any) -> dict[str, Any]:
    """A theorem whose states form a chain: ``step`` goes from goal i to i + 1, ``split`` at the end
    makes two goals, ``left``/``right`` close them; ``hang``/``crash``/``balloon`` are cues everywhere."""
    transitions: dict[str, dict[str, Any]] = {goal(i): {"step": [goal(i + 1)]} for i in range(depth)}
    transitions[goal(depth)] = {"split": ["⊢ left", "⊢ right"], "rfl": []}
    transitions["⊢ left"] = {"left": []}
    transitions["⊢ right"] = {"right": [], "bad": {"error": "unknown identifier 'bad'"}}
    world = {"theorems": [{"statement": CHAIN_STATEMENT, "goal": goal(0), "axioms": ["propext"]}],
             "transitions": transitions, "hang": ["hang"], "crash": ["crash"], "balloon": ["balloon"],
             "balloon_mb": 400}
    world.update(extra)
    return world
