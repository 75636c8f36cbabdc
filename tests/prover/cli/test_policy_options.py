"""An option of a policy that is not the one in use is an error naming the option and its policy, never
silently ignored (a forgotten `--policy retrieval` would run the tactic list); a config file's tables of
other policies, and `prover train`'s model options, are not such options."""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.cli.main import build_parser, main
from prover.cli.spec import run_spec
from prover.theorem_input import InputError

STATEMENT = "Theorem t : 1 = 1."
NO_POLICY = "but no --policy was given and --backend coq uses --policy tactics by default"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "10000")  # one error, one line


def error_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err.strip().splitlines()[-1]


@pytest.mark.parametrize(("options", "policy"), [
    (["--corpus", "data/stdlib"], "retrieval"),
    (["--model", "/tmp/nonexistent_model"], "model"),
    (["--openai-base-url", "http://localhost:9/v1"], "openai"),
    (["--retrieval-tactic-list-weight", "0.7"], "retrieval"),
    (["--model-seed=3"], "model"),  # the one-word form
])
def test_an_option_of_another_policy_without_policy_names_it_and_the_policy_to_add(
        options: list[str], policy: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, error = error_of(["prove", "--backend", "coq", *options, STATEMENT], capsys)
    option = options[0].split("=")[0]
    assert code == 2
    assert error == f"error: {option} applies to --policy {policy}, {NO_POLICY}: add --policy {policy}"


def test_a_sweep_refuses_them_too_before_its_folder_is_made(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code, error = error_of(["sweep", "coq_basic", "--backend", "coq", "--split", "test", "--corpus", "x",
                            "--out", str(out)], capsys)
    assert code == 2 and error.startswith("error: --corpus applies to --policy retrieval, but no --policy")
    assert not out.exists()


def test_the_tactic_list_under_a_lean_default_model_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, error = error_of(["prove", "--backend", "repl", "--tactics", "simp", "theorem t : 1 = 1 := by"],
                           capsys)
    assert code == 2
    assert error == ("error: --tactics applies to --policy tactics, but no --policy was given and --backend "
                     "repl uses --policy model by default: add --policy tactics")


def test_with_another_policy_given_the_options_are_named_with_both_fixes(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, error = error_of(["prove", "--backend", "coq", "--policy", "retrieval", "--tactics", "lia",
                            "--tactics-file", "t.txt", "--corpus", "x", STATEMENT], capsys)
    assert code == 2
    assert error == ("error: --tactics, --tactics-file apply to --policy tactics, but the policy in use is "
                     "--policy retrieval: leave them out, or use --policy tactics")


def test_options_of_two_other_policies_ask_to_choose_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, error = error_of(["prove", "--backend", "coq", "--model", "m", "--corpus", "c", STATEMENT], capsys)
    assert code == 2
    assert error == (f"error: --model applies to --policy model; --corpus applies to --policy retrieval, "
                     f"{NO_POLICY}: choose one policy with --policy and give only its options")


@pytest.mark.parametrize("argv", [
    ["prove", "--backend", "coq", "--tactics", "lia", STATEMENT],  # the default policy's own option
    ["prove", "--backend", "coq", "--policy", "model", "--model", "m", "--model-seed", "3", STATEMENT],
    ["prove", "--backend", "coq", "--policy", "openai", "--openai-base-url", "http://h/v1", STATEMENT],
])
def test_the_options_of_the_policy_in_use_pass(argv: list[str]) -> None:
    run_spec(build_parser().parse_args(argv))


def test_a_config_files_tables_of_other_policies_are_not_options_given(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text('[policy]\nkind = "tactics"\n\n[model]\nmodel = "m"\nseed = 3\n\n'
                      '[retrieval]\ntactic_list_weight = 0.7\n')
    argv = ["prove", "--backend", "coq", "--config", str(config), STATEMENT]
    parser = build_parser()
    from prover.cli.config_file import apply_config_file

    args = apply_config_file(parser, parser.parse_args(argv), argv)
    assert run_spec(args).policy.kind == "tactics"
    argv.insert(-1, "--corpus=x")  # given on the command line: refused, the file's kind is in use
    args = apply_config_file(parser, parser.parse_args(argv), argv)
    with pytest.raises(InputError, match=r"^--corpus applies to --policy retrieval, but the policy in use "
                                         r"is --policy tactics"):
        run_spec(args)


def test_an_option_written_with_its_default_value_still_counts_as_given(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, error = error_of(["prove", "--backend", "coq", "--retrieval-tactic-list-weight", "0", STATEMENT],
                           capsys)
    assert code == 2 and "--retrieval-tactic-list-weight applies to --policy retrieval" in error


def test_a_statement_that_mentions_an_option_after_the_separator_is_no_option() -> None:
    args = build_parser().parse_args(["prove", "--backend", "coq", "--", "--corpus"])
    assert args.given_options == {"backend": "--backend"}
