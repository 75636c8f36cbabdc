"""A proof cache reuses a retrieval search's failures only under the same corpus and settings (the
policy's fingerprint), and mixtures name themselves by their parts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from scripted import QED, THEOREM, ScriptedBackend, ScriptedEnv

from prover.retrieval import MixturePolicy, RetrievalConfig, RetrievalIndex, RetrievalPolicy
from search import FixedTacticPolicy, InMemoryProofCache, SearchConfig, StopReason, fingerprint_of, prove

R = "a b : ℕ\n⊢ a + b = b + a"
S = "a b : ℕ\nh : a = b\n⊢ a + b = b + a"  # reached from R and from Q; a dead end
T = "a b : ℕ\nh : a = b\n⊢ b + b = b + b"
Q = "x y : ℕ\n⊢ x * y = y * x"
U = "x y : ℕ\n⊢ y * x = y * x"
PAIRS = [(R, "step_one"), (S, "step_two"), (Q, "step_one"), (Q, "step_one"), (Q, "swap_mul"), (U, "finish")]
SETTINGS = RetrievalConfig(min_similarity=0.0)
BUDGET = SearchConfig(time_limit=None, tactics_per_node=8)


def retrieval(pairs: list[tuple[str, str]] = PAIRS, config: RetrievalConfig = SETTINGS) -> RetrievalPolicy:
    return RetrievalPolicy(RetrievalIndex.from_pairs(pairs), config)


def fail_from_r(cache: InMemoryProofCache) -> None:
    """R -step_one-> S -step_two-> T and nothing further: an exhaustive failure recorded for R, S, T."""
    env = ScriptedEnv(root=R, moves={R: {"step_one": S}, S: {"step_two": T}})
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=retrieval(), config=BUDGET, cache=cache)
    assert result.stop_reason is StopReason.EXHAUSTED and (S, "step_two") in env.calls


def from_q(cache: InMemoryProofCache, policy: RetrievalPolicy, config: SearchConfig = BUDGET) -> tuple[
        int, bool]:
    """Q -step_one-> S (the dead end, ranked first) and Q -swap_mul-> U -finish-> QED: the proof's cache
    skips, and whether S was expanded."""
    env = ScriptedEnv(root=Q, moves={Q: {"step_one": S, "swap_mul": U}, U: {"finish": QED},
                                     S: {"step_two": T}})
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=config, cache=cache)
    assert result.proved
    return result.stats.cache_skips, any(state == S for state, _ in env.calls)


def test_a_failure_is_reused_under_the_same_corpus_settings_and_budget() -> None:
    cache = InMemoryProofCache()
    fail_from_r(cache)
    again = retrieval()  # the same corpus indexed anew: the same name
    assert again.fingerprint == retrieval().fingerprint
    assert from_q(cache, again) == (1, False)  # S's failure skipped, never expanded again


@pytest.mark.parametrize("policy", [
    retrieval([*PAIRS, (T, "step_three")]),  # another corpus
    retrieval(config=replace(SETTINGS, power=2.0)),  # another weighting
    retrieval(config=replace(SETTINGS, neighbours=2)),
], ids=["corpus", "power", "neighbours"])
def test_a_failure_found_with_another_corpus_or_setting_is_searched_again(policy: RetrievalPolicy) -> None:
    cache = InMemoryProofCache()
    fail_from_r(cache)
    assert policy.fingerprint != retrieval().fingerprint
    assert from_q(cache, policy) == (0, True)


def test_a_larger_budget_searches_a_retrieval_failure_again() -> None:
    cache = InMemoryProofCache()
    fail_from_r(cache)
    assert from_q(cache, retrieval(), replace(BUDGET, tactics_per_node=9)) == (0, True)


def test_every_retrieval_setting_counts_in_the_fingerprint() -> None:
    base = retrieval()
    for change in ({"corpus": "/elsewhere"}, {"width": 5}, {"tactic_list_weight": 0.5},
                   {"min_similarity": 0.1}):
        assert retrieval(config=replace(SETTINGS, **change)).fingerprint != base.fingerprint, change


def test_a_mixture_is_named_by_its_parts_and_their_weights() -> None:
    fixed = FixedTacticPolicy(("step_one", "finish"))
    mixture = MixturePolicy([(retrieval(), 0.7), (fixed, 0.3)])
    assert mixture.fingerprint == MixturePolicy([(retrieval(), 7.0), (fixed, 3.0)]).fingerprint  # normalised
    assert mixture.fingerprint != MixturePolicy([(retrieval(), 0.5), (fixed, 0.5)]).fingerprint
    assert mixture.fingerprint != MixturePolicy(
        [(retrieval([*PAIRS, (T, "step_three")]), 0.7), (fixed, 0.3)]).fingerprint
    other_list = FixedTacticPolicy(("x",))
    assert mixture.fingerprint != MixturePolicy([(retrieval(), 0.7), (other_list, 0.3)]).fingerprint

    class Unnamed(FixedTacticPolicy):
        fingerprint = None  # type: ignore[assignment]

    assert fingerprint_of(MixturePolicy([(retrieval(), 0.5), (Unnamed(("x",)), 0.5)])) is None


def test_a_deterministic_mixture_is_its_own_attempt() -> None:
    mixture = MixturePolicy([(retrieval(), 0.5), (FixedTacticPolicy(("x",)), 0.5)])
    assert mixture.for_attempt(2) is mixture
