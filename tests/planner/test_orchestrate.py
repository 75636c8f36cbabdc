"""Orchestration over scripted environments where the theorem is provable only through a plan: subgoals in
order with earlier ones as hypotheses, the main goal with all of them, the assembled proof verified as a
whole, proofs shared through the cache, re-planning triggered, bounded and keeping the proven prefix."""

from __future__ import annotations

from typing import Any

import pytest
from planner_chat_server import ChatServer, recorded
from planner_worlds import (
    GOOD,
    PLANNER,
    SEARCH,
    STUCK,
    TARGET,
    THEOREM,
    ListClient,
    ScriptedPlanBackend,
    default_moves,
    fenced,
    goal,
    policy,
)
from scripted import QED

from planner import (
    ChatAnswer,
    OpenAIChatPlanner,
    PlanBackend,
    PlannedResult,
    PlannerClient,
    PlannerClientConfig,
    PlannerConfig,
    PlanningUnsupportedError,
    PlanStopReason,
    plan_backend_for,
    planned_tactics,
    prove_with_planner,
)
from planner.plan import Subgoal
from search import InMemoryProofCache, InvalidTheoremError, Theorem, prove


def planned(backend: ScriptedPlanBackend, client: PlannerClient, *, cache: InMemoryProofCache | None = None,
            **settings: Any) -> PlannedResult:
    config = PlannerConfig(**{**PLANNER, **settings})
    return prove_with_planner(THEOREM, backend=backend, policy=policy(), search_config=SEARCH,
                              planner_config=config, client=client, cache=cache)


def test_the_theorem_is_not_provable_without_a_plan() -> None:
    result = prove(THEOREM, backend=ScriptedPlanBackend(), policy=policy(), config=SEARCH)
    assert not result.proved


def test_a_good_plan_proves_it_and_the_whole_proof_is_verified() -> None:
    backend = ScriptedPlanBackend()
    client = ListClient([fenced(*GOOD)])
    result = planned(backend, client)
    assert result.proved and result.stop_reason is PlanStopReason.PROVED
    assert result.proof is not None and result.proof.verdict.ok
    assert result.proof.tactics == ("have h1 : 5 * x = 25 := by\n  linarith",
                                    "have h2 : x = 25 / 5 := by\n  linarith", "rw [h2]", "norm_num")
    assert backend.verified[-1] == result.proof.tactics  # the backend checked the assembled proof
    (round_,) = result.rounds
    assert [o.goal for o in round_.subgoals] == [goal((), "5 * x = 25"), goal(GOOD[:1], "x = 25 / 5")]
    assert round_.main is not None and round_.main.goal == goal(GOOD, "x = 5")
    assert all(s.closed for s in backend.opened)  # every subgoal session was closed
    assert result.stats.planner_calls == 1 and result.stats.subgoals_proved == 2
    assert result.search.expansions >= 3
    record = result.as_dict()
    assert record["proved"] and record["planner"]["plan"][1]["text"] == "have h2 : x = 25 / 5"
    assert record["planner"]["rounds"][0]["subgoals"][0]["tactics"] == ["linarith"]
    assert record["stats"]["expansions"] == result.search.expansions


def test_the_planner_conversation_holds_rules_examples_and_the_theorem() -> None:
    client = ListClient([fenced(*GOOD)])
    planned(ScriptedPlanBackend(), client, worked_examples=2)
    (conversation,) = client.conversations
    assert conversation[0].role == "system" and "have h1 : <statement>" in conversation[0].content
    assert [m.role for m in conversation[1:]] == ["user", "assistant", "user", "assistant", "user"]
    assert "open Real" in conversation[-1].content and THEOREM.statement in conversation[-1].content
    assert "import" not in conversation[-1].content


def test_refused_answers_are_fed_back_until_one_elaborates() -> None:
    backend = ScriptedPlanBackend()
    answers = [recorded(name)["choices"][0]["message"]["content"] or ""
               for name in ("plan_empty", "plan_unsafe", "plan_lean3", "plan_numbered")]
    client = ListClient(answers)
    result = planned(backend, client, plan_attempts=4)
    assert result.proved
    attempts = result.rounds[0].attempts
    assert [a.accepted for a in attempts] == [False, False, False, True]
    assert "no `have" in attempts[0].rejections[0].reason
    assert any("safety filter" in r.reason and "sorry" in r.reason for r in attempts[1].rejections)
    assert attempts[2].problems and attempts[2].problems[0].index == 1  # Lean blamed the λ subgoal
    feedback = client.conversations[3][-1].content
    assert "Lean, at `have h2 : (λ y, y / 5) (5 * x) = 25 / 5`: unknown identifier" in feedback
    assert client.conversations[3][-2].role == "assistant"  # the refused answer is in the conversation
    assert len(backend.checked) == 2  # unsafe and empty answers never reached the plan check
    assert result.stats.plans_refused == 3


