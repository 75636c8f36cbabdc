"""What `prover --help`, `prover prove --help` and `prover sweep --help` tell a new user: what the command
does and its defaults, a one-line usage instead of a hundred options, examples that are real command
lines, what a sweep writes, the exit status."""

from __future__ import annotations

import argparse

import pytest

from prover.cli import help_text
from prover.cli.main import build_parser, main

EPILOGS = {"prover": help_text.PROVER_EPILOG, "prove": help_text.PROVE_EPILOG,
           "sweep": help_text.SWEEP_EPILOG}


def help_of(*command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([*command, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def examples() -> list[tuple[str, list[str]]]:
    return [(where, argv) for where, epilog in EPILOGS.items()
            for argv in help_text.example_commands(epilog)]


def test_every_epilog_has_examples_of_its_commands() -> None:
    found = {where: {argv[0] for w, argv in examples() if w == where} for where in EPILOGS}
    assert found["prover"] == {"doctor", "prove", "benchmarks", "sweep", "report"}
    assert "prove" in found["prove"] and "sweep" in found["sweep"]
    assert sum(1 for where, _ in examples() if where == "prove") >= 6  # Coq, files, Lean, a server, a plan
    continued = [argv for _, argv in examples() if "--html" in argv]
    assert continued and continued[0][-1] == "Theorem t : forall n m : nat, n + m = m + n."  # joined lines


@pytest.mark.parametrize("argv", [argv for _, argv in examples()], ids=" ".join)
def test_every_example_is_a_command_line_the_parser_takes(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)  # an unknown or misspelt option would exit 2 here
    assert args.command == argv[0]


@pytest.mark.parametrize("argv", [argv for _, argv in examples() if argv[0] in ("prove", "sweep")],
                         ids=" ".join)
def test_every_prove_and_sweep_example_has_valid_settings(argv: list[str],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--print-config"]) == 0, capsys.readouterr().err  # builds the settings, runs nothing
    assert "[search]" in capsys.readouterr().out


def test_prover_help_says_what_it_is_and_how_to_start(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys=capsys)
    assert "A step-level theorem prover." in text
    assert text.index("first steps") > text.index("options:")  # after the command list
    assert "  prover prove --backend coq 'Theorem t : forall n : nat, n + 0 = n.'" in text
    assert "`prover COMMAND --help`" in text


@pytest.mark.parametrize(("command", "shape"), [("prove", "prover prove [options] [statement]"),
                                                ("sweep", "prover sweep [options] BENCH")])
def test_prove_and_sweep_help_lead_with_what_matters(command: str, shape: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(command, capsys=capsys)
    lines = text.splitlines()
    assert lines[0] == f"usage: {shape}" and lines[1] == ""  # one line, not the hundred options
    description = text[:text.index("\noptions:")]
    assert "Most runs need only: --backend" in description and "Defaults fit the backend" in description
    assert "\n  # " in text[text.index("examples:"):]  # each example says what it does
    assert "exit status: 0" in text[text.rindex("examples:"):]
    assert "--max-expansions INT" in text and "--coq-keep-coqtops" not in text  # the few most runs need
    assert f"'prover {command} --help-all' lists them all" in " ".join(text.split())
    assert len(text.splitlines()) < 130


@pytest.mark.parametrize("command", ["prove", "sweep", "train"])
def test_help_all_lists_every_option_and_help_names_the_groups_it_leaves_out(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    short = help_of(command, capsys=capsys)
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help-all"])
    full = capsys.readouterr().out
    assert done.value.code == 0 and "--coq-keep-coqtops" in full and "--model-temperature" in full
    parser = build_parser()._subparsers._group_actions[0].choices[command]
    every = {o for a in parser._actions for o in a.option_strings if o.startswith("--")}
    assert all(option in full for option in every)
    common = parser.common_options
    hidden = [a for a in parser._actions if a.option_strings and not set(a.option_strings) & common]
    options = short[short.index("\noptions:"):short.index("more options, in groups")]
    assert not any(f"  {a.option_strings[-1]}" in options for a in hidden)  # left out of the lists
    assert f"{len(hidden)} more options, in groups: " in " ".join(short.split())
    assert "model policy (" in " ".join(short.split())


def test_prove_help_states_its_budgets_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(help_of("prove", capsys=capsys).split())
    assert "--time-limit (120 s) or --max-expansions (none)" in text
    assert "exit status: 0 proved, 1 not proved, 2 bad input" in text
    assert "3 something needed is missing" in text


def test_sweep_help_says_what_it_writes(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of("sweep", capsys=capsys)
    for written in ("results.jsonl", "report.md", "solved_vs_budget.png", "graphs/NAME.html"):
        assert written in text[text.index("writes, in OUT"):text.index("examples:")]
    assert "600 s" in text and "resumes" in text


def test_a_short_command_keeps_argparses_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert help_of("doctor", capsys=capsys).startswith(
        "usage: prover doctor [-h] [--project-dir DIR] [--backend {coq,dojo,repl}]\n")
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    prove = commands.choices["prove"]
    assert prove.format_help().startswith("usage: prover prove [options]")
    assert prove.usage is None and prove.format_usage().count("\n") > 20  # the full usage is still there


def test_prover_help_says_command_help_lists_the_common_options_and_help_all_the_rest(
        capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(help_of(capsys=capsys).split())
    assert "describes each command and all its options" not in text
    assert ("`prover COMMAND --help` describes each command and the options most runs need (prove, sweep and "
            "train name the other groups; `prover COMMAND --help-all` lists every option)") in text
    assert "apt-get install coq libcoq-hammer coinor-csdp" in text  # what the first steps need


def test_report_help_names_every_file_it_rewrites(capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(help_of("report", capsys=capsys).split())
    for written in ("report.md", "report.html", "report.json", "solved_vs_budget.png"):
        assert written in text


def test_a_required_option_shows_in_the_usage_and_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of("trace", capsys=capsys)
    assert text.startswith("usage: prover trace [options] --out DIR [PATH ...]\n")
    assert "the dataset folder (required)" in text
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    trace = commands.choices["trace"]
    assert trace.format_help().count("(required)") == trace.format_help().count("(required)") == 1


def test_doctor_help_says_what_it_checks(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of("doctor", capsys=capsys)
    description = " ".join(text[text.index("\n\n"):text.index("options:")].split())
    assert description.startswith("Check what this machine has for proving")
    assert "CoqHammer" in description and "the command that installs it" in description


def test_quiet_says_it_hides_the_policy_line(capsys: pytest.CaptureFixture[str]) -> None:
    text = " ".join(help_of("prove", capsys=capsys).split())
    assert "--quiet no policy line, no live progress line" in text


def test_sweep_help_says_which_graph_pages_get_a_hash(capsys: pytest.CaptureFixture[str]) -> None:
    from prover.sweep.graph_pages import page_name

    text = " ".join(help_of("sweep", capsys=capsys).split())
    assert "a name with a capital letter or a character other than a-z 0-9 _ . - gets a short hash" in text
    example = "graphs/aimeII_2001_p3-8105b53f.html"
    assert example in text and f"graphs/{page_name('aimeII_2001_p3')}" == example
