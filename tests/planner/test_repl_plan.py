"""Plans in the Lean REPL, against the plan-aware fake REPL process: the check command and how its answer is
read (goals in order, errors blamed on the right ``have``), the safety filter before anything is sent,
subgoal sessions that survive a crashed process, and a planned proof end to end."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from planner_chat_server import ChatServer
from planner_repl import MULTI_LINE, plan_repl_config, world
from planner_worlds import GOOD, TARGET, THEOREM, ListClient, fenced, goal, policy

from planner import (
    LeanReplPlanBackend,
    PlanCheck,
    PlannerClientConfig,
    PlannerConfig,
    PlanNotOpened,
    Subgoal,
    have_block,
    plan_backend_for,
    prove_with_planner,
)
from search import SearchConfig, TacticError, TacticState, Theorem
from search.backends.lean import LeanReplBackend, Pos, Sorry
from search.backends.lean.repl_messages import CommandResponse, Message, ReplError, Severity
from search.backends.lean.repl_plan import (
    PlanCommandFailed,
    PlanSubgoalSession,
    open_plan_sessions,
    plan_command,
    read_plan_response,
)
from search.errors import InvalidTheoremError
from search.types import ProofFinished

HAVES = [f"have {n} : {s}" for n, s in GOOD]


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[LeanReplBackend]:
    with LeanReplBackend(plan_repl_config(tmp_path)) as made:
        yield made


def test_the_plan_command() -> None:
    multi = Theorem("t", "theorem t (x : ℝ)\n    (h : x = 1) : x = 1 :=")
    assert plan_command(multi, HAVES) == ("theorem t (x : ℝ)\n    (h : x = 1) : x = 1 := by\n"
                                          "  have h1 : 5 * x = 25 := by sorry\n"
                                          "  have h2 : x = 25 / 5 := by sorry\n  sorry")
    with pytest.raises(InvalidTheoremError):
        plan_command(Theorem("t", "theorem t : True"), HAVES)


def test_a_good_plan_checks_with_one_goal_per_subgoal_then_the_main_goal(backend: LeanReplBackend) -> None:
    check = plan_backend_for(backend).check_plan(THEOREM, HAVES)
    goals = (goal((), "5 * x = 25"), goal(GOOD[:1], "x = 25 / 5"), goal(GOOD, TARGET))
    assert check == PlanCheck(True, goals)


def test_lean_errors_are_blamed_on_their_have(backend: LeanReplBackend) -> None:
    check = LeanReplPlanBackend(backend).check_plan(THEOREM, ["have h1 : 5 * x = 25", "have h2 : y = 1"])
    assert not check.ok and check.goals == ()
    (problem,) = check.problems
    assert problem.index == 1 and "unknown identifier" in problem.message


def test_errors_are_blamed_by_line_after_a_multi_line_statement(backend: LeanReplBackend) -> None:
    haves = ["have h1 : 5 * x = 25", "have h2 : x = 25 / 5", "have h3 : y = 1"]
    check = LeanReplPlanBackend(backend).check_plan(MULTI_LINE, haves)
    assert [p.index for p in check.problems] == [2]
    assert LeanReplPlanBackend(backend).check_plan(MULTI_LINE, HAVES).goals[-1] == goal(GOOD, TARGET)


def test_unsafe_haves_are_refused_before_lean(backend: LeanReplBackend) -> None:
    check = LeanReplPlanBackend(backend).check_plan(THEOREM, ["have h1 : 5 * x = 25",
                                                              "have h2 : True := by native_decide", "simp"])
    assert [(p.index, "refused before Lean" in p.message) for p in check.problems] == [(1, True), (2, True)]
    assert not backend.pool.process(0).started  # nothing was sent: the REPL did not even start


def test_reading_answers_in_source_order_and_odd_answers() -> None:
    def sorry(line: int, goal_text: str) -> Sorry:
        return Sorry(goal_text, line, Pos(line, 4))

    answer = CommandResponse(0, sorries=(sorry(4, "main"), sorry(2, "first"), sorry(3, "second")))
    assert read_plan_response(THEOREM, HAVES, answer).goals == ("first", "second", "main")
    few = read_plan_response(THEOREM, HAVES, CommandResponse(0, sorries=(sorry(2, "first"),)))
    assert not few.ok and "expected 3 sorries" in few.problems[0][1]
    refused = read_plan_response(THEOREM, HAVES, ReplError("Unknown environment."))
    assert refused.problems == ((None, "the REPL refused the plan: Unknown environment."),)
    statement_error = CommandResponse(0, messages=(Message(Severity.ERROR, "bad binder", Pos(1, 3)),))
    assert read_plan_response(THEOREM, HAVES, statement_error).problems == ((None, "bad binder"),)


def test_subgoal_sessions_prove_their_goals(backend: LeanReplBackend) -> None:
    sessions = LeanReplPlanBackend(backend).open_subgoals(THEOREM, HAVES)
    try:
        assert [s.initial_state().pp for s in sessions] == [goal((), "5 * x = 25"),
                                                            goal(GOOD[:1], "x = 25 / 5"), goal(GOOD, TARGET)]
        first, second, main = sessions
        assert isinstance(first.run_tactic(first.initial_state(), "linarith"), ProofFinished)
        assert isinstance(second.run_tactic(second.initial_state(), "linarith"), ProofFinished)
        step = main.run_tactic(main.initial_state(), "rw [h2]")
        assert isinstance(step, TacticState) and isinstance(main.run_tactic(step, "norm_num"), ProofFinished)
    finally:
        for session in sessions:
            session.close()


def test_a_subgoal_session_reopens_the_plan_after_a_crash(backend: LeanReplBackend) -> None:
    sessions = open_plan_sessions(backend.pool, THEOREM, HAVES, config=backend.config)
    main = sessions[-1]
    assert isinstance(main, PlanSubgoalSession) and main.index == 2
    step = main.run_tactic(main.initial_state(), "rw [h2]")
    assert isinstance(step, TacticState)
    crashed = main.run_tactic(step, "crash")
    assert isinstance(crashed, TacticError) and "crashed" in crashed.message
    assert backend.pool.restarts == 1
    assert isinstance(main.run_tactic(step, "norm_num"), ProofFinished)  # plan re-sent, path replayed
    first = sessions[0]
    assert isinstance(first.run_tactic(first.initial_state(), "linarith"), ProofFinished)


def test_the_subgoals_of_a_bad_plan_do_not_open(backend: LeanReplBackend) -> None:
    with pytest.raises(ValueError, match="does not elaborate"):
        open_plan_sessions(backend.pool, THEOREM, ["have h1 : nonsense"], config=backend.config)


def test_a_planned_proof_end_to_end(backend: LeanReplBackend) -> None:
    with ChatServer() as server:
        server.push("plan_stuck", "replan_keeps_prefix")
        result = prove_with_planner(
            THEOREM, backend=backend, policy=policy(), search_config=SearchConfig(time_limit=30.0),
            planner_config=PlannerConfig(subgoal_expansions=6, main_expansions=6),
            client_config=PlannerClientConfig(model="planner-test", base_url=server.base_url, max_retries=0))
    assert result.proved and len(result.rounds) == 2
    assert result.proof is not None and result.proof.verdict.ok
    assert set(result.proof.verdict.axioms) == {"propext", "Classical.choice", "Quot.sound"}
    assert result.proof.text == (
        "import Mathlib\nopen Real\n\n" + THEOREM.statement + " by\n"
        "  have h1 : 5 * x = 25 := by\n    linarith\n"
        "  have h2 : x = 25 / 5 := by\n    linarith\n  rw [h2]\n  norm_num\n")


def test_a_wrong_assembled_proof_is_rejected_by_the_fake(backend: LeanReplBackend) -> None:
    wrong = ("have h1 : 5 * x = 25 := by\n  norm_num", "have h2 : x = 25 / 5 := by\n  linarith", "rw [h2]",
             "norm_num")
    verdict = backend.verify(THEOREM, wrong)
    assert not verdict.ok and "norm_num" in verdict.messages[0]


@pytest.fixture
def fragile(tmp_path: Path) -> Iterator[LeanReplBackend]:
    """A REPL that hangs on a plan stating `slow` and crashes on one stating `boom`."""
    spec = world(plan_hang=["slow"], plan_crash=["boom"])
    with LeanReplBackend(plan_repl_config(tmp_path, spec, command_timeout=1.0)) as made:
        yield made


def test_a_plan_lean_hangs_or_crashes_on_is_a_problem_for_the_model(fragile: LeanReplBackend) -> None:
    """The planner audit's: a plan that made Lean time out raised BackendUnavailableError ("run prover
    setup"), which ended the attempt and, in a sweep, the whole sweep."""
    plan = LeanReplPlanBackend(fragile)
    hung = plan.check_plan(THEOREM, ["have h1 : slow"])
    assert not hung.ok and [p.index for p in hung.problems] == [None]
    assert hung.problems[0].message.startswith("Lean did not answer the plan within 1 s")
    crashed = plan.check_plan(THEOREM, ["have h1 : boom"])
    assert not crashed.ok and crashed.problems[0].message == "Lean crashed on the plan"
    assert fragile.pool.restarts == 2  # each failed process was replaced
    assert plan.check_plan(THEOREM, HAVES).ok  # and the pool goes on