def test_an_answer_cut_off_inside_its_plan_is_refused_with_that_reason() -> None:
    backend = ScriptedPlanBackend()
    cut = ChatAnswer(recorded("plan_truncated")["choices"][0]["message"]["content"], cut_off=True)
    client = ListClient([cut, recorded("plan_fenced")["choices"][0]["message"]["content"]])
    result = planned(backend, client, plan_attempts=2)
    assert result.proved
    first = result.rounds[0].attempts[0]
    assert not first.accepted and any("cut off" in r.reason for r in first.rejections)
    assert "cut off at the length limit" in client.conversations[1][-1].content  # the model is told why
    assert len(backend.checked) == 1  # the cut plan never reached the plan check


def test_an_answer_cut_off_after_its_closed_plan_is_used() -> None:
    whole = recorded("plan_fenced")["choices"][0]["message"]["content"]
    client = ListClient([ChatAnswer(whole[:-10], cut_off=True)])  # cut inside the closing remark
    result = planned(ScriptedPlanBackend(), client, plan_attempts=1)
    assert result.proved and result.rounds[0].attempts[0].accepted


def test_a_cut_off_revision_does_not_let_its_draft_through() -> None:
    from planner.dialect import dialect_of
    from planner.planning import refuse_cut_plan

    draft = ("A first try:\n```lean\nhave h1 : 5 * x = 25\n```\nBetter:\n```lean\nhave h1 : 5 * x = 25\n"
             "have h2 : x = (25")
    parsed = dialect_of(ScriptedPlanBackend()).parse(draft, max_subgoals=4)
    assert parsed.usable  # the parser falls back to the closed draft ...
    assert not refuse_cut_plan(parsed, ChatAnswer(draft, cut_off=True)).usable  # ... which the cut refuses


def test_an_answer_with_a_lone_surrogate_is_made_utf8() -> None:
    answer = ChatAnswer("note \ud800 plan")
    assert answer.text == "note \ufffd plan" and answer.text.encode("utf-8")


def test_a_replan_that_the_proven_facts_push_past_the_limit_is_refused() -> None:
    from planner.plan import Plan, PlanParse
    from planner.planning import fit_prefix

    h1, h2, h3 = (Subgoal(f"h{i}", f"x = {i}") for i in (1, 2, 3))
    fitted = fit_prefix(PlanParse(Plan((h2, h3))), (h1,), None, max_subgoals=2)
    assert not fitted.usable and "3 facts, more than 2" in fitted.rejections[0].reason
    assert fit_prefix(PlanParse(Plan((h2,))), (h1,), None, max_subgoals=2).plan == Plan((h1, h2))


def test_no_usable_plan_within_the_attempts_stops_cleanly() -> None:
    client = ListClient(["I cannot help with that."] * 2)
    result = planned(ScriptedPlanBackend(), client, plan_attempts=2)
    assert result.stop_reason is PlanStopReason.NO_VALID_PLAN and result.proof is None
    assert result.plan is None and len(result.rounds[0].attempts) == 2
    assert result.direct is not None and not result.proved  # the fallback ran and found nothing either


def test_a_direct_search_proves_what_planning_could_not() -> None:
    moves = default_moves() | {goal((), TARGET): {"nlinarith [h1]": "dead end", "linarith": QED}}
    backend = ScriptedPlanBackend(moves)
    result = planned(backend, ListClient(["I cannot help with that."] * 2), plan_attempts=2)
    assert result.proved and result.proved_directly
    assert result.stop_reason is PlanStopReason.NO_VALID_PLAN  # how planning itself ended
    assert result.proof is not None and result.proof.tactics == ("linarith",) and result.proof.verdict.ok
    assert backend.verified[-1] == ("linarith",)  # the backend checked the fallback's proof too
    record = result.as_dict()
    assert record["proved"] and record["stop_reason"] == "proved"
    assert record["planner"]["stop_reason"] == "no_valid_plan"
    assert record["planner"]["direct"] == {"proved": True, "stop_reason": "proved",
                                           "expansions": result.direct.stats.expansions}
    assert record["stats"]["expansions"] == result.direct.stats.expansions  # no plan, so no other search


