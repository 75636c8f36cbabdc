"""What prover prove shows while it searches, and the cause most tactic errors share."""

from __future__ import annotations

import io
import json
import time

import pytest
from rich.console import Console
from scripted import QED, THEOREM, Fail, ScriptedBackend, ScriptedEnv, ScriptedPolicy

from prover.cli.error_causes import OUT_OF_SCOPE, common_error_cause, error_cause_of
from prover.cli.main import main
from prover.cli.progress_display import ProgressDisplay, status_line
from search import BestFirstSearch, SearchConfig, SearchProgress, TacticState, prove

READING = SearchProgress(expansions=12, open_states=40, states=57, goals_closed=2, best_score=-1.234,
                         max_depth=5, tactics_run=96, errors=30, timeouts=1, proofs_found=0, elapsed=8.0,
                         time_left=112.0, expansions_left=188)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _env():
    moves = {f"s{i}": {"step": f"s{i + 1}", "bad": Fail("no")} for i in range(6)}
    moves["s6"] = {"fin": QED}
    policy = ScriptedPolicy({}, default=lambda s: [("step", -0.1), ("bad", -0.2), ("fin", -0.3)])
    return ScriptedEnv(root="s0", moves=moves), policy


def test_the_status_line_says_what_the_search_does() -> None:
    line = status_line(READING)
    for part in ("12 expanded", "40 open", "57 states", "2 goals closed", "best -1.23", "depth 5",
                 "12.0 tactics/s", "30 errors", "0:08", "left: 1:52 and 188 expansions"):
        assert part in line, part
    assert "left: 1:42" in status_line(READING, elapsed=18.0)  # the time left runs down between readings
    unlimited = SearchProgress(**{**READING.__dict__, "time_left": None, "expansions_left": None})
    assert "left: no budget" in status_line(unlimited)


def test_lines_mode_prints_every_interval_and_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    console = Console(file=out, width=300)
    env, policy = _env()

    def observed(search) -> None:
        clock.now += 1.0  # every answer takes a second
        display(search)

    with ProgressDisplay(console, "t", mode="lines", interval=5.0, clock=clock, ticker=False) as display:
        result = prove(THEOREM, backend=ScriptedBackend(env), policy=policy,
                       config=SearchConfig(time_limit=None), observer=observed)
    lines = out.getvalue().splitlines()
    answers = len(policy.asked) + result.stats.tactic_calls + 1
    assert len(lines) == answers // 5 + 1 and all(line.startswith("t: ") for line in lines)
    assert f"{result.stats.expansions} expanded" in lines[-1]  # the final reading, after the search stopped


def test_lines_mode_keeps_printing_while_a_long_tactic_runs() -> None:
    """The search says nothing while a tactic runs; the timer still prints, the time run on."""
    out = io.StringIO()
    env, _ = _env()
    search = BestFirstSearch(TacticState(env.root), config=SearchConfig(time_limit=None))
    with ProgressDisplay(Console(file=out, width=300), "t", mode="lines", interval=0.1) as display:
        display(search)  # one reading, then silence
        time.sleep(0.6)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 4 and all(line.startswith("t: ") for line in lines), lines


def test_off_prints_nothing_and_live_draws_a_line() -> None:
    out = io.StringIO()
    env, policy = _env()
    with ProgressDisplay(Console(file=out), "t", mode="off") as display:
        prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=SearchConfig(time_limit=None),
              observer=display)
    assert out.getvalue() == "" and display.latest is None
    terminal = io.StringIO()
    console = Console(file=terminal, force_terminal=True, width=200)
    with ProgressDisplay(console, "t", mode="live") as display:
        prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=SearchConfig(time_limit=None),
              observer=display)
        console.print(display)  # what the live line shows now
    assert "expanded" in terminal.getvalue() and "goals closed" in terminal.getvalue()


def test_the_steps_of_a_planned_proof_head_the_line() -> None:
    out, clock = io.StringIO(), Clock()
    env, policy = _env()
    console = Console(file=out, width=300)
    with ProgressDisplay(console, "t", mode="lines", interval=1e9, clock=clock) as display:
        display.set_stage("round 1 · subgoal 2/4 · 1/4 subgoals proved")  # printed as the step starts
        prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=SearchConfig(time_limit=None),
              observer=display)
    first, last = out.getvalue().splitlines()
    assert first == "t: round 1 · subgoal 2/4 · 1/4 subgoals proved"
    assert last.startswith("t: round 1 · subgoal 2/4 · 1/4 subgoals proved · ") and "expanded" in last
    terminal = io.StringIO()
    console = Console(file=terminal, force_terminal=True, width=300)
    with ProgressDisplay(console, "t", mode="live", clock=clock) as display:
        prove(THEOREM, backend=ScriptedBackend(env), policy=policy, config=SearchConfig(time_limit=None),
              observer=display)
        display.set_stage("round 1 · main goal · 4/4 subgoals proved")  # the next search has not begun
        console.print(display)
        assert "t: round 1 · main goal · 4/4 subgoals proved ..." in terminal.getvalue()
        assert display.latest is None  # the last search's reading is not shown as the new step's


