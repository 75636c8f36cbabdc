"""A planned attempt built from real scripted searches, for the explorer's planned pages (fixture, not
product code).

Round 1 plans ``h1 : a``, ``h2 : b``: h1's search proves it, h2's gets stuck (its failed tactic says
``no``). Round 2 plans ``h1 : a``, ``h3 : c``: h1 is reused (no search), h3 and the main goal are proved.
Every search is a real ``prove`` over a scripted table, so its graph is a real ``SearchGraph``.
"""

from __future__ import annotations

from scripted import QED, THEOREM, Fail, ScriptedBackend, ScriptedEnv, ScriptedPolicy

from planner import PlannedResult, PlannerStats, PlanRound, PlanStopReason, SubgoalOutcome
from planner.plan import Plan, Subgoal
from search import SearchConfig, SearchResult, SearchStats, Verdict, prove
from search.result import Proof

CONFIG = SearchConfig(time_limit=None, max_expansions=5)
H1, H2, H3 = Subgoal("h1", "a", form="assert"), Subgoal("h2", "b", form="assert"), Subgoal("h3", "c",
                                                                                           form="assert")


def search(root: str, moves: dict, ranked: dict) -> SearchResult:
    return prove(THEOREM, backend=ScriptedBackend(ScriptedEnv(root=root, moves=moves)),
                 policy=ScriptedPolicy(ranked), config=CONFIG)


def outcome(index: int, text: str, result: SearchResult) -> SubgoalOutcome:
    tactics = result.proof.tactics if result.proof is not None else None
    return SubgoalOutcome(index, text, "goal of " + text, result.stop_reason.value, tactics, result.stats,
                          result.graph)


def planned_result() -> PlannedResult:
    h1 = search("⊢ a", {"⊢ a": {"step": "⊢ a'", "bad": Fail("no")}, "⊢ a'": {"fin": QED}},
                {"⊢ a": [("bad", -0.1), ("step", -0.2)], "⊢ a'": [("fin", -0.1)]})
    h2 = search("⊢ b", {"⊢ b": {"try": Fail("no")}}, {"⊢ b": [("try", -0.1)]})
    h3 = search("⊢ c", {"⊢ c": {"fin": QED}}, {"⊢ c": [("fin", -0.1)]})
    main = search("⊢ t", {"⊢ t": {"exact": QED}}, {"⊢ t": [("exact", -0.1)]})
    assert h1.proved and not h2.proved and h3.proved and main.proved
    first = PlanRound(0, (), Plan((H1, H2)), (outcome(0, H1.text, h1), outcome(1, H2.text, h2)),
                      failure="its search stopped (exhausted) after 1 expanded states")
    reused = SubgoalOutcome(0, H1.text, "goal of " + H1.text, "reused", h1.proof.tactics)
    tactics = (H1.text, "step", "fin", H3.text, "fin", "exact")
    second = PlanRound(1, (), Plan((H1, H3)), (reused, outcome(1, H3.text, h3)),
                       outcome(-1, "main goal", main), Verdict(True))
    stats = PlannerStats(rounds=2, planner_calls=2, searches=4, subgoals_proved=2, subgoals_reused=1,
                         subgoals_failed=1)
    proof = Proof(tactics, "Theorem scripted : True.\nProof.\n  exact.\nQed.", Verdict(True))
    return PlannedResult(THEOREM.name, PlanStopReason.PROVED, proof, (first, second), stats, SearchStats())