def test_the_fallback_can_be_turned_off() -> None:
    moves = default_moves() | {goal((), TARGET): {"linarith": QED}}
    result = planned(ScriptedPlanBackend(moves), ListClient(["no plan"]), plan_attempts=1,
                     direct_fallback=False)
    assert not result.proved and result.direct is None and result.proof is None
    assert result.as_dict()["planner"]["direct"] is None


def test_the_fallback_gets_only_the_time_left_of_the_attempt() -> None:
    moves = default_moves() | {goal((), TARGET): {"linarith": QED}}
    now = [0.0]

    class SlowClient(ListClient):
        def complete(self, messages, *, timeout=None):  # type: ignore[no-untyped-def]
            now[0] += 100.0  # each answer takes 100 s
            return super().complete(messages)

    config = PlannerConfig(**{**PLANNER, "plan_attempts": 1}, time_limit=50.0)
    result = prove_with_planner(THEOREM, backend=ScriptedPlanBackend(moves), policy=policy(),
                                search_config=SEARCH, client=SlowClient(["no plan"]), planner_config=config,
                                clock=lambda: now[0])
    assert result.direct is None and not result.proved  # the planner spent the whole budget


def test_a_planner_call_cut_by_the_time_limit_ends_planning_on_the_time_budget() -> None:
    from planner import PlanStopReason
    from planner.openai_chat import PlannerEndpointError

    now = [0.0]
    asked: list[float | None] = []

    class DeadlineClient(ListClient):
        def complete(self, messages, *, timeout=None):  # type: ignore[no-untyped-def]
            asked.append(timeout)
            now[0] += timeout or 0.0  # the endpoint answered nothing before the time left ran out
            raise PlannerEndpointError("timed out (ReadTimeout)", url="http://planner")

    config = PlannerConfig(**{**PLANNER, "plan_attempts": 2}, time_limit=30.0)
    result = prove_with_planner(THEOREM, backend=ScriptedPlanBackend(default_moves()), policy=policy(),
                                search_config=SEARCH, client=DeadlineClient([]), planner_config=config,
                                clock=lambda: now[0])
    assert asked == [30.0]  # the call got the attempt's time left, and no second call followed
    assert result.stop_reason is PlanStopReason.TIME_BUDGET and not result.proved


def test_the_backend_filter_also_screens_subgoals() -> None:
    backend = ScriptedPlanBackend(banned=("x ^ 2",))
    client = ListClient([fenced(*STUCK), fenced(*GOOD)])
    result = planned(backend, client)
    assert result.proved
    assert "backend's filter" in result.rounds[0].attempts[0].rejections[0].reason
    assert backend.checked == [tuple(f"have {n} : {s}" for n, s in GOOD)]


def test_a_stuck_subgoal_triggers_a_replan_that_keeps_the_proven_prefix() -> None:
    backend = ScriptedPlanBackend()
    with ChatServer() as server:
        server.push("plan_stuck", "replan_keeps_prefix")
        config = PlannerClientConfig(model="planner-test", base_url=server.base_url, max_retries=0)
        with OpenAIChatPlanner(config) as client:
            result = planned(backend, client)
        replan = server.messages(1)[-1]["content"]
    assert result.proved and len(result.rounds) == 2
    first, second = result.rounds
    assert [o.stop_reason for o in first.subgoals] == ["proved", "exhausted"]
    assert first.failure is not None and "exhausted" in first.failure
    assert "could not prove `have h2 : x ^ 2 = 25`" in replan
    assert "keep them as the first lines, word for word:\n```lean\nhave h1 : 5 * x = 25\n```" in replan
    assert [o.stop_reason for o in second.subgoals] == ["reused", "proved"]
    assert result.stats.subgoals_reused == 1 and result.stats.rounds == 2


def test_a_replan_without_the_prefix_gets_it_put_back() -> None:
    client = ListClient([fenced(*STUCK), recorded("replan_new_only")["choices"][0]["message"]["content"]])
    result = planned(ScriptedPlanBackend(), client)
    assert result.proved and result.plan is not None
    assert result.plan.lines() == ["have h1 : 5 * x = 25", "have h2 : x = 25 / 5"]


def test_a_replan_that_renames_the_prefix_is_refused_then_fixed() -> None:
    clash = fenced(("h1", "x = 5 * 1"))  # h1 names another statement: refused
    client = ListClient([fenced(*STUCK), clash, fenced(*GOOD)])
    result = planned(ScriptedPlanBackend(), client)
    assert result.proved
    assert "word for word" in result.rounds[1].attempts[0].rejections[0].reason


def test_repeating_the_failed_plan_is_refused() -> None:
    client = ListClient([fenced(*STUCK), fenced(*STUCK), fenced(*GOOD)])
    result = planned(ScriptedPlanBackend(), client)
    assert result.proved
    assert "just failed" in result.rounds[1].attempts[0].rejections[0].reason


