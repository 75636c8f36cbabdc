"""Subgoal searches share their failures in the proof cache only under the policy's fingerprint."""

from __future__ import annotations

from scripted import THEOREM, ScriptedEnv, ScriptedPolicy, ScriptedSession

from planner.subgoal_search import search_subgoal
from search import InMemoryProofCache, SearchConfig


def test_a_subgoal_search_records_failures_only_for_a_named_policy() -> None:
    env = ScriptedEnv(root="r", moves={"r": {"a": "s"}, "s": {"b": "t"}})
    for fingerprint, recorded in ((None, 0), ("scripted:p", 3)):
        cache = InMemoryProofCache()
        policy = ScriptedPolicy({"r": [("a", -0.1)], "s": [("b", -0.1)]}, fingerprint=fingerprint)
        reason, proof, stats, graph = search_subgoal(ScriptedSession(env, THEOREM), policy=policy,
                                                     config=SearchConfig(time_limit=None),
                                                     tactic_filter=None, cache=cache)
        assert (reason, proof, stats.expansions, len(graph.nodes)) == ("exhausted", None, 3, 3)
        assert len(cache) == recorded, fingerprint
