"""Goal keys, the in-memory proof cache, and searches that share it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from scripted import QED, THEOREM, Fail, Hang, ScriptedBackend, ScriptedEnv, ScriptedPolicy

from search import (
    FailureRecord,
    FailureScope,
    InMemoryProofCache,
    SearchConfig,
    StopReason,
    goal_key,
    prove,
)

CFG = SearchConfig(time_limit=None, tactics_per_node=5)


def test_goal_keys_ignore_hypothesis_names() -> None:
    a = goal_key("x y : ℕ\nh : x = y\n⊢ y = x")
    b = goal_key("a b : ℕ\nhab : a = b\n⊢ b = a")
    assert a.key == b.key == "h_0 h_1 : ℕ\nh_2 : h_0 = h_1\n⊢ h_1 = h_0"
    assert goal_key("x : ℕ\n⊢ x = 1").key != goal_key("x : ℕ\n⊢ x = 2").key
    coq = goal_key("n, m : nat\nIHn : n = m\n============================\nS n = S m")
    assert coq.key == "h_0, h_1 : nat\nh_2 : h_0 = h_1\n============================\nS h_0 = S h_1"


COQ_STATE = """1 goal
  x, y : nat
  H : x = 1
  H0 : y = 2
  ============================
  x + y = 3"""


def test_coq_goal_keys_rename_every_hypothesis_and_no_binder() -> None:
    key = goal_key(COQ_STATE)
    assert dict(key.names) == {"x": "h_0", "y": "h_1", "H": "h_2", "H0": "h_3"}
    assert key.key == goal_key(COQ_STATE.replace("H0", "Hy").replace("H ", "Hx ")).key
    forall = goal_key("1 goal\n  ============================\n  forall b : bool, b = true")
    exists = goal_key("1 goal\n  ============================\n  exists b : bool, b = true")
    assert forall.names == {} and forall.key != exists.key
    later = goal_key("2 goals\n  n : nat\n  ============================\n  0 = 0\n\ngoal 2 is:\n"
                     "  n : nat\n  IHn : n = 0\n  ============================\n  forall m : nat, m = n")
    assert dict(later.names) == {"n": "h_0", "IHn": "h_1"}


def test_lean_binders_and_case_tags_are_not_hypotheses() -> None:
    key = goal_key("case inl\nx y : ℕ\nh₁ : x = y\n⊢ ∀ b : Bool, b = true")
    assert dict(key.names) == {"x": "h_0", "y": "h_1", "h₁": "h_2"}
    assert key.key.endswith("⊢ ∀ b : Bool, b = true")


def test_each_goal_renames_only_its_own_hypotheses() -> None:
    """``f`` is a hypothesis of ``case a`` but a global in ``case b``: two states whose ``case b`` name
    different globals are different states, and states that differ only in ``case a``'s hypothesis names
    are one."""
    f_global = goal_key("case a\nf : ℕ\n⊢ f = 0\n\ncase b\n⊢ f = 1")
    g_global = goal_key("case a\ng : ℕ\n⊢ g = 0\n\ncase b\n⊢ g = 1")
    assert f_global.key == "case a\nh_0 : ℕ\n⊢ h_0 = 0\n\ncase b\n⊢ f = 1"
    assert f_global.key != g_global.key
    assert f_global.key == goal_key("case a\nx : ℕ\n⊢ x = 0\n\ncase b\n⊢ f = 1").key
    shared = goal_key("case a\nx y : ℕ\n⊢ x = y\n\ncase b\nx : ℕ\nh : x = 0\n⊢ x = 1")
    assert shared.key == "case a\nh_0 h_1 : ℕ\n⊢ h_0 = h_1\n\ncase b\nh_0 : ℕ\nh_2 : h_0 = 0\n⊢ h_0 = 1"
    assert dict(shared.names) == {"x": "h_0", "y": "h_1", "h": "h_2"}
    coq = goal_key("2 goals\n  n : nat\n  ============================\n  n = 0\n\ngoal 2 is:\n"
                   "  m : nat\n  ============================\n  n = m")
    assert coq.key.endswith("goal 2 is:\n  h_1 : nat\n  ============================\n  n = h_1")
    taken = goal_key("case a\nx : ℕ\n⊢ x = 0\n\ncase b\n⊢ h_0 = 1")  # a global h_0 in case b
    assert taken.names == {} and taken.key == "case a\nx : ℕ\n⊢ x = 0\n\ncase b\n⊢ h_0 = 1"


def test_a_canonical_name_already_in_the_state_turns_renaming_off() -> None:
    taken = goal_key("x : ℕ\n⊢ ∀ h_0 : ℕ, x = h_0")
    assert taken.names == {} and taken.key == "x : ℕ\n⊢ ∀ h_0 : ℕ, x = h_0"
    assert taken.key != goal_key("x : ℕ\n⊢ ∀ y : ℕ, x = y").key


def test_qualified_names_keep_what_they_name() -> None:
    """In Coq ``M1.f`` is ``f`` of module ``M1``, whatever hypothesis is called ``M1``; in Lean ``a.x`` is a
    projection of ``a``, and a global ``h_0.x`` beside it turns renaming off."""
    one = goal_key("1 goal\n  M1 : nat\n  ============================\n  M1.f M1 = M1")
    two = goal_key("1 goal\n  M2 : nat\n  ============================\n  M2.f M2 = M2")
    assert one.key != two.key and "M1.f h_0" in one.key
    assert one.to_canonical(["exact (M1.f_eq M1)"]) == ("exact (M1.f_eq h_0)",)
    lean_a = goal_key("a : S\n⊢ a.x = h_0.x")
    lean_b = goal_key("h_0 : S\n⊢ h_0.x = h_0.x")
    assert lean_a.key != lean_b.key and lean_a.names == {}


def test_tactics_translate_through_canonical_names() -> None:
    a = goal_key("x y : ℕ\nh : x = y\n⊢ y = x")
    b = goal_key("a b : ℕ\nhab : a = b\n⊢ b = a")
    canonical = a.to_canonical(["rw [h]", "exact h.symm", "simp [Nat.add_comm, x]"])
    assert canonical == ("rw [h_2]", "exact h_2.symm", "simp [Nat.add_comm, h_0]")
    assert b.from_canonical(canonical) == ("rw [hab]", "exact hab.symm", "simp [Nat.add_comm, a]")


SCOPE = FailureScope("policy-a", tactics_per_node=5, tactic_timeout=12.0, max_expansions=None,
                     time_limit=None)


def test_cache_keeps_the_shortest_proof_and_proofs_beat_failures() -> None:
    cache = InMemoryProofCache()
    cache.publish_failure("g", SCOPE, 10)
    cache.publish_failure("g", replace(SCOPE, tactics_per_node=2), 5)  # covered by the first: dropped
    assert cache.lookup("g").failures == (FailureRecord(SCOPE, 10),)
    cache.publish_proof("g", ("a", "b"))
    cache.publish_proof("g", ("a", "b", "c"))
    cache.publish_failure("g", SCOPE, 50)
    assert cache.lookup("g").proof == ("a", "b") and cache.lookup("g").failures == ()
    stats = cache.stats
    assert (stats.proofs, stats.failures, stats.hits, stats.failure_hits) == (1, 0, 2, 1)


def test_a_failure_scope_covers_only_the_same_policy_under_no_larger_budget() -> None:
    small = FailureScope("p", tactics_per_node=4, tactic_timeout=5.0, max_expansions=10, time_limit=60.0)
    assert small.covers(small)
    assert not small.covers(replace(small, policy="q"))
    assert not small.covers(replace(small, tactics_per_node=8))
    assert not small.covers(replace(small, tactic_timeout=12.0))
    assert not small.covers(replace(small, max_expansions=11))
    assert not small.covers(replace(small, max_expansions=None))  # unlimited is larger than any limit
    assert not small.covers(replace(small, time_limit=None))
    assert small.covers(replace(small, tactics_per_node=2, tactic_timeout=1.0, max_expansions=3))
    unlimited = replace(small, max_expansions=None, time_limit=None)
    assert unlimited.covers(small) and not small.covers(unlimited)
    assert FailureScope.from_dict(small.as_dict()) == small
    with pytest.raises(ValueError, match="fingerprint"):
        FailureScope.from_dict({**small.as_dict(), "policy": ""})


def test_the_cache_keeps_each_failure_no_other_covers() -> None:
    cache = InMemoryProofCache()
    narrow = replace(SCOPE, max_expansions=10)
    cache.publish_failure("g", narrow, 10)
    cache.publish_failure("g", replace(SCOPE, policy="policy-b"), 7)  # another policy: kept beside it
    cache.publish_failure("g", SCOPE, 30)  # covers the narrow one, which goes
    entry = cache.lookup("g")
    assert {r.scope for r in entry.failures} == {SCOPE, replace(SCOPE, policy="policy-b")}
    assert entry.failed_under(narrow) and not entry.failed_under(replace(SCOPE, policy="policy-c"))
    assert cache.stats.failures == 1


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


def exhausting_run(cache: InMemoryProofCache, config: SearchConfig = CFG, fingerprint: str | None = "p"):
    """r -a-> s -b-> t, nothing further: an exhaustive failure that records r, s and t."""
    env = ScriptedEnv(root="r", moves={"r": {"a": "s"}, "s": {"b": "t"}})
    policy = ScriptedPolicy({"r": [("a", -0.1)], "s": [("b", -0.1)]}, fingerprint=fingerprint)
    return prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=config, cache=cache)


def reaching_s(cache: InMemoryProofCache, config: SearchConfig = CFG, fingerprint: str | None = "p"):
    """q -a-> s (known to fail) and q -c-> u -d-> QED."""
    env = ScriptedEnv(root="q", moves={"q": {"a": "s", "c": "u"}, "u": {"d": QED}, "s": {"b": "t"}})
    policy = ScriptedPolicy({"q": [("a", -0.1), ("c", -0.2)], "u": [("d", -0.1)], "s": [("b", -0.1)]},
                            fingerprint=fingerprint)
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=config, cache=cache)
    return result, policy


def test_exhaustive_failures_are_shared_and_skipped() -> None:
    cache = InMemoryProofCache()
    first = exhausting_run(cache)
    assert first.stop_reason is StopReason.EXHAUSTED and cache.stats.failures == 3
    second, policy = reaching_s(cache)
    assert second.proved and second.stats.cache_skips == 1
    assert "s" not in policy.asked  # the known failure was never expanded again


def test_a_failure_of_another_policy_or_a_smaller_budget_is_searched_again() -> None:
    small = replace(CFG, max_expansions=5)

    def after_small_failure() -> InMemoryProofCache:
        cache = InMemoryProofCache()
        exhausting_run(cache, config=small)
        return cache

    for config, fingerprint in ((CFG, "p"), (small, "other"), (replace(small, tactics_per_node=6), "p"),
                                (replace(small, tactic_timeout=20.0), "p")):
        result, policy = reaching_s(after_small_failure(), config=config, fingerprint=fingerprint)
        assert result.stats.cache_skips == 0 and "s" in policy.asked, (config, fingerprint)
    result, policy = reaching_s(after_small_failure(), config=replace(small, max_expansions=4))
    assert result.stats.cache_skips == 1 and "s" not in policy.asked  # within the budget: skipped


def test_the_root_of_a_new_search_is_never_skipped() -> None:
    cache = InMemoryProofCache()
    first = exhausting_run(cache)
    again = exhausting_run(cache)  # the same theorem, policy and budget: the root is searched again
    assert first.stats.expansions == 3
    assert (again.stop_reason, again.stats.expansions, again.stats.cache_skips) == (
        StopReason.EXHAUSTED, 1, 1)  # r itself, then s's recorded failure


def test_a_policy_without_a_fingerprint_neither_records_nor_skips_failures() -> None:
    cache = InMemoryProofCache()
    exhausting_run(cache, fingerprint=None)
    assert len(cache) == 0
    exhausting_run(cache)
    result, policy = reaching_s(cache, fingerprint=None)
    assert result.stats.cache_skips == 0 and "s" in policy.asked


def test_failures_and_proofs_are_shared_only_under_the_same_header() -> None:
    """The same goal text under another header may be another goal (``d 0 = 0`` with two ``d``s)."""
    one = replace(THEOREM, header="Definition d n := n + 1.")
    other = replace(THEOREM, header="Definition d n := n.")
    for header_b, skips in ((one, 1), (other, 0)):
        cache = InMemoryProofCache()
        env = ScriptedEnv(root="r", moves={"r": {"a": "s"}, "s": {"b": "t"}})
        prove(one, backend=ScriptedBackend(env), config=CFG, cache=cache,
              policy=ScriptedPolicy({"r": [("a", -0.1)], "s": [("b", -0.1)]}, fingerprint="p"))
        env = ScriptedEnv(root="q", moves={"q": {"a": "s", "c": "u"}, "u": {"d": QED}, "s": {"b": "t"}})
        policy = ScriptedPolicy({"q": [("a", -0.1), ("c", -0.2)], "u": [("d", -0.1)], "s": [("b", -0.1)]},
                                fingerprint="p")
        result = prove(header_b, backend=ScriptedBackend(env), policy=policy, config=CFG, cache=cache)
        assert result.proved and result.stats.cache_skips == skips, header_b.header
        assert ("s" in policy.asked) == (skips == 0)


def test_a_tactic_timed_out_under_a_limit_cut_to_the_time_left_narrows_the_failure() -> None:
    """r -a-> s, where b times out: with 10 s per tactic and 4 s of budget the timeout was at most 4 s,
    which says nothing about b at 10 s."""
    cache = InMemoryProofCache()
    env = ScriptedEnv(root="r", moves={"r": {"a": "s"}, "s": {"b": Hang(0.01)}})
    config = replace(CFG, tactic_timeout=10.0, time_limit=4.0)
    result = prove(THEOREM, backend=ScriptedBackend(env), config=config, cache=cache,
                   policy=ScriptedPolicy({"r": [("a", -0.1)], "s": [("b", -0.1)]}, fingerprint="p"))
    assert result.stop_reason is StopReason.EXHAUSTED
    (record,) = cache.lookup(goal_key("s").key).failures
    assert record.scope.tactic_timeout <= 4.0
    assert not record.scope.covers(FailureScope.of(config, "p"))


def test_a_proof_finished_from_the_cache_keeps_its_cached_steps_out_of_the_trajectory() -> None:
    """The cache's rest of a proof has no state in this search: the trajectory (training data) stops at
    the state where the cache took over, and the graph stays well formed."""
    cache = InMemoryProofCache()
    env = ScriptedEnv("r", {"r": {"a": "s"}, "s": {"t1": "u"}, "u": {"t2": QED}})
    policy = ScriptedPolicy({"r": [("a", -0.1)], "s": [("t1", -0.1)], "u": [("t2", -0.1)]})
    prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=CFG, cache=cache)
    env2 = ScriptedEnv("q", {"q": {"b": "s"}, "s": {"t1": "u"}, "u": {"t2": QED}})
    second = prove(THEOREM, backend=ScriptedBackend(env2), policy=ScriptedPolicy({"q": [("b", -0.1)]}),
                   config=CFG, cache=cache)
    assert second.proved and second.proof.tactics == ("b", "t1", "t2") and second.stats.cache_hits == 1
    assert [(step["state"], step["tactic"]) for step in second.graph.trajectory()] == [("q", "b")]
    second.graph.check_invariants()
    (proof_edge,) = [e for e in second.graph.to_networkx().edges(data=True) if e[2]["outcome"] == "proof"]
    assert proof_edge[2]["cached"] and proof_edge[2]["tactic"] == "t1; t2"


def test_a_failure_in_one_leandojo_file_does_not_stand_for_another() -> None:
    """LeanDojo theorems carry no header: their environment is their repository, commit, file and place,
    and a goal that fails in one may be provable in another (a local simp lemma)."""
    from search import DojoLocator

    a = replace(THEOREM, name="A", locator=DojoLocator("https://github.com/x/repo", "c1", "A.lean", "A"))
    b = replace(THEOREM, name="B", locator=DojoLocator("https://github.com/x/repo", "c2", "B.lean", "B"))
    assert a.header == b.header == "" and a.environment != b.environment

    def policy_p() -> ScriptedPolicy:
        return ScriptedPolicy({"r": [("a", -0.1)], "q": [("a", -0.1), ("c", -0.5)], "s": [("simp", -0.1)]},
                              fingerprint="p")

    cache = InMemoryProofCache()
    in_a = prove(a, backend=ScriptedBackend(ScriptedEnv("r", {"r": {"a": "s"}, "s": {}})), policy=policy_p(),
                 config=CFG, cache=cache)
    assert in_a.stop_reason is StopReason.EXHAUSTED and cache.stats.failures == 2
    env_b = ScriptedEnv("q", {"q": {"a": "s", "c": "u"}, "s": {"simp": QED}, "u": {}})
    in_b = prove(b, backend=ScriptedBackend(env_b), policy=policy_p(), config=CFG, cache=cache)
    assert in_b.proved and in_b.stats.cache_skips == 0