def test_the_plan_command_gets_only_the_time_left(fragile: LeanReplBackend) -> None:
    check = LeanReplPlanBackend(fragile).check_plan(THEOREM, ["have h1 : slow"], time_left=0.3)
    assert check.problems[0].message.startswith("Lean did not answer the plan within 0.3 s")


def test_subgoals_of_a_plan_lean_hangs_on_do_not_open(fragile: LeanReplBackend) -> None:
    with pytest.raises(PlanCommandFailed, match="did not answer the plan within 1 s"):
        open_plan_sessions(fragile.pool, THEOREM, ["have h1 : slow"], config=fragile.config)
    with pytest.raises(PlanNotOpened, match="Lean crashed on the plan"):
        LeanReplPlanBackend(fragile).open_subgoals(THEOREM, ["have h1 : boom"])
    assert fragile.pool.restarts == 2


def test_planning_goes_on_after_a_plan_lean_hangs_on(fragile: LeanReplBackend) -> None:
    client = ListClient(["```lean\nhave h1 : slow\n```", fenced(*GOOD)])
    result = prove_with_planner(THEOREM, backend=fragile, policy=policy(),
                                search_config=SearchConfig(time_limit=30.0),
                                planner_config=PlannerConfig(subgoal_expansions=6, main_expansions=6),
                                client=client)
    assert result.proved and len(result.rounds) == 1
    first, second = result.rounds[0].attempts
    assert "did not answer the plan" in first.problems[0].message and second.accepted
    retry = client.conversations[1][-1].content
    assert "Lean, at `the plan`: Lean did not answer the plan within 1 s" in retry


