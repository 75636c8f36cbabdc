"""Plans against real Lean + Mathlib (a built lean_project at $PROVER_LEAN_PROJECT; skipped elsewhere): the
plan check's goals and error attribution as real Lean answers them, and a planned proof of a MiniF2F
theorem verified as a whole. The plan comes from a scripted client, so no model is needed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from planner_worlds import ListClient, fenced

from planner import LeanReplPlanBackend, PlannerConfig, prove_with_planner
from prover.theorem_input import theorem_from_file
from search import FixedTacticPolicy, SearchConfig, Theorem
from search.backends.lean import LeanReplBackend, LeanReplConfig

pytestmark = pytest.mark.lean

MINIF2F = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "minif2f.jsonl"
PLAN = (("h1", "x = 40 * 50"), ("h2", "x = 2000"))


def minif2f(name: str) -> Theorem:
    return theorem_from_file(MINIF2F, name)


@pytest.fixture(scope="module")
def backend() -> Iterator[LeanReplBackend]:
    config = LeanReplConfig(project_dir=os.environ["PROVER_LEAN_PROJECT"], tactic_timeout=60.0)
    with LeanReplBackend(config) as made:
        yield made


def test_real_lean_checks_a_plan_in_order(backend: LeanReplBackend) -> None:
    theorem = minif2f("mathd_algebra_24")  # (x : ℝ) (h₀ : x / 50 = 40) : x = 2000, over four lines
    plan = LeanReplPlanBackend(backend)
    check = plan.check_plan(theorem, [f"have {n} : {s}" for n, s in PLAN])
    assert check.ok and len(check.goals) == 3
    assert check.goals[0].endswith("⊢ x = 40 * 50") and "h₀ : x / 50 = 40" in check.goals[0]
    assert "h1 : x = 40 * 50" in check.goals[1] and check.goals[1].endswith("⊢ x = 2000")
    assert "h2 : x = 2000" in check.goals[2]
    bad = plan.check_plan(theorem, ["have h1 : x = 40 * 50", "have h2 : y = 2000"])
    assert not bad.ok and {p.index for p in bad.problems} == {1}


def test_real_lean_proves_through_a_plan(backend: LeanReplBackend) -> None:
    result = prove_with_planner(
        minif2f("mathd_algebra_24"), backend=backend, policy=FixedTacticPolicy(("linarith", "norm_num")),
        search_config=SearchConfig(tactics_per_node=2, time_limit=300.0),
        planner_config=PlannerConfig(subgoal_expansions=4, main_expansions=4),
        client=ListClient([fenced(*PLAN)]))
    assert result.proved and result.proof is not None
    assert result.proof.tactics[0].startswith("have h1 : x = 40 * 50 := by\n  ")