def test_a_shared_cause_is_named_with_its_fix() -> None:
    coq = [f"The reference {name} was not found in the current environment." for name in ("lia",) * 6]
    cause = common_error_cause([*coq, "Unable to unify", "No such assumption.", "Tactic failure."])
    assert cause is not None and (cause.count, cause.total) == (6, 9)
    assert "lia ×6" in cause.sentence() and "Require Import Lia." in cause.sentence()
    lean = ["unknown identifier 'Nat.foo'"] * 4 + ["unknown constant 'bar'"] * 2 + ["linarith failed"]
    assert common_error_cause(lean).names == (("Nat.foo", 4), ("bar", 2))
    assert common_error_cause(["a", "b", "c", "d", "e", "f"]) is None  # no majority
    assert common_error_cause(coq[:1]) is None  # too few errors to say anything
    assert common_error_cause(coq[:2]).names == (("lia", 2),)  # a short tactic list: 2 errors say it
    used_up = [f"The reference {name} was not found in the current environment." for name in "nnnm"]
    scoped = common_error_cause(used_up, bound=frozenset({"n", "m", "nat"}))
    assert scoped.cause == OUT_OF_SCOPE and not scoped.names and "import" not in scoped.sentence()
    wrapped = ["The reference Nat.mul_comm_from_missing_library was not found in the current\n"
               "environment."] * 5
    assert common_error_cause(wrapped).names == (("Nat.mul_comm_from_missing_library", 5),)  # Coq wraps it
    same = common_error_cause(["Tactic failure: omega can't solve\nmore"] * 5 + ["x"])
    assert same is not None and same.cause == "Tactic failure: omega can't solve" and not same.names


def test_error_cause_of_a_search_result() -> None:
    missing = {t: Fail(f"The reference {t} was not found in the current environment.") for t in "abcdef"}
    policy = ScriptedPolicy({"r": [(t, -0.1) for t in "abcdef"]})
    result = prove(THEOREM, backend=ScriptedBackend(ScriptedEnv(root="r", moves={"r": missing})),
                   policy=policy, config=SearchConfig(time_limit=None, tactics_per_node=6))
    cause = error_cause_of(result)
    assert cause is not None and cause.count == 6 and len(cause.names) == 6
    assert "header" in cause.hint
    retrieved = error_cause_of(result, "retrieval")  # retrieved tactics name other files' lemmas
    assert retrieved is not None and retrieved.names == cause.names and "other files" in retrieved.hint
    bound = ScriptedEnv(root="forall a b : nat, a = b", moves={"forall a b : nat, a = b": missing})
    used_up = prove(THEOREM, backend=ScriptedBackend(bound), policy=ScriptedPolicy(
        {"forall a b : nat, a = b": [(t, -0.1) for t in "abcdef"]}), config=SearchConfig(
        time_limit=None, tactics_per_node=6))
    assert error_cause_of(used_up).names == (("c", 1), ("d", 1), ("e", 1), ("f", 1))  # a, b: the statement's
    from types import SimpleNamespace

    subgoal = SimpleNamespace(graph=result.graph)  # a planned proof: the errors of all its searches count
    planned = SimpleNamespace(rounds=[SimpleNamespace(subgoals=(subgoal,), main=subgoal)], direct=None)
    assert error_cause_of(planned).count == 12


def test_prove_names_the_missing_import_with_real_coq(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--backend", "coq", "--policy", "tactics", "--tactics", "lia,nia,psatz,intros",
                 "--max-expansions", "5", "--json", "Theorem t : forall n m : nat, n * m = m * n."])
    captured = capsys.readouterr()
    assert code == 1
    cause = json.loads(captured.out)["error_cause"]
    assert cause["count"] == cause["total"] >= 5 and {name for name, _ in cause["names"]} == {
        "lia", "nia", "psatz"}
    assert "Require Import Lia." in cause["hint"] and "Require Import Psatz." in cause["hint"]
    assert "share one cause" in captured.err


def test_prove_v_without_a_terminal_prints_status_lines(capsys: pytest.CaptureFixture[str]) -> None:
    statement = "Theorem t : forall n : nat, n + 0 = n."
    assert main(["prove", "-v", "--backend", "coq", "--policy", "tactics", statement]) == 0
    err = capsys.readouterr().err
    assert "t: " in err and "expanded" in err and "tactics/s" in err
    assert main(["prove", "-v", "--quiet", "--backend", "coq", "--policy", "tactics", statement]) == 0
    assert "tactics/s" not in capsys.readouterr().err
    assert main(["prove", "--backend", "coq", "--policy", "tactics", statement]) == 0
    assert "tactics/s" not in capsys.readouterr().err  # no -v, no terminal: no status lines

