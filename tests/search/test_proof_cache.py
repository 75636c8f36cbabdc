"""Goal keys, the in-memory proof cache, and searches that share it."""

from __future__ import annotations

from scripted import QED, THEOREM, Fail, ScriptedBackend, ScriptedEnv, ScriptedPolicy

from search import InMemoryProofCache, SearchConfig, StopReason, goal_key, prove

CFG = SearchConfig(time_limit=None, tactics_per_node=5)


def test_goal_keys_ignore_hypothesis_names() -> None:
    a = goal_key("x y : ℕ\nh : x = y\n⊢ y = x")
    b = goal_key("a b : ℕ\nhab : a = b\n⊢ b = a")
    assert a.key == b.key == "h_0 h_1 : ℕ\nh_2 : h_0 = h_1\n⊢ h_1 = h_0"
    assert goal_key("x : ℕ\n⊢ x = 1").key != goal_key("x : ℕ\n⊢ x = 2").key
    coq = goal_key("n, m : nat\nIHn : n = m\n============================\nS n = S m")
    assert coq.key == "h_0, h_1 : nat\nh_2 : h_0 = h_1\n============================\nS h_0 = S h_1"


def test_tactics_translate_through_canonical_names() -> None:
    a = goal_key("x y : ℕ\nh : x = y\n⊢ y = x")
    b = goal_key("a b : ℕ\nhab : a = b\n⊢ b = a")
    canonical = a.to_canonical(["rw [h]", "exact h.symm", "simp [Nat.add_comm, x]"])
    assert canonical == ("rw [h_2]", "exact h_2.symm", "simp [Nat.add_comm, h_0]")
    assert b.from_canonical(canonical) == ("rw [hab]", "exact hab.symm", "simp [Nat.add_comm, a]")


def test_cache_keeps_the_shortest_proof_and_proofs_beat_failures() -> None:
    cache = InMemoryProofCache()
    cache.publish_failure("g", 10)
    cache.publish_failure("g", 5)
    assert cache.lookup("g").failed_expansions == 10
    cache.publish_proof("g", ("a", "b"))
    cache.publish_proof("g", ("a", "b", "c"))
    cache.publish_failure("g", 50)
    assert cache.lookup("g").proof == ("a", "b")
    stats = cache.stats
    assert (stats.proofs, stats.failures, stats.hits, stats.failure_hits) == (1, 0, 1, 1)


def shared_env(prefix: str) -> ScriptedEnv:
    """root -> S (shared with other theorems) -> 5 steps -> QED; plus a dead end."""
    moves = {f"{prefix}root": {"enter": "x : ℕ\n⊢ S0", "dead": f"{prefix}dead"}}
    for i in range(5):
        moves[f"x : ℕ\n⊢ S{i}"] = {"step x": f"x : ℕ\n⊢ S{i + 1}", "noise": Fail("no")}
    moves["x : ℕ\n⊢ S5"] = {"close x": QED}
    return ScriptedEnv(root=f"{prefix}root", moves=moves)


def policy() -> ScriptedPolicy:
    return ScriptedPolicy({}, default=lambda s: [("enter", -0.1), ("dead", -0.2), ("step x", -0.3),
                                                 ("noise", -0.4), ("close x", -0.5)])


def test_a_second_search_reuses_the_first_ones_proof() -> None:
    cache = InMemoryProofCache()
    first = prove(THEOREM, backend=ScriptedBackend(shared_env("a")), policy=policy(), config=CFG, cache=cache)
    assert first.proved and first.stats.cache_hits == 0
    backend = ScriptedBackend(shared_env("b"))
    second = prove(THEOREM, backend=backend, policy=policy(), config=CFG, cache=cache)
    assert second.proved and second.stats.cache_hits == 1
    assert second.stats.expansions == 1 < first.stats.expansions
    assert second.proof.tactics == ("enter", "step x", "step x", "step x", "step x", "step x", "close x")
    assert backend.verified == [second.proof.tactics]  # the cached part was verified with the rest


def test_a_cached_proof_that_does_not_verify_is_searched_again() -> None:
    cache = InMemoryProofCache()
    cache.publish_proof(goal_key("x : ℕ\n⊢ S0").key, ("bogus",))
    backend = ScriptedBackend(shared_env("c"))
    result = prove(THEOREM, backend=backend, policy=policy(), config=CFG, cache=cache)
    assert result.proved and result.stats.proofs_rejected == 1 and result.stats.cache_hits == 1
    assert result.proof.tactics[-1] == "close x"


def test_exhaustive_failures_are_shared_and_skipped() -> None:
    cache = InMemoryProofCache()
    env = ScriptedEnv(root="r", moves={"r": {"a": "s"}, "s": {"b": "t"}})
    first = prove(THEOREM, backend=ScriptedBackend(env), policy=ScriptedPolicy(
        {"r": [("a", -0.1)], "s": [("b", -0.1)]}), config=CFG, cache=cache)
    assert first.stop_reason is StopReason.EXHAUSTED and cache.stats.failures == 3
    env2 = ScriptedEnv(root="q", moves={"q": {"a": "s", "c": "u"}, "u": {"d": QED}})
    pol = ScriptedPolicy({"q": [("a", -0.1), ("c", -0.2)], "u": [("d", -0.1)], "s": [("b", -0.1)]})
    second = prove(THEOREM, backend=ScriptedBackend(env2), policy=pol, config=CFG, cache=cache)
    assert second.proved and second.stats.cache_skips == 1
    assert "s" not in pol.asked  # the known failure was never expanded again
