"""The ``prover`` command line end to end: the REPL backend over the fake REPL process, clear errors with
exit codes, and help that documents every option."""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path

import pytest
from fake_repl_fixtures import CHAIN_STATEMENT, HEADER, chain_world, script_config

from prover.cli.main import build_parser, main
from prover.policies.hf_policy_config import HFPolicyConfig
from prover.run_spec import BACKEND_SKIPPED
from search import SearchConfig
from search.backends.lean import LeanReplConfig


def repl_args(tmp_path: Path) -> list[str]:
    config = script_config(tmp_path, chain_world(2))
    return ["--backend", "repl", "--repl-project-dir", config.project_dir,
            "--repl-command", shlex.join(config.command), "--policy", "tactics",
            "--tactics", "split,left,right,step", "--time-limit", "60"]


def test_prove_prints_a_verified_proof(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--header", HEADER, CHAIN_STATEMENT, *repl_args(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.startswith(HEADER) and "theorem chain (n : Nat) : n = n := by\n  step\n  step\n  split" in out
    assert "proved" in err and "verified" in err


def test_prove_json_and_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = tmp_path / "graph.json"
    code = main(["prove", "--json", "--graph-out", str(graph), "--header", HEADER, CHAIN_STATEMENT,
                 *repl_args(tmp_path)])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["proved"] and result["proof"]["tactics"][:2] == ["step", "step"]
    assert result["stats"]["expansions"] >= 3
    nodes = json.loads(graph.read_text())["nodes"]
    assert any(node["id"] == "proved" for node in nodes)


def test_a_budget_too_small_exits_1_with_statistics(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--header", HEADER, CHAIN_STATEMENT, *repl_args(tmp_path), "--max-expansions", "1"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "not proved" in err and "expansion_budget" in err and "expansions" in err


def test_without_lean_the_repl_backend_says_how_to_fix_it(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", "--repl-command", "no-such-lake env repl", "--policy", "tactics",
                 "theorem t : 1 = 1 :="])
    err = capsys.readouterr().err
    assert code == 3
    assert "backend 'repl' is unavailable" in err and "prover setup" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["prove", "1 + 1 = 2"], "must start with"),
        (["prove"], "give the statement"),
        (["prove", "--file", "missing.lean", "--name", "x"], "no such file"),
        (["prove", "--policy", "tactics", "--tactics-per-node", "0", "theorem t : True :="],
         "tactics_per_node"),
        (["prove", "--model-temperature", "0", "theorem t : True :="], "temperature"),
    ],
)
def test_user_mistakes_exit_2_with_a_message(argv: list[str], needle: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_help_all_documents_every_option() -> None:
    parser = build_parser()
    prove = next(a for a in parser._subparsers._group_actions[0].choices.items() if a[0] == "prove")[1]
    text = prove.format_help(every_option=True)
    for config, prefix in ((SearchConfig, ""), (HFPolicyConfig, "model-"), (LeanReplConfig, "repl-")):
        for field in dataclasses.fields(config):
            if prefix == "repl-" and field.name in BACKEND_SKIPPED:  # --tactic-timeout gives it
                continue
            name = field.name.replace("_", "-")
            option = f"--{prefix}{name}" if f"{prefix}{name}" != "model-model" else "--model"
            assert option in text, option
    for option in ("--backend", "--policy", "--tactics", "--json", "--graph-out", "--sessions", "--file"):
        assert option in text


def test_doctor_reports_checks_and_fixes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--project-dir", str(tmp_path)])  # a folder with no Lake project in it
    out = capsys.readouterr().out
    assert "Coq" in out and "lake" in out and "Lean toolchain" in out
    assert code == 1
    assert "To fix:" in out and "no Lake project at" in out
    assert f"cd {tmp_path.resolve()} &&" not in out  # no commands to run in a folder that is no project


def test_doctor_exits_0_when_every_check_passes(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import prover.cli.doctor
    from prover.cli.doctor import Check

    monkeypatch.setattr(prover.cli.doctor, "doctor_report", lambda project_dir: [
        Check("lake", True, "/usr/bin/lake"), Check("Coq", True, "coqtop 8.16.1")])
    code = main(["doctor"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Coq" in out and "To fix:" not in out


def test_doctor_with_a_backend_exits_by_that_backend_alone(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A Coq-only machine: `prover doctor --backend coq && prover sweep ...` goes on; Lean's backends
    still exit 1, and so does plain `doctor`, since something required is missing."""
    import prover.cli.doctor
    from prover.cli.doctor import Check

    monkeypatch.setattr(prover.cli.doctor, "doctor_report", lambda project_dir: [
        Check("lake", False, "not found"), Check("Coq", True, "coqtop 8.16.1")])
    codes = [main(["doctor", *argv]) for argv in (["--backend", "coq"], ["--backend", "repl"], [])]
    assert codes == [0, 1, 1]
    assert "backends ready: coq" in capsys.readouterr().out


def test_setup_dry_run_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "lake exe cache get" in out and "lake build repl" in out


def test_setup_for_a_folder_that_is_no_lake_project_is_bad_input(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--dry-run", "--project-dir", str(tmp_path)]) == 2
    assert "not a Lean (Lake) project" in capsys.readouterr().err
