"""Configuration of the Lean REPL backend: where the REPL runs, how many processes, their limits."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

SETUP_FIX = "run `prover setup` to install Lean and build lean_project/, or set the REPL project dir/command"


def default_project_dir() -> Path:
    """The repository's ``lean_project/`` (next to the ``search`` package in a source checkout)."""
    return Path(__file__).resolve().parents[3] / "lean_project"


@dataclass(frozen=True, kw_only=True)
class LeanReplConfig:
    """Validated settings of the REPL process pool. Times are seconds, memory is MiB."""

    project_dir: str | None = field(
        default=None,
        metadata={"help": "Lean project the REPL runs in (its imports resolve there); "
                          "default: the repository's lean_project/"},
    )
    command: tuple[str, ...] = field(
        default=("lake", "env", "repl"),
        metadata={"help": "command that starts one REPL, run in project_dir"},
    )
    pool_size: int = field(default=1, metadata={"help": "REPL processes kept by this backend"})
    memory_limit_mb: int | None = field(
        default=12288,
        metadata={"help": "resident memory of one REPL's process tree before it is killed and restarted "
                          "(None: no watch)"},
    )
    address_space_limit_mb: int | None = field(
        default=None,
        metadata={"help": "RLIMIT_AS of the spawned command (None: unlimited; Mathlib maps many GB of "
                          ".olean files, so prefer memory_limit_mb)"},
    )
    memory_poll_interval: float = field(
        default=0.25, metadata={"help": "how often the memory watch looks at a busy REPL, in seconds"}
    )
    tactic_timeout: float = field(
        default=12.0, metadata={"help": "default time limit of one tactic, in seconds"}
    )
    import_timeout: float = field(
        default=600.0, metadata={"help": "time limit of importing a theorem's header, in seconds"}
    )
    command_timeout: float = field(
        default=120.0,
        metadata={"help": "time limit of elaborating a statement or printing its axioms, in seconds"},
    )
    verify_timeout: float = field(
        default=600.0, metadata={"help": "time limit of checking a whole proof, in seconds"}
    )
    recycle_after: int | None = field(
        default=5000,
        metadata={"help": "restart a REPL after this many requests (it keeps every proof state in "
                          "memory); None: never"},
    )
    start_attempts: int = field(
        default=5,
        metadata={"help": "tries to open a theorem when its REPL dies while starting or importing the "
                          "header (1: no retry)"},
    )
    start_backoff: float = field(
        default=0.2,
        metadata={"help": "seconds before the second try after a REPL died starting; doubles each try"},
    )
    verify_in_fresh_process: bool = field(
        default=False,
        metadata={"help": "check each proof in a newly started REPL instead of the pooled REPL's "
                          "header environment (slower: one import per proof)"},
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "command", tuple(self.command))
        problems = []
        if not self.command or not all(isinstance(part, str) and part for part in self.command):
            problems.append(f"command must be non-empty strings, got {self.command!r}")
        if self.pool_size < 1:
            problems.append(f"pool_size must be >= 1, got {self.pool_size}")
        for name in ("memory_limit_mb", "address_space_limit_mb", "recycle_after"):
            value = getattr(self, name)
            if value is not None and value < 1:
                problems.append(f"{name} must be >= 1 or None, got {value}")
        if self.start_attempts < 1:
            problems.append(f"start_attempts must be >= 1, got {self.start_attempts}")
        if self.start_backoff < 0:
            problems.append(f"start_backoff must be >= 0 seconds, got {self.start_backoff}")
        for name in ("memory_poll_interval", "tactic_timeout", "import_timeout", "command_timeout",
                     "verify_timeout"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be > 0 seconds, got {getattr(self, name)}")
        if problems:
            raise ValueError("invalid Lean REPL configuration: " + "; ".join(problems))

    def resolved_project_dir(self) -> Path:
        return Path(self.project_dir) if self.project_dir is not None else default_project_dir()

    def resolved_command(self) -> list[str] | None:
        """The command with its program found on PATH or in ``~/.elan/bin`` (where elan installs
        ``lake``); ``None`` when the program exists nowhere. Reads PATH and the file system."""
        program, *rest = self.command
        if "/" in program:  # a path; a relative one is relative to the project (Popen's cwd)
            return [program, *rest] if (self.resolved_project_dir() / program).exists() else None
        found = shutil.which(program) or shutil.which(program, path=str(Path.home() / ".elan" / "bin"))
        return [found, *rest] if found else None