LONG = ("nlinarith [sq_nonneg (x - 5), sq_nonneg (x + 5), sq_nonneg (5 * x - 25), h₀, "
        "mul_self_nonneg (x - 5), sq_abs (x - 5), abs_nonneg (x - 555)]")


def test_an_assembled_block_longer_than_the_tactic_limit_is_verified(tmp_path: Path) -> None:
    """The planner audit's: a 30-step subgoal proof of a 139-character tactic assembled into a 4361-character
    `have` block, which verify refused as "too long" although every tactic had passed the filter."""
    first = goal((), "5 * x = 25")
    chain = [first, *(f"{first} -- {k}" for k in range(1, 30))]
    spec = world()
    spec["transitions"] |= {state: {LONG: [nxt]} for state, nxt in itertools.pairwise(chain)}
    spec["transitions"][chain[-1]] = {LONG: []}
    block = have_block(Subgoal("h1", "5 * x = 25"), [LONG] * 30)
    assert len(LONG) == 139 and len(block) > 4096
    with LeanReplBackend(plan_repl_config(tmp_path, spec)) as backend:
        verdict = backend.verify(THEOREM, (block, "have h2 : x = 25 / 5 := by\n  linarith", "rw [h2]",
                                           "norm_num"))
        assert verdict.ok, verdict.messages
        unsafe = have_block(Subgoal("h1", "5 * x = 25"), [LONG] * 29 + ["sorry"])
        refused = backend.verify(THEOREM, (unsafe, "rw [h2]"))
        assert not refused.ok and "sorry" in refused.messages[0]
