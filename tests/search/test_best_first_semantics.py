"""Proofs, merging of identical states, failures, filtering and verification."""

from __future__ import annotations

from scripted import QED, THEOREM, Fail, Hang, ScriptedBackend, ScriptedEnv, ScriptedPolicy

from search import Outcome, SearchConfig, StopReason, prove
from search.graph import PROVED_SINK

CFG = SearchConfig(time_limit=None)


def test_finds_and_verifies_a_proof() -> None:
    env = ScriptedEnv(root="s0", moves={"s0": {"t1": "s1"}, "s1": {"t2": "s2"}, "s2": {"t3": QED}})
    policy = ScriptedPolicy({"s0": [("t1", -0.1)], "s1": [("t2", -0.1)], "s2": [("t3", -0.1)]})
    backend = ScriptedBackend(env)
    result = prove(THEOREM, backend=backend, policy=policy, config=CFG)
    assert result.proved and result.stop_reason is StopReason.PROVED
    assert result.proof is not None
    assert result.proof.tactics == ("t1", "t2", "t3")
    assert result.proof.text == "theorem scripted : True := t1; t2; t3"
    assert backend.verified == [("t1", "t2", "t3")]
    assert all(s.closed for s in backend.sessions)
    assert result.as_dict()["proof"]["tactics"] == ["t1", "t2", "t3"]


def test_identical_states_are_one_node() -> None:
    # two tactics from the root reach the same state; a tactic that changes nothing reaches its source
    env = ScriptedEnv(root="r", moves={"r": {"x": "M", "y": "M", "skip": "r"}, "M": {"done": "E"}})
    policy = ScriptedPolicy({"r": [("x", -0.1), ("y", -0.2), ("skip", -0.3)], "M": [("done", -0.1)]})
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=CFG)
    assert [n.state.pp for n in result.graph.nodes] == ["r", "M", "E"]
    assert result.stats.duplicate_states == 2
    assert result.stats.new_states == 2
    assert policy.asked == ["r", "M", "E"]
    merged = result.graph.nodes[1]
    assert merged.tactic == "x" and merged.logprob_sum == -0.1  # the first path that reached it
    graph = result.graph.to_networkx()
    assert graph.number_of_edges(0, 1) == 2  # both tactics are edges into the merged node
    assert graph.has_edge(0, 0)


def test_carries_on_after_errors_and_timeouts() -> None:
    env = ScriptedEnv(root="r", moves={"r": {"bad": Fail("unknown identifier"), "slow": Hang(12.0),
                                             "good": "g"}, "g": {"fin": QED}})
    policy = ScriptedPolicy({"r": [("bad", -0.1), ("slow", -0.2), ("good", -0.3)], "g": [("fin", -0.1)]})
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=CFG)
    assert result.proved and result.proof.tactics == ("good", "fin")
    assert result.stats.errors == 1 and result.stats.timeouts == 1 and result.stats.tactic_calls == 4
    failures = result.graph.to_networkx().nodes[0]["failures"]
    assert ("bad", -0.1, "error", "unknown identifier") in failures
    assert ("slow", -0.2, "timeout", "timed out after 12 s") in failures


def test_filtered_tactics_never_reach_the_session() -> None:
    env = ScriptedEnv(root="r", moves={"r": {"sorry": QED, "ok": "s"}, "s": {"fin": QED}})
    policy = ScriptedPolicy({"r": [("sorry", -0.01), ("ok", -0.5)], "s": [("fin", -0.1)]})
    backend = ScriptedBackend(env, banned=["sorry"])
    result = prove(THEOREM, backend=backend, policy=policy, config=CFG)
    assert ("r", "sorry") not in env.calls
    assert result.proof.tactics == ("ok", "fin")
    assert result.stats.filtered == 1
    assert any(e.outcome is Outcome.FILTERED and e.message == "contains 'sorry'"
               for e in result.graph.edges)


