"""Planning against real Coq: plans checked by coqtop, subgoals searched in focused sessions, the assembled
proof checked by coqc; through the API and through ``prover prove --planner --backend coq``."""

from __future__ import annotations

import pytest
from planner_chat_server import ChatServer, Reply, completion
from planner_worlds import ListClient

from planner import PlannerConfig, PlanStopReason, plan_backend_for, prove_with_planner
from planner.coq_plan import CoqPlanBackend
from prover.cli.main import main
from search import SearchConfig, Theorem
from search.backends.coq import CoqBackend, CoqTacticPolicy
from search.types import ProofFinished, TacticState

HEADER = ("Require Import Lia.\n"
          "Fixpoint double (n : nat) : nat := match n with 0 => 0 | S p => S (S (double p)) end.")
THEOREM = Theorem("double_twice", "Theorem double_twice : forall n : nat, double n = 2 * n.", HEADER)
H1 = "assert (h1 : forall n : nat, double n = n + n)"
H2 = "assert (h2 : forall m : nat, m + m = 2 * m)"
GOOD = f"```coq\n{H1}.\n{H2}.\n```"


@pytest.fixture(scope="module")
def backend():
    with CoqBackend() as coq:
        yield coq


def test_a_plan_elaborates_into_one_goal_per_fact_then_the_theorem(backend) -> None:
    plan_backend = plan_backend_for(backend)
    assert isinstance(plan_backend, CoqPlanBackend)
    check = plan_backend.check_plan(THEOREM, [H1, H2])
    assert check.ok and len(check.goals) == 3
    first, second, main_goal = check.goals
    assert first.endswith("forall n : nat, double n = n + n") and "h1" not in first
    assert "h1 : forall n : nat, double n = n + n" in second
    assert second.endswith("forall m : nat, m + m = 2 * m")
    assert "h2 :" in main_goal and main_goal.endswith("forall n : nat, double n = 2 * n")


def test_coq_blames_the_subgoal_that_does_not_type_check(backend) -> None:
    check = CoqPlanBackend(backend).check_plan(THEOREM, [H1, "assert (h2 : forall m, triple m = m)"])
    assert not check.ok
    (problem,) = check.problems
    assert problem.index == 1 and "triple" in problem.message


def test_subgoal_sessions_show_only_their_goal_and_finish_when_it_closes(backend) -> None:
    sessions = CoqPlanBackend(backend).open_subgoals(THEOREM, [H1, H2])
    try:
        assert len(sessions) == 3
        assert all(session._session is None for session in sessions)  # no coqtop until a search starts
        second = sessions[1]
        state = second.initial_state()
        assert state.pp.startswith("1 goal") and "h1 : forall n" in state.pp
        result = second.run_tactic(state, "intros m")
        assert isinstance(result, TacticState)
        assert isinstance(second.run_tactic(result, "lia"), ProofFinished)
        assert not isinstance(second.run_tactic(state, "reflexivity"), ProofFinished)  # not provable so
        assert sessions[0]._session is None and sessions[2]._session is None  # only the one used opened
        main = sessions[2].initial_state()  # the theorem's own goal, after every fact
        assert "h1 : forall n" in main.pp and "h2 :" in main.pp and "double n = 2 * n" in main.pp
    finally:
        for session in sessions:
            session.close()
    with pytest.raises(ValueError, match="Coq safety filter"):
        CoqPlanBackend(backend).open_subgoals(THEOREM, ["assert (h1 : True). Admitted"])


def test_a_refused_plan_is_fed_back_then_the_assembled_proof_passes_coqc(backend) -> None:
    client = ListClient([f"```coq\n{H1}.\nassert (h2 : forall m, triple m = m).\n```", GOOD])
    result = prove_with_planner(THEOREM, backend=backend, policy=CoqTacticPolicy(),
                                search_config=SearchConfig(time_limit=120, max_expansions=64),
                                planner_config=PlannerConfig(direct_fallback=False, worked_examples=1),
                                client=client)
    assert result.stop_reason is PlanStopReason.PROVED and not result.proved_directly
    assert result.proof is not None and result.proof.verdict.ok
    assert result.proof.tactics[0] == H1 and H2 in result.proof.tactics
    assert "Qed." in result.proof.text
    system, _, example_plan = client.conversations[0][:3]
    assert "expert in Coq" in system.content and "```coq" in example_plan.content
    feedback = client.conversations[1][-1].content
    assert "Coq, at `assert (h2 : forall m, triple m = m)`" in feedback and "```coq block" in feedback


def test_prove_with_a_planner_on_coq_from_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with ChatServer() as server:
        server.push(Reply(200, completion(GOOD)))
        code = main(["prove", "--backend", "coq", "--policy", "tactics", "--header", HEADER,
                     THEOREM.statement, "--planner", "--planner-model", "m", "--planner-base-url",
                     server.base_url, "--planner-max-retries", "0", "--time-limit", "120"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"  {H1}." in out and "\nQed.\n" in out
    assert out.rstrip().endswith(("Qed.", "End ProverStatementCheck."))
    assert "proved double_twice through a plan" in err


@pytest.mark.slow
def test_a_planned_sweep_on_coq(ray_cluster, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"name": THEOREM.name, "split": "test", "header": HEADER,
                                 "statement": THEOREM.statement}) + "\n")
    out = tmp_path / "out"
    with ChatServer(fallback=Reply(200, completion(GOOD))) as server:
        code = main(["sweep", str(bench), "--backend", "coq", "--policy", "tactics", "--workers", "1",
                     "--planner", "--planner-model", "m", "--planner-base-url", server.base_url,
                     "--planner-max-retries", "0", "--time-limit", "120", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    (record,) = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert record["status"] == "proved" and record["proof"][0] == H1
    assert record["planner"]["rounds"][0]["plan"][1]["text"] == H2
    assert "\nQed.\n" in record["proof_text"]
    assert record["proof_text"].rstrip().endswith(("Qed.", "End ProverStatementCheck."))
    assert "### Plans for double_twice (proved)" in (out / "report.md").read_text()
    pages = sorted(p.name for p in (out / "graphs" / "double_twice.searches").glob("*.html"))
    assert pages == ["round1.main.html", "round1.subgoal1.html", "round1.subgoal2.html"]  # coqtop's searches
    overview = (out / "graphs" / "double_twice.html").read_text()
    assert 'href="double_twice.searches/round1.subgoal2.html"' in overview


def test_proofs_of_planned_facts_never_select_all_goals(backend) -> None:
    from planner.subgoal_search import search_subgoal
    from search import FixedTacticPolicy

    plan_backend = CoqPlanBackend(backend)
    assert "all-goals selector" in plan_backend.check_subgoal_tactic("all: lia")
    assert "all-goals selector" in plan_backend.check_subgoal_tactic("!: reflexivity")  # fails assembled
    assert plan_backend.check_subgoal_tactic("2: lia") is None
    assert plan_backend.check_subgoal_tactic("lia") is None
    sessions = plan_backend.open_subgoals(THEOREM, [H1, H2])
    try:
        reason, tactics, stats, _ = search_subgoal(
            sessions[1], policy=FixedTacticPolicy(("all: lia", "intros", "lia")),
            config=SearchConfig(time_limit=60, max_expansions=8), cache=None,
            tactic_filter=plan_backend.check_subgoal_tactic)
    finally:
        for session in sessions:
            session.close()
    assert reason == "proved" and tactics is not None and not any(t.startswith("all:") for t in tactics)
    assert stats.filtered >= 1  # `all: lia` was refused at every state
