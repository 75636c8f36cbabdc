"""Configuration of the Lean REPL backend: where the REPL runs, how many processes, their limits."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from search.validation import MAX_SECONDS, Validated, setting

SETUP_FIX = "run `prover setup` to install Lean and build lean_project/, or set the REPL project dir/command"


def default_project_dir() -> Path:
    """The repository's ``lean_project/`` (next to the ``search`` package in a source checkout)."""
    return Path(__file__).resolve().parents[3] / "lean_project"


@dataclass(frozen=True, kw_only=True)
class LeanReplConfig(Validated):
    """Validated settings of the REPL process pool. Times are seconds, memory is MiB."""

    config_name = "Lean REPL configuration"

    project_dir: str | None = setting(
        None, help="Lean project the REPL runs in (its imports resolve there); default: the repository's "
                   "lean_project/")
    command: tuple[str, ...] = setting(
        ("lake", "env", "repl"), nonblank=True, min_items=1,
        help="command that starts one REPL, run in project_dir")
    pool_size: int = setting(1, min=1, help="REPL processes kept by this backend")
    memory_limit_mb: int | None = setting(
        12288, min=1, help="resident memory of one REPL's process tree before it is killed and restarted "
                           "(None: no watch)")
    address_space_limit_mb: int | None = setting(
        None, min=1, max=2**30,
        help="RLIMIT_AS of the spawned command (None: unlimited; Mathlib maps many GB of .olean files, so "
             "prefer memory_limit_mb)")
    memory_poll_interval: float = setting(
        0.25, above=0, help="how often the memory watch looks at a busy REPL, in seconds")
    tactic_timeout: float = setting(12.0, above=0, max=MAX_SECONDS,
        help="default time limit of one tactic, in seconds")
    import_timeout: float = setting(
        600.0, above=0, max=MAX_SECONDS, help="time limit of importing a theorem's header, in seconds")
    command_timeout: float = setting(
        120.0, above=0, max=MAX_SECONDS,
        help="time limit of elaborating a statement or printing its axioms, in seconds")
    verify_timeout: float = setting(600.0, above=0, max=MAX_SECONDS,
        help="time limit of checking a whole proof, in seconds")
    recycle_after: int | None = setting(
        5000, min=1, help="restart a REPL after this many requests (it keeps every proof state in memory); "
                          "None: never")
    start_attempts: int = setting(
        5, min=1, help="tries to open a theorem when its REPL dies while starting or importing the header "
                       "(1: no retry)")
    start_backoff: float = setting(
        0.2, min=0, max=MAX_SECONDS,
        help="seconds before the second try after a REPL died starting; doubles each try")
    verify_in_fresh_process: bool = setting(
        False, help="check each proof in a newly started REPL instead of the pooled REPL's header "
                    "environment (slower: one import per proof)")

    def resolved_project_dir(self) -> Path:
        return Path(self.project_dir) if self.project_dir is not None else default_project_dir()

    def resolved_command(self) -> list[str] | None:
        """The command with its program found on PATH or in elan's ``bin`` (``$ELAN_HOME/bin``, default
        ``~/.elan/bin``: where elan installs ``lake``, as ``prover doctor`` looks); ``None`` when the program
        exists nowhere. Reads PATH, ELAN_HOME and the file system."""
        program, *rest = self.command
        if "/" in program:  # a path; a relative one is relative to the project (Popen's cwd)
            return [program, *rest] if (self.resolved_project_dir() / program).exists() else None
        elan = Path(os.environ.get("ELAN_HOME") or Path.home() / ".elan") / "bin"
        found = shutil.which(program) or shutil.which(program, path=str(elan))
        return [found, *rest] if found else None
