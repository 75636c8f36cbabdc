"""The REPL backend against real Lean + Mathlib: a built lean_project at $PROVER_LEAN_PROJECT.

These tests skip where no Lean toolchain is configured (every development machine of this project); they
prove and verify MiniF2F theorems read from ../shared/benchmarks/minif2f.jsonl, whose statements target
the pinned Lean v4.24.0 / Mathlib f897ebcf.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fake_repl_fixtures import RECORDED

from prover.theorem_input import theorem_from_file
from search import SearchConfig, prove
from search.backends.lean import ALLOWED_AXIOMS, LeanReplBackend, LeanReplConfig
from search.backends.lean.repl_verify import verify_in_process
from search.errors import InvalidTheoremError
from search.tactic_list import FixedTacticPolicy
from search.types import TacticError, TacticState, TacticTimeout, Theorem

pytestmark = pytest.mark.lean

MINIF2F = RECORDED.parent / "benchmarks" / "minif2f.jsonl"
POLICY = FixedTacticPolicy(("norm_num", "linarith", "simp", "subst h₂ h₃", "norm_num at h₁ ⊢", "decide"))


def minif2f(name: str) -> Theorem:
    return theorem_from_file(MINIF2F, name)


@pytest.fixture(scope="module")
def backend() -> Iterator[LeanReplBackend]:
    config = LeanReplConfig(project_dir=os.environ["PROVER_LEAN_PROJECT"], tactic_timeout=60.0)
    with LeanReplBackend(config) as made:
        yield made


@pytest.mark.parametrize("name", ["mathd_numbertheory_254", "mathd_numbertheory_299", "mathd_algebra_478"])
def test_prove_and_verify_minif2f(backend: LeanReplBackend, name: str) -> None:
    theorem = minif2f(name)
    result = prove(theorem, backend=backend, policy=POLICY,
                   config=SearchConfig(tactics_per_node=6, max_expansions=30, time_limit=600))
    assert result.proved, result.as_dict()
    assert result.proof is not None
    verdict = result.proof.verdict
    assert verdict.ok and set(verdict.axioms) <= ALLOWED_AXIOMS
    assert backend.verify(theorem, result.proof.tactics).ok  # checked again, from scratch


def test_session_states_errors_and_a_hang(backend: LeanReplBackend) -> None:
    theorem = minif2f("mathd_algebra_478")
    session = backend.open(theorem)
    root = session.initial_state()
    assert root.pp.endswith("⊢ v = 65") and root.num_goals == 1
    assert isinstance(session.run_tactic(root, "exact no_such_lemma_xyz"), TacticError)
    assert session.run_tactic(root, "skip") == root
    assert session.run_tactic(root, "sleep 100000", timeout=2.0) == TacticTimeout(2.0)
    substituted = session.run_tactic(root, "subst h₂ h₃")  # the REPL restarted: header re-imported
    assert isinstance(substituted, TacticState) and "h₁ : v = 1 / 3 * (30 * (13 / 2))" in substituted.pp
    assert backend.pool.restarts >= 1
    session.close()


def test_verify_rejects_errors_sorry_and_native_decide(backend: LeanReplBackend) -> None:
    theorem = minif2f("mathd_numbertheory_254")
    assert not backend.verify(theorem, ("exact trivial",)).ok
    assert not backend.verify(theorem, ("sorry",)).ok  # refused by the filter
    proc = backend.pool.acquire()
    try:
        with_sorry = verify_in_process(proc, theorem, ("sorry",), config=backend.config)
        native = verify_in_process(proc, theorem, ("native_decide",), config=backend.config)
    finally:
        backend.pool.release(proc)
    assert not with_sorry.ok and any("sorry" in m for m in with_sorry.messages)
    assert not native.ok and not set(native.axioms) <= ALLOWED_AXIOMS


def test_a_statement_lean_rejects_is_invalid(backend: LeanReplBackend) -> None:
    header = minif2f("mathd_numbertheory_254").header
    with pytest.raises(InvalidTheoremError, match="line"):
        backend.open(Theorem("bad", 'theorem bad : (1 : ℕ) = "one" :=', header))
