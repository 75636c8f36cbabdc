"""LeanReplBackend end to end against the scripted fake REPL process: opening theorems (and refusing bad
ones), whole-proof verification (accepting, and rejecting errors, sorry and foreign axioms), and a full
best-first search that finds and verifies a proof."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_repl_fixtures import CHAIN_STATEMENT, HEADER, chain_world, script_config

from search import SearchConfig, StopReason, prove
from search.backends.lean import LeanReplBackend, LeanReplConfig, check_lean_tactic
from search.backends.lean.repl_verify import verify_in_process
from search.errors import BackendUnavailableError, InvalidTheoremError
from search.lean_proof import lean_theorem_text
from search.protocols import Backend, Session
from search.tactic_list import FixedTacticPolicy
from search.types import TacticError, TacticState, Theorem

CHAIN = Theorem("chain", CHAIN_STATEMENT, HEADER)
PROOF = ("step", "step", "split", "left", "right")
BAD_AXIOM = Theorem("uses_axiom", "theorem uses_axiom (n : Nat) : n = n :=", HEADER)
EXAMPLE = Theorem("anonymous", "example (m : Nat) : m = m :=", HEADER)


def world(**extra: Any) -> dict[str, Any]:
    spec = chain_world(2, **extra)
    spec["theorems"] += [
        {"statement": BAD_AXIOM.statement, "goal": "n : Nat\n⊢ n = n", "axioms": ["propext", "fake_axiom"]},
        {"statement": EXAMPLE.statement, "goal": "m : Nat\n⊢ m = m", "axioms": []},
        {"statement": "theorem broken : 1 = 2 :=", "goal": "", "error": "type mismatch"},
        {"statement": "theorem twice : 1 = 1 :=", "goal": "⊢ 1 = 1", "sorries": 2},
    ]
    spec["transitions"]["n : Nat\n⊢ n = n"] = {"rfl": []}
    spec["transitions"]["m : Nat\n⊢ m = m"] = {"rfl": []}
    return spec


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[LeanReplBackend]:
    with LeanReplBackend(script_config(tmp_path, world())) as made:
        yield made


def test_it_implements_the_protocols(backend: LeanReplBackend) -> None:
    assert isinstance(backend, Backend) and backend.name == "repl"
    session = backend.open(CHAIN)
    assert isinstance(session, Session)
    first_goal = "n : Nat\nh0 : step 0\n⊢ n = n"
    assert session.initial_state() == TacticState(first_goal, (first_goal,))
    session.close()
    session.close()


def test_check_tactic_is_the_lean_safety_filter(backend: LeanReplBackend) -> None:
    for tactic in ("sorry", "native_decide", "norm_num", "#eval 1", "simp\ntheorem x : False := sorry"):
        assert backend.check_tactic(tactic) == check_lean_tactic(tactic)
    assert backend.check_tactic("sorry") is not None


def test_a_tactic_the_repl_cannot_take_is_refused_and_costs_it_nothing(backend: LeanReplBackend) -> None:
    session = backend.open(CHAIN)
    pid = backend.pool.process(0).pid
    result = session.run_tactic(session.initial_state(), "simp \ud800")  # no UTF-8 text: never sent
    assert isinstance(result, TacticError) and result.message.startswith("refused before reaching Lean")
    assert backend.pool.process(0).pid == pid and backend.pool.restarts == 0
    session.close()


def test_prove_finds_and_verifies_a_proof(backend: LeanReplBackend) -> None:
    policy = FixedTacticPolicy(("split", "left", "right", "step", "hang"))
    result = prove(CHAIN, backend=backend, policy=policy,
                   config=SearchConfig(tactics_per_node=5, tactic_timeout=0.5, time_limit=60))
    assert result.stop_reason is StopReason.PROVED
    assert result.proof is not None
    assert result.proof.tactics == PROOF
    assert result.proof.verdict.ok and result.proof.verdict.axioms == ("propext",)
    assert result.proof.text == lean_theorem_text(HEADER, CHAIN_STATEMENT, PROOF)
    assert result.stats.timeouts >= 1  # `hang` timed out at every expanded state, and the search went on


def test_prove_with_a_repl_that_predates_proof_status(tmp_path: Path) -> None:
    with LeanReplBackend(script_config(tmp_path, world(proof_status=False))) as old:
        result = prove(CHAIN, backend=old, policy=FixedTacticPolicy(("split", "left", "right", "step")))
    assert result.proved and result.proof is not None and result.proof.tactics == PROOF


def test_verify_accepts_a_complete_proof(backend: LeanReplBackend) -> None:
    verdict = backend.verify(CHAIN, PROOF)
    assert verdict.ok and verdict.messages == () and verdict.axioms == ("propext",)
    assert verdict.proof_text == backend.render_proof(CHAIN, PROOF)


def test_verify_rejects_unfinished_refused_and_foreign_axiom_proofs(backend: LeanReplBackend) -> None:
    unfinished = backend.verify(CHAIN, PROOF[:-1])
    assert not unfinished.ok and "unsolved goals" in unfinished.messages[0]
    failing = backend.verify(CHAIN, ("step", "nonsense"))
    assert not failing.ok and "nonsense" in failing.messages[0]
    refused = backend.verify(CHAIN, ("step", "sorry"))
    assert not refused.ok and "refused" in refused.messages[0]
    foreign = backend.verify(BAD_AXIOM, ("rfl",))
    assert not foreign.ok and "fake_axiom" in foreign.messages[0]
    assert foreign.axioms == ("propext", "fake_axiom")
    assert not backend.verify(CHAIN, ()).ok


def test_verify_rejects_sorry_even_past_the_filter(backend: LeanReplBackend) -> None:
    proc = backend.pool.acquire()
    try:
        verdict = verify_in_process(proc, CHAIN, (*PROOF[:-1], "sorry"), config=backend.config)
    finally:
        backend.pool.release(proc)
    assert not verdict.ok
    assert any("declaration uses 'sorry'" in m for m in verdict.messages)


def test_verify_an_example_under_a_fresh_name(backend: LeanReplBackend) -> None:
    verdict = backend.verify(EXAMPLE, ("rfl",))
    assert verdict.ok and verdict.axioms == ()
    assert verdict.proof_text.startswith(HEADER + "\n\nexample (m : Nat)")


def test_verify_that_hangs_is_not_ok_and_the_pool_recovers(tmp_path: Path) -> None:
    with LeanReplBackend(script_config(tmp_path, world(), verify_timeout=0.5)) as made:
        verdict = made.verify(CHAIN, ("step", "hang"))
        assert not verdict.ok and "timed out" in verdict.messages[0]
        assert made.pool.restarts == 1
        assert made.verify(CHAIN, PROOF).ok


def test_verify_in_a_fresh_process(tmp_path: Path) -> None:
    with LeanReplBackend(script_config(tmp_path, world(), verify_in_fresh_process=True)) as made:
        assert made.verify(CHAIN, PROOF).ok
        assert not made.verify(BAD_AXIOM, ("rfl",)).ok
        assert not made.pool.process(0).started


@pytest.mark.parametrize(
    ("statement", "needle"),
    [("theorem broken : 1 = 2 :=", "line 2"), ("theorem twice : 1 = 1 :=", "exactly one sorry"),
     ("theorem unknown : 3 = 3 :=", "unknown statement")],
)
def test_open_refuses_statements_lean_rejects(backend: LeanReplBackend, statement: str, needle: str) -> None:
    with pytest.raises(InvalidTheoremError) as caught:
        backend.open(Theorem("bad", statement, HEADER))
    assert needle in caught.value.reason


def test_open_runs_the_theorem_safety_check_first(backend: LeanReplBackend) -> None:
    with pytest.raises(InvalidTheoremError):
        backend.open(Theorem("evil", "theorem evil : False := sorry\ntheorem t : True :=", HEADER))
    assert not backend.pool.process(0).started


def test_a_header_the_project_cannot_import_makes_the_backend_unavailable(tmp_path: Path) -> None:
    config = script_config(tmp_path, world(missing_imports=["Mathlib"]))
    with LeanReplBackend(config) as made, pytest.raises(BackendUnavailableError, match="unknown module"):
        made.open(CHAIN)


def test_the_header_is_imported_once_per_process(backend: LeanReplBackend) -> None:
    first = backend.open(CHAIN)
    requests = backend.pool.process(0).requests
    second = backend.open(CHAIN)
    assert backend.pool.process(0).requests == requests + 1  # only `statement by sorry`
    assert first.initial_state() == second.initial_state()


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [({"command": ("no-such-lake-binary", "env", "repl")}, "not found"),
     ({"project_dir": "/nonexistent/lean_project"}, "does not exist"),
     ({"command": (sys.executable, "-c", "import sys; sys.exit(7)")}, "exit code 7")],
)
def test_a_missing_or_broken_repl_is_unavailable_with_the_fix(tmp_path: Path, overrides: dict[str, Any],
                                                               needle: str) -> None:
    config = LeanReplConfig(**{"project_dir": str(tmp_path), "import_timeout": 5.0, **overrides})
    with LeanReplBackend(config) as made, pytest.raises(BackendUnavailableError) as caught:
        made.open(CHAIN)
    assert needle in str(caught.value)
    if "exit code" not in needle:
        assert "prover setup" in str(caught.value)


def test_a_state_of_another_session_is_refused(backend: LeanReplBackend) -> None:
    first, second = backend.open(CHAIN), backend.open(CHAIN)
    with pytest.raises(ValueError, match="not returned by this session"):
        second.run_tactic(first.initial_state(), "step")
    assert isinstance(first.run_tactic(first.initial_state(), "nonsense"), TacticError)


def test_closing_the_backend_kills_its_processes(tmp_path: Path) -> None:
    made = LeanReplBackend(script_config(tmp_path, world()))
    made.open(CHAIN)
    pid = made.pool.process(0).pid
    made.close()
    made.close()
    assert pid is not None and not Path(f"/proc/{pid}").exists()
