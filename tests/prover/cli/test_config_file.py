"""Config files (``--config``, ``--print-config``) and the one typed spec the command line builds."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import pytest

from prover.cli.config_file import apply_config_file
from prover.cli.main import build_parser, main
from prover.cli.spec import run_spec
from prover.run_spec import RunSpec

PROVE = ["prove", "--backend", "coq", "--tactics", 'intros, destruct x as [a b], exact "q"', "--alpha", "1.5",
         "--max-expansions", "12", "--coq-memory-limit-mb", "2048", "--coq-coq-args", "-R /abs/theories Lib",
         "--sessions", "2", "--expansion-width", "2", "--planner", "--planner-model", "qwen",
         "--planner-replans", "1", "--planner-subgoal-time-limit", "none"]
SWEEP = ["sweep", "coq_basic", "--backend", "coq", "--workers", "3", "--limit", "5", "--split", "test",
         "--max-expansions", "8", "--server-replicas", "2", "--coq-keep-coqtops", "0"]
TRAIN = ["train", "coq_basic", "--backend", "coq", "--policy", "tactics", "--rounds", "3",
         "--filter-min-pairs", "7", "--train-dpo", "--model", "/models/base", "--model-temperature", "1.0"]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    return apply_config_file(parser, parser.parse_args(argv), argv)


def printed(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main([*argv, "--print-config"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("argv", [PROVE, SWEEP], ids=["prove", "sweep"])
def test_printed_config_given_back_builds_the_same_spec(argv: list[str], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    text = printed(argv, capsys)
    tables = tomllib.loads(text)  # valid TOML
    assert tables["backend"]["name"] == "coq" and "tactics_per_node" not in tables["search"]  # derived
    assert "# tactics_per_node = " in text  # shown, as a comment
    config = tmp_path / "run.toml"
    config.write_text(text)
    head = argv[:2] if argv[0] == "sweep" else argv[:1]
    again = [*head, "--config", str(config)] + (["x"] if argv[0] == "prove" else [])
    original = run_spec(parse([*argv, *(["x"] if argv[0] == "prove" else [])]), server=argv[0] == "sweep")
    assert run_spec(parse(again), server=argv[0] == "sweep") == original
    assert printed([*head, "--config", str(config)], capsys) == text


def test_prove_spec_holds_the_typed_settings() -> None:
    spec = run_spec(parse([*PROVE, "x"]))
    assert isinstance(spec, RunSpec)
    assert spec.policy.tactics == ("intros", "destruct x as [a b]", 'exact "q"')
    assert (spec.search.alpha, spec.search.max_expansions, spec.driver.sessions) == (1.5, 12, 2)
    assert spec.backend.name == "coq" and spec.backend.config.memory_limit_mb == 2048
    assert spec.backend.config.coq_args == ("-R", "/abs/theories", "Lib")
    assert spec.planner is not None and spec.planner.client.model == "qwen"
    assert spec.planner.planner.subgoal_time_limit is None and spec.planner.planner.replans == 1
    assert spec.derived == ("tactics_per_node", "tactic_timeout")
    assert (spec.search.tactics_per_node, spec.search.tactic_timeout) == (3, 5.0)  # the list's, Coq's


def test_train_config_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = printed(TRAIN, capsys)
    tables = tomllib.loads(text)
    assert tables["expert"]["rounds"] == 3 and tables["filter"]["min_pairs"] == 7 and tables["train"]["dpo"]
    assert tables["model"]["model"] == "/models/base" and "out" not in tables["sweep"]
    config = tmp_path / "train.toml"
    config.write_text(text)
    assert printed(["train", "coq_basic", "--config", str(config)], capsys) == text


def test_flags_override_the_file(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text('[backend]\nname = "coq"\n[search]\nmax_expansions = 10\nalpha = 1.0\n'
                      '[sweep]\nworkers = 3\nsplit = "valid"\n[coq]\nmemory_limit_mb = 1024\n')
    args = parse(["sweep", "coq_basic", "--config", str(config), "--max-expansions", "20", "--split", "test"])
    spec = run_spec(args, server=True)
    assert (spec.search.max_expansions, spec.search.alpha) == (20, 1.0)  # the flag, the file
    assert (args.workers, args.split) == (3, "test")
    assert spec.backend.name == "coq" and spec.backend.config.memory_limit_mb == 1024
    none = tmp_path / "none.toml"
    none.write_text('[search]\ntime_limit = "none"\n')
    assert run_spec(parse(["sweep", "b", "--config", str(none)])).search.time_limit is None


def last_error(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_an_unknown_key_is_an_error_naming_the_file_and_the_key(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "run.toml"
    config.write_text("[search]\nmax_expansoins = 3\n")
    assert main(["prove", "--config", str(config), "x"]) == 2
    assert last_error(capsys) == (f"error: {config}: unknown key search.max_expansoins "
                                  "(did you mean search.max_expansions?)")
    config.write_text("[serch]\nalpha = 1\n")
    assert main(["prove", "--config", str(config), "x"]) == 2
    assert f"error: {config}: unknown table [serch] (did you mean search?)" in last_error(capsys)
    # another command's table (one file for sweep and prove) is skipped with a warning, its keys unread
    config.write_text("[sweep]\nworkers = 2\n[search]\nmax_expansions = 3\n")
    assert main(["prove", "--config", str(config), "--print-config"]) == 0
    captured = capsys.readouterr()
    assert "table [sweep] is for `prover sweep`; `prover prove` ignores it" in " ".join(captured.err.split())
    assert "max_expansions = 3" in captured.out and "workers" not in captured.out


def test_every_bad_value_of_a_file_is_reported_at_once(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "run.toml"
    config.write_text('[search]\nalpha = -1\n[sweep]\nworkers = "two"\n[backend]\nname = "isabelle"\n'
                      '[coq]\nmemory_limit_mb = 10\n')
    assert main(["sweep", "coq_basic", "--config", str(config)]) == 2
    assert last_error(capsys) == (
        f"error: {config}: search.alpha must be in [0, 10], got -1.0; sweep.workers must be an integer, got "
        "'two'; backend.name must be one of repl, dojo, coq, got 'isabelle'; coq.memory_limit_mb must be in "
        "[768, 1073741824], got 10")
    config.write_text("[search]\nmax_expansions = -3\n")  # a bad file and bad options: all at once
    assert main(["sweep", "coq_basic", "--config", str(config), "--workers", "0", "--alpha", "2.5"]) == 2
    assert last_error(capsys) == (f"error: {config}: search.max_expansions must be >= 1, got -3; and the "
                                  "options given: sweep.workers (--workers) must be >= 1, got 0")
    config.write_text("[search\n")
    assert main(["sweep", "coq_basic", "--config", str(config)]) == 2
    assert last_error(capsys).startswith(f"error: {config}: not a valid TOML file")


def test_bad_flags_are_reported_together_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "coq_basic", "--backend", "coq", "--alpha", "-1", "--workers", "0", "--sessions",
                 "0", "--coq-kill-grace", "-1", "--print-config"]) == 2
    assert last_error(capsys) == (
        "error: invalid configuration: sweep.workers (--workers) must be >= 1, got 0; search.alpha (--alpha) "
        "must be in [0, 10], got -1.0; driver.sessions (--sessions) must be >= 1, got 0; coq.kill_grace "
        "(--coq-kill-grace) must be in [0, 1000000.0], got -1.0")


def test_one_tactic_limit_for_the_search_and_the_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """--tactic-timeout is the only per-tactic limit: the backend's (plan checks) follows it, there is no
    --coq-tactic-timeout that the search would ignore, and an old file's [coq] tactic_timeout is ignored
    with a warning (it never was the search's limit)."""
    spec = run_spec(parse(["prove", "--backend", "coq", "--tactic-timeout", "3", "x"]))
    assert spec.search.tactic_timeout == spec.backend.config.tactic_timeout == 3.0
    default = run_spec(parse(["prove", "--backend", "coq", "x"]))
    assert default.search.tactic_timeout == default.backend.config.tactic_timeout == 5.0
    with pytest.raises(SystemExit):
        parse(["prove", "--backend", "coq", "--coq-tactic-timeout", "1", "x"])
    assert "unrecognized option: --coq-tactic-timeout" in capsys.readouterr().err
    old = tmp_path / "old.toml"
    old.write_bytes(b"\xef\xbb\xbf[backend]\nname = 'coq'\n[coq]\ntactic_timeout = 1.0\n")  # with a BOM
    spec = run_spec(parse(["prove", "--config", str(old), "x"]))
    assert spec.search.tactic_timeout == spec.backend.config.tactic_timeout == 5.0
    assert "coq.tactic_timeout is no longer a setting and is ignored" in caplog.text
    assert "tactic_timeout" not in tomllib.loads(printed(["prove", "--backend", "coq"], capsys))["coq"]


def test_an_empty_tactic_list_in_a_file_is_refused(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "run.toml"
    config.write_text("[policy]\ntactics = []\n")
    assert main(["prove", "--backend", "coq", "--config", str(config), "Theorem t : True."]) == 2
    assert capsys.readouterr().err.strip().endswith("policy.tactics needs at least 1 item(s), got ()")


def test_the_command_line_s_tactic_list_replaces_the_file_s(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    listed = tmp_path / "tactics.txt"
    listed.write_text("auto\n  # an indented comment is a comment\nlia\n")
    from_file = tmp_path / "file.toml"
    from_file.write_text(f"[policy]\ntactics_file = '{listed}'\n")
    assert run_spec(parse(["prove", "--backend", "coq", "--config", str(from_file), "x"])).policy.tactics == (
        "auto", "lia")
    assert run_spec(parse(["prove", "--backend", "coq", "--config", str(from_file), "--tactics", "trivial",
                           "x"])).policy.tactics == ("trivial",)
    both = tmp_path / "both.toml"
    both.write_text(f"[policy]\ntactics_file = '{listed}'\ntactics = ['omega']\n")
    assert main(["prove", "--backend", "coq", "--config", str(both), "Theorem t : True."]) == 2
    expected = f"error: {both}: give policy.tactics or policy.tactics_file, not both"
    assert capsys.readouterr().err.strip() == expected


def test_a_file_s_tactic_list_is_named_as_the_user_s_choice(tmp_path: Path) -> None:
    from prover.cli.spec import policy_chosen

    config = tmp_path / "run.toml"
    config.write_text("[policy]\ntactics = ['lia']\n")
    assert policy_chosen(parse(["prove", "--backend", "coq", "--config", str(config), "x"]))
    assert not policy_chosen(parse(["prove", "--backend", "coq", "x"]))
