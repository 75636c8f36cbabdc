"""The planner's command-line glue: options generated from the configs, the settings they make, and what
is printed and recorded for a planned attempt."""

from __future__ import annotations

import argparse
import io
import json
import pickle

import pytest
from planner_worlds import (
    GOOD,
    STATEMENTS,
    TARGET,
    THEOREM,
    ListClient,
    ScriptedPlanBackend,
    default_moves,
    fenced,
    goal,
    policy,
)
from rich.console import Console
from scripted import QED

from planner import PlannerClientConfig, PlannerConfig, prove_with_planner
from prover.cli.planner import add_planner_options, print_planned_result
from prover.cli.spec import planner_settings
from prover.planner_settings import PlannerSettings
from prover.sweep.planned_record import planned_record_fields
from search import SearchConfig
from search.validation import ConfigError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_planner_options(parser)
    return parser.parse_args(list(argv))


def test_no_planner_without_the_flag() -> None:
    assert planner_settings(parse("--planner-model", "m")) is None


def test_options_become_validated_configs() -> None:
    settings = planner_settings(parse("--planner", "--planner-model", "qwen", "--planner-base-url",
                                      "http://127.0.0.1:9/v1", "--planner-replans", "1",
                                      "--planner-subgoal-time-limit", "none", "--planner-max-retries", "0"))
    assert settings == PlannerSettings(
        PlannerClientConfig(model="qwen", base_url="http://127.0.0.1:9/v1", max_retries=0),
        PlannerConfig(replans=1, subgoal_time_limit=None))
    assert settings.label == "openai:qwen"
    assert pickle.loads(pickle.dumps(settings)) == settings


def test_invalid_values_of_both_configs_are_reported_together() -> None:
    with pytest.raises(ConfigError) as caught:
        planner_settings(parse("--planner", "--planner-provider", "nope", "--planner-replans", "-1"))
    assert caught.value.keys == ("provider", "replans")


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--help")
    out = capsys.readouterr().out
    for option in ("--planner ", "--planner-model", "--planner-api-key", "--planner-max-subgoals",
                   "--planner-subgoal-expansions", "--planner-provider"):
        assert option in out


def _planned(answers: list[str]):  # type: ignore[no-untyped-def]
    return prove_with_planner(THEOREM, backend=ScriptedPlanBackend(statements=STATEMENTS), policy=policy(),
                              search_config=SearchConfig(time_limit=None, max_expansions=10),
                              planner_config=PlannerConfig(subgoal_expansions=5, main_expansions=5),
                              client=ListClient(answers))


def test_the_plan_and_each_outcome_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    result = _planned([fenced(("h1", "5 * x = 25"), ("h2", "x ^ 2 = 25")), "no plan here", fenced(*GOOD)])
    console = Console(record=True, width=200, file=io.StringIO())
    print_planned_result(console, result)
    shown = console.export_text()
    assert "plan, round 1" in shown and "plan, round 2 (1 answer(s) refused first)" in shown
    assert "have h2 : x ^ 2 = 25" in shown and "exhausted" in shown and "reused" in shown
    assert "rw [h2]; norm_num" in shown  # tactics are not read as markup
    assert "main goal" in shown and "proved algebra_linear_5x through a plan" in shown
    assert "have h1 : 5 * x = 25 := by" in capsys.readouterr().out  # the proof goes to stdout


def test_a_failed_attempt_prints_why(capsys: pytest.CaptureFixture[str]) -> None:
    result = _planned(["nothing", "still nothing", "no"])
    console = Console(record=True, width=200, file=io.StringIO())
    print_planned_result(console, result)
    shown = console.export_text()
    assert "(3 answer(s), all refused)" in shown
    assert "no usable plan" in shown and "not proved" in shown and "no_valid_plan" in shown
    assert "direct search after planning: exhausted" in shown
    assert capsys.readouterr().out == ""


def test_a_proof_of_the_fallback_search_is_printed_recorded_and_has_a_trajectory(
        capsys: pytest.CaptureFixture[str]) -> None:
    moves = default_moves() | {goal((), TARGET): {"linarith": QED}}
    result = prove_with_planner(THEOREM, backend=ScriptedPlanBackend(moves), policy=policy(),
                                search_config=SearchConfig(time_limit=None, max_expansions=10),
                                planner_config=PlannerConfig(plan_attempts=1), client=ListClient(["no plan"]))
    console = Console(record=True, width=200, file=io.StringIO())
    print_planned_result(console, result)
    assert "proved algebra_linear_5x by a direct search after planning" in console.export_text()
    assert "linarith" in capsys.readouterr().out
    fields = planned_record_fields(result)
    assert fields["status"] == "proved" and fields["proof"] == ["linarith"]
    assert [step["tactic"] for step in fields["trajectory"]] == ["linarith"]
    assert fields["trajectory"][0]["state"] == goal((), TARGET)
    json.dumps(fields)


def test_sweep_record_fields_are_json() -> None:
    result = _planned([fenced(*GOOD)])
    fields = planned_record_fields(result)
    assert fields["status"] == "proved" and fields["stop_reason"] == "proved"
    assert fields["axioms"] == list(result.proof.verdict.axioms)  # the report names a planned proof's axioms
    assert fields["proof"][0] == "have h1 : 5 * x = 25 := by\n  linarith"
    assert fields["planner"]["plan"][0]["statement"] == "5 * x = 25"
    assert fields["planner"]["rounds"][0]["main"]["tactics"] == ["rw [h2]", "norm_num"]
    json.dumps(fields)


def test_a_planned_sweep_checks_the_backend_and_the_endpoint_before_any_work(
        tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from prover.cli.main import main

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    planner = ["--planner", "--planner-base-url", url, "--planner-model", "m"]
    out = tmp_path / "out"
    lean = tmp_path / "lean.jsonl"
    lean.write_text('{"name": "t", "split": "test", "header": "import Mathlib", '
                    '"statement": "theorem t : True :="}\n')
    assert main(["sweep", str(lean), "--backend", "dojo", "--policy", "tactics", *planner,
                 "--out", str(out)]) == 2
    # Coq starts here, so the endpoint check is what stops this sweep
    assert main(["sweep", "coq_basic", "--backend", "coq", "--policy", "tactics", *planner,
                 "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "backend 'dojo' cannot check plans" in err and "cannot reach it" in err
    assert "Traceback" not in err and not out.exists()