def test_a_tactic_with_a_log_prob_that_is_not_finite_is_refused_not_fatal() -> None:
    """One sample a model scored -inf or NaN cannot be ranked: it is refused, the search goes on, and the
    exported graph stays strict JSON."""
    import json

    from prover.explorer import node_link

    env = ScriptedEnv(root="r", moves={"r": {"a": QED, "n": QED, "b": "s"}, "s": {"fin": QED}})
    policy = ScriptedPolicy({"r": [("a", float("-inf")), ("n", float("nan")), ("b", -0.5)],
                             "s": [("fin", -0.1)]})
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=CFG)
    assert result.proved and result.proof.tactics == ("b", "fin")
    assert ("r", "a") not in env.calls and ("r", "n") not in env.calls and result.stats.filtered == 2
    assert all("not a finite number" in (e.message or "") for e in result.graph.edges
               if e.outcome is Outcome.FILTERED)
    json.dumps(node_link(result.graph), allow_nan=False)  # raises on -inf/NaN


def test_a_proof_rejected_by_verification_does_not_count() -> None:
    env = ScriptedEnv(root="r", moves={"r": {"cheat": QED, "a": "s"}, "s": {"fin": QED}},
                      rejected_proofs={("cheat",)})
    policy = ScriptedPolicy({"r": [("cheat", -0.01), ("a", -0.5)], "s": [("fin", -0.1)]})
    backend = ScriptedBackend(env)
    result = prove(THEOREM, backend=backend, policy=policy, config=CFG)
    assert backend.verified == [("cheat",), ("a", "fin")]
    assert result.proof.tactics == ("a", "fin")
    assert result.stats.proofs_found == 2 and result.stats.proofs_rejected == 1
    graph = result.graph.to_networkx()
    assert any(f[2] == "unverified" for f in graph.nodes[0]["failures"])
    assert graph.has_edge(1, PROVED_SINK)


def test_verification_runs_before_sibling_tactics() -> None:
    env = ScriptedEnv(root="r", moves={"r": {"fin": QED, "other": "x"}})
    policy = ScriptedPolicy({"r": [("fin", -0.1), ("other", -0.2)]})
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=CFG)
    assert result.proved
    assert env.calls == [("r", "fin")]  # the sibling never ran: the verified proof ended the search


def test_unproved_search_reports_exhausted_with_statistics() -> None:
    env = ScriptedEnv(root="r", moves={"r": {"a": "s"}})
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=ScriptedPolicy({"r": [("a", -1.0)]}),
                   config=CFG)
    assert not result.proved and result.proof is None
    assert result.stop_reason is StopReason.EXHAUSTED
    assert result.stats.expansions == 2 and result.stats.tactic_calls == 1
    assert result.as_dict()["stop_reason"] == "exhausted"


def test_duplicate_candidates_run_once() -> None:
    env = ScriptedEnv(root="r", moves={"r": {"a": "s"}})
    policy = ScriptedPolicy({"r": [("a", -0.1), ("a", -0.2)]})
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=CFG)
    assert env.calls == [("r", "a")]
    assert result.stats.tactic_calls == 1


def test_trajectory_lists_the_proof_steps_with_rejected_siblings() -> None:
    env = ScriptedEnv(root="r", moves={"r": {"bad": Fail("nope"), "a": "s"}, "s": {"fin": QED}})
    policy = ScriptedPolicy({"r": [("bad", -0.1), ("a", -0.5)], "s": [("fin", -0.2)]})
    result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=CFG)
    assert result.graph.trajectory() == [
        {"state": "r", "tactic": "a", "logprob": -0.5, "depth": 0, "failed": [["bad", "nope"]]},
        {"state": "s", "tactic": "fin", "logprob": -0.2, "depth": 1, "failed": []},
    ]
    unproved = prove(THEOREM, backend=ScriptedBackend(env), policy=ScriptedPolicy({}), config=CFG)
    assert unproved.graph.trajectory() == []
