"""``prover setup``: install Lean and build ``lean_project/`` on a machine with internet.

Steps, each logged and run in its own process group under a deadline:
1. install elan (the official ``elan-init.sh``, non-interactive, no default toolchain) if it is missing;
2. install the toolchain named in ``lean_project/lean-toolchain``;
3. resolve Mathlib and the REPL (``lake update``) when ``lake-manifest.json`` does not exist yet;
4. fetch Mathlib's build cache (``lake exe cache get``) instead of compiling Mathlib for hours;
5. build the REPL executable (``lake build repl``);
6. build the project's own module, which imports Mathlib: a check that the cache is complete.

``dry_run=True`` returns the plan without running anything (what tests check, and what the CLI prints).
A failed step raises ``SetupError`` naming the command, its exit code and the end of its output.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from prover.theorem_input import InputError
from search.backends.lean.dojo_process import ProcessOutcome, run_process
from search.backends.lean.repl_config import default_project_dir
from search.errors import ProverError

logger = logging.getLogger(__name__)

ELAN_INIT_URL = "https://raw.githubusercontent.com/leanprover/elan/master/elan-init.sh"
HOUR = 3600.0


@dataclass(frozen=True)
class SetupStep:
    """One command of the setup; ``cwd`` is where it runs, ``timeout`` its deadline in seconds."""

    name: str
    argv: tuple[str, ...]
    cwd: str | None = None
    timeout: float = HOUR

    @property
    def command(self) -> str:
        """The step as a shell command a user can paste."""
        command = shlex.join(self.argv)
        return f"cd {shlex.quote(self.cwd)} && {command}" if self.cwd else command


class SetupError(ProverError):
    """A setup step failed; carries the step, its exit code (``None``: killed at its deadline or not
    started) and the end of its output."""

    def __init__(self, step: SetupStep, returncode: int | None, output: str) -> None:
        status = "timed out" if returncode is None else f"failed with exit code {returncode}"
        tail = "\n".join(output.strip().splitlines()[-30:])
        message = f"setup step '{step.name}' {status}: `{step.command}`"
        super().__init__(message + (f"\n{tail}" if tail else ""))
        self.step = step
        self.returncode = returncode
        self.output = output


def elan_bin_dir(env: Mapping[str, str]) -> Path:
    """Where elan puts ``elan``, ``lean`` and ``lake`` (``$ELAN_HOME/bin``, default ``~/.elan/bin``)."""
    home = env.get("ELAN_HOME") or str(Path(env.get("HOME", str(Path.home()))) / ".elan")
    return Path(home) / "bin"


def read_toolchain(project_dir: Path) -> str:
    """The toolchain pinned by ``project_dir/lean-toolchain`` (e.g. ``leanprover/lean4:v4.24.0``). Raises
    ``InputError`` for a folder that is no Lake project."""
    try:
        return (project_dir / "lean-toolchain").read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InputError(f"--project-dir {project_dir}: not a Lean (Lake) project: its lean-toolchain file "
                         f"cannot be read ({exc.strerror or exc}); give the folder holding lean-toolchain "
                         "and lakefile (the repository's lean_project/)") from None


def setup_plan(
    project_dir: Path | None = None,
    *,
    which: Callable[[str], str | None] = shutil.which,
    env: Mapping[str, str] | None = None,
) -> list[SetupStep]:
    """The commands that bring ``project_dir`` (default: the repository's ``lean_project/``) to a built
    state, skipping the elan install when elan is already there."""
    project = (project_dir or default_project_dir()).resolve()
    env = os.environ if env is None else env
    bin_dir = elan_bin_dir(env)
    steps = []
    elan = which("elan") or _existing(bin_dir / "elan")
    if elan is None:
        install = f"set -euo pipefail; curl -sSfL {ELAN_INIT_URL} | sh -s -- -y --default-toolchain none"
        steps.append(SetupStep("install elan", ("bash", "-c", install), timeout=600.0))
        elan = str(bin_dir / "elan")
    lake = which("lake") or str(bin_dir / "lake")
    cwd = str(project)
    steps.append(SetupStep("install the Lean toolchain",
                           (elan, "toolchain", "install", read_toolchain(project)), timeout=HOUR))
    if not (project / "lake-manifest.json").exists():
        steps.append(SetupStep("resolve Mathlib and the REPL", (lake, "update"), cwd, 2 * HOUR))
    steps += [
        SetupStep("fetch Mathlib's build cache", (lake, "exe", "cache", "get"), cwd, 2 * HOUR),
        SetupStep("build the REPL", (lake, "build", "repl"), cwd, HOUR),
        SetupStep("check that Mathlib loads", (lake, "build"), cwd, HOUR),
    ]
    return steps


def _existing(path: Path) -> str | None:
    return str(path) if path.exists() else None


Runner = Callable[[SetupStep, Mapping[str, str]], ProcessOutcome]


def run_step(step: SetupStep, env: Mapping[str, str]) -> ProcessOutcome:
    """Run one step, logging its output line by line at DEBUG level."""
    def log_line(line: str) -> None:
        logger.debug("%s | %s", step.name, line)

    return run_process(step.argv, timeout=step.timeout, cwd=step.cwd, env=env, name=step.name,
                       on_line=log_line)


def setup_lean(
    project_dir: Path | None = None,
    *,
    dry_run: bool = False,
    which: Callable[[str], str | None] = shutil.which,
    env: Mapping[str, str] | None = None,
    runner: Runner = run_step,
) -> list[SetupStep]:
    """Run (or with ``dry_run`` only plan) the setup; returns the steps. Raises ``SetupError`` at the
    first step that fails, ``FileNotFoundError`` when ``lean-toolchain`` is missing."""
    base = dict(os.environ if env is None else env)
    steps = setup_plan(project_dir, which=which, env=base)
    if dry_run:
        return steps
    bin_dir = str(elan_bin_dir(base))
    run_env = {**base, "PATH": os.pathsep.join(p for p in (bin_dir, base.get("PATH", "")) if p)}
    for number, step in enumerate(steps, start=1):
        logger.info("setup %d/%d: %s: %s", number, len(steps), step.name, step.command)
        try:
            outcome = runner(step, run_env)
        except FileNotFoundError as exc:
            raise SetupError(step, None, f"command not found: {exc}") from exc
        if outcome.timed_out or outcome.returncode != 0:
            raise SetupError(step, outcome.returncode, outcome.output)
        logger.info("setup %d/%d: %s: done", number, len(steps), step.name)
    return steps