def test_replanning_is_bounded() -> None:
    stuck = [fenced(("h1", "5 * x = 25"), ("h2", s)) for s in ("x ^ 2 = 25", "x * x = 25", "2 * x = 10")]
    client = ListClient(list(stuck))
    result = planned(ScriptedPlanBackend(), client, replans=2)
    assert result.stop_reason is PlanStopReason.UNPROVED and result.proof is None
    assert len(result.rounds) == 3 and len(client.conversations) == 3
    assert result.stats.subgoals_failed == 3 and result.stats.subgoals_reused == 2


def test_main_goal_failure_replans_with_every_subgoal_kept() -> None:
    weak = (("h1", "5 * x = 25"),)  # proved, but the main goal does not follow from it alone
    client = ListClient([fenced(*weak), fenced(*GOOD)])
    result = planned(ScriptedPlanBackend(), client)
    assert result.proved
    assert result.rounds[0].main is not None and not result.rounds[0].main.proved
    assert "theorem did not follow" in client.conversations[1][-1].content


def test_proved_subgoals_go_to_the_shared_cache_and_later_attempts_skip_them() -> None:
    cache = InMemoryProofCache()
    first = planned(ScriptedPlanBackend(), ListClient([fenced(*GOOD)]), cache=cache)
    assert first.proved and cache.stats.proofs >= 3
    backend = ScriptedPlanBackend()
    second = planned(backend, ListClient([fenced(*GOOD)]), cache=cache)
    assert second.proved and second.search.expansions == 0 and second.search.cache_hits == 3
    assert backend.verified[-1] == first.proof.tactics  # type: ignore[union-attr]


def test_a_rejected_assembly_is_verify_failed() -> None:
    backend = ScriptedPlanBackend()
    backend.env.rejected_proofs = set()
    original = backend.verify
    backend.verify = lambda theorem, tactics: original(theorem, tactics[1:])  # type: ignore[method-assign]
    result = planned(backend, ListClient([fenced(*GOOD)]))
    assert result.stop_reason is PlanStopReason.VERIFY_FAILED and result.proof is None
    assert result.rounds[-1].verdict is not None and not result.rounds[-1].verdict.ok


def test_the_time_budget_ends_the_attempt() -> None:
    ticks = iter(range(0, 1000, 10))
    client = ListClient([fenced(*STUCK)] * 3)
    result = prove_with_planner(THEOREM, backend=ScriptedPlanBackend(), policy=policy(), search_config=SEARCH,
                                planner_config=PlannerConfig(time_limit=25.0), client=client,
                                clock=lambda: float(next(ticks)))
    assert result.stop_reason is PlanStopReason.TIME_BUDGET
    assert result.direct is None  # no time left for a fallback search


def test_an_invalid_theorem_fails_before_the_model_is_asked() -> None:
    class Refusing(ScriptedPlanBackend):
        def open(self, theorem: Theorem):  # type: ignore[no-untyped-def]
            raise InvalidTheoremError(theorem.name, "unknown identifier 'y'")

    client = ListClient([])
    with pytest.raises(InvalidTheoremError):
        planned(Refusing(), client)
    assert client.conversations == []


def test_plan_backends() -> None:
    backend = ScriptedPlanBackend()
    assert isinstance(backend, PlanBackend) and plan_backend_for(backend) is backend

    class Plain:
        name = "coq"

    with pytest.raises(PlanningUnsupportedError, match="coq"):
        plan_backend_for(Plain())  # type: ignore[arg-type]


def test_assembled_tactics_indent_multi_line_subgoal_proofs() -> None:
    tactics = planned_tactics([Subgoal("h1", "a = b")], [["constructor", "· simp\n  ring"]], ["exact h1"])
    assert tactics == ("have h1 : a = b := by\n  constructor\n  · simp\n    ring", "exact h1")
    with pytest.raises(ValueError):
        planned_tactics([Subgoal("h1", "a = b")], [], [])


def test_a_plan_backend_may_restrict_the_tactics_of_subgoal_proofs_only() -> None:
    class NoLinarithInFacts(ScriptedPlanBackend):
        def check_subgoal_tactic(self, tactic: str) -> str | None:
            return "not in facts" if tactic == "linarith" else self.check_tactic(tactic)

    result = planned(NoLinarithInFacts(), ListClient([fenced(*GOOD)]), replans=0, direct_fallback=False)
    first = result.rounds[0].subgoals[0]
    assert not first.proved and first.stats is not None and first.stats.filtered >= 1
    assert not result.proved
