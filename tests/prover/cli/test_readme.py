"""What README.md tells a new user to run works as written: the Coq install line installs what the Coq
tactic list and miniF2F need (what CI installs), each benchmark command has the arguments its script
requires, and the first demo prints what the README shows (real Coq)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text()
COQ_PACKAGES = {"coq", "libcoq-hammer", "coinor-csdp", "libcoq-coquelicot"}


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def commands(prefix: str) -> list[list[str]]:
    """The command lines of the README's bash blocks that start with ``prefix`` (continued lines joined)."""
    found = []
    for block in code_blocks("bash"):
        text = block.replace("\\\n", " ")
        found += [shlex.split(line, comments=True) for line in text.splitlines() if line.startswith(prefix)]
    return found


def test_ci_installs_the_coq_packages_the_readme_names() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    listed = set(re.search(r"for package in ([^;]+);", ci)[1].split())  # type: ignore[index]
    assert listed >= COQ_PACKAGES


def test_the_quickstart_install_line_names_every_coq_package() -> None:
    installs = [set(argv[3:]) for argv in commands("apt-get install")]
    assert installs, "no `apt-get install` command in the README's bash blocks"
    quickstart = installs[0]
    assert {"coq", "libcoq-hammer", "coinor-csdp"} <= quickstart  # the default Coq tactic list's
    assert "libcoq-coquelicot" in README[README.index("apt-get install -y coq"):][:400]  # for miniF2F
    setup = README[README.index("The Coq tests run against real Coq"):][:400]
    assert all(package in setup for package in COQ_PACKAGES)


@pytest.mark.parametrize("argv", commands("python benchmarks/"), ids=" ".join)
def test_each_benchmark_command_has_the_arguments_its_script_requires(argv: list[str]) -> None:
    # the script's own parser reads the command line; its work is stopped before it starts
    stop = ("import argparse, runpy, sys\n"
            "parse = argparse.ArgumentParser.parse_args\n"
            "def parsed(self, *a, **k):\n"
            "    parse(self, *a, **k)\n"
            "    sys.exit(0)\n"
            "argparse.ArgumentParser.parse_args = parsed\n"
            "sys.argv = sys.argv[1:]\n"
            "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", stop, *argv[1:]], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_readme_has_a_benchmark_command() -> None:
    assert any(argv[1] == "benchmarks/bench_minif2f_rocq.py" for argv in commands("python benchmarks/"))


def test_the_first_demo_prints_what_the_readme_shows(tmp_path: Path) -> None:
    (argv,) = [argv for argv in commands("prover prove --backend coq") if "--header" in argv][:1]
    done = subprocess.run([sys.executable, "-m", "prover.cli.main", *argv[1:]], cwd=tmp_path, text=True,
                          capture_output=True, timeout=300, env=os.environ | {"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip("\n") == code_blocks("coq")[0].rstrip("\n")  # the file coqc checked
    shown = code_blocks("text")[0]
    assert shown.startswith("policy: the built-in Coq tactic list")

    def stable(text: str) -> list[str]:  # the times vary from run to run
        lines = [line.rstrip() for line in text.splitlines()]
        return [line for line in lines if "│ time " not in line and not re.match(r"│\s+│ [\d.]+ s", line)]

    assert stable(done.stderr) == stable(shown)
