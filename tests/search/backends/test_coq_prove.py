"""End to end: best-first search with the Coq tactic-list policy finds verified proofs in real Coq."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from search import SearchConfig, StopReason, prove
from search.backends.coq import CoqBackend, CoqTacticPolicy, read_coq_benchmark
from search.backends.coq.policy import DEFAULT_COQ_TACTICS
from search.types import Candidate, Theorem

BENCHMARK = Path(__file__).resolve().parents[3] / "prover" / "data" / "coq_basic.jsonl"
CONFIG = SearchConfig(max_expansions=40, tactics_per_node=16, time_limit=60, tactic_timeout=5)


def theorem(name: str) -> Theorem:
    return next(i.theorem for i in read_coq_benchmark(BENCHMARK) if i.theorem.name == name)


@pytest.mark.parametrize("name", ["sum_to_formula", "length_app_ind", "next_three", "app_eq_nil_l"])
def test_search_finds_verified_proofs_of_depth_at_least_three(name: str) -> None:
    backend = CoqBackend()
    result = prove(theorem(name), backend=backend, policy=CoqTacticPolicy(), config=CONFIG)
    assert result.stop_reason is StopReason.PROVED, result.stats
    assert result.proof is not None and result.proof.verdict.ok
    assert len(result.proof.tactics) >= 3
    assert result.proof.text == backend.render_proof(theorem(name), result.proof.tactics)
    assert backend.verify(theorem(name), result.proof.tactics).ok  # independent re-check
    assert result.graph is not None
    result.graph.check_invariants()


def test_unprovable_by_the_list_ends_without_a_proof() -> None:
    result = prove(theorem("exists_witness"), backend=CoqBackend(), policy=CoqTacticPolicy(),
                   config=SearchConfig(max_expansions=3, tactics_per_node=8, tactic_timeout=5))
    assert not result.proved and result.proof is None
    assert result.stop_reason in (StopReason.EXHAUSTED, StopReason.EXPANSION_BUDGET)


class CheatingPolicy:
    """Proposes unsafe text before a real tactic: the filter must stop it, the search must go on."""

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        cheats = [Candidate("admit", -0.1), Candidate("Admitted.", -0.2), Candidate("intros. Qed.", -0.3)]
        real = [Candidate(t, -1.0 - i) for i, (t, _) in enumerate(DEFAULT_COQ_TACTICS)]
        return [(cheats + real)[:n] for _ in states]


def test_unsafe_tactics_are_filtered_during_search() -> None:
    name = Theorem("t", "Theorem t : forall n : nat, n + 0 = n.", "Require Import Lia.")
    result = prove(name, backend=CoqBackend(), policy=CheatingPolicy(),
                   config=SearchConfig(max_expansions=2, tactics_per_node=5, tactic_timeout=5))
    assert result.proved and result.proof is not None and result.proof.tactics == ("lia",)
    assert result.stats.filtered == 3


def test_the_readme_python_api_example() -> None:
    from search import SearchConfig, Theorem, prove
    from search.backends.coq import CoqBackend, CoqBackendConfig, CoqTacticPolicy

    theorem = Theorem("t", "Theorem t : forall n : nat, n + 0 = n.", header="Require Import Arith.")
    with CoqBackend(CoqBackendConfig()) as backend:
        result = prove(theorem, backend=backend, policy=CoqTacticPolicy(),
                       config=SearchConfig(max_expansions=100, tactics_per_node=16))
    assert result.proved and result.proof.text.rstrip().endswith("Qed.")
    assert result.proof.verdict.ok and result.graph.to_networkx().number_of_nodes() >= 2
