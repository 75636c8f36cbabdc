"""Run one command to completion under a deadline, through ``ManagedProcess``.

For one-shot Lean work (checking a whole file, ``lake`` steps of ``prover setup``): the command runs in its
own process group, its output is read line by line as it comes (and handed to ``on_line``), and at the
deadline the whole group is killed and reaped. Nothing is left running whatever happens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from search.backends.process import STDOUT, ManagedProcess, ProcessDied, ProcessTimeout

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessOutcome:
    """What a finished (or killed) command left: its output, exit code (``None`` when killed at the
    deadline) and whether the deadline hit."""

    stdout: str
    stderr: str
    returncode: int | None
    timed_out: bool

    @property
    def output(self) -> str:
        """stdout, then stderr."""
        return self.stdout + ("\n" + self.stderr if self.stderr.strip() else "")


def run_process(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    name: str | None = None,
    on_line: Callable[[str], None] | None = None,
) -> ProcessOutcome:
    """Run ``argv`` until it exits or ``timeout`` seconds pass. Raises ``FileNotFoundError`` when the
    command does not exist; never leaves the process (group) running."""
    process = ManagedProcess(argv, name=name, cwd=cwd, env=env)
    process.start()
    stdout: list[str] = []
    stderr: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProcessTimeout(process.name, timeout)
            out, err = process.read_until(STDOUT, b"\n", remaining)
            stdout.append(out)
            stderr.append(err)
            if on_line is not None:
                on_line(out.rstrip("\n"))
    except ProcessDied as died:
        _drain_into(process, stdout, stderr)
        return ProcessOutcome("".join(stdout), "".join(stderr), died.returncode, False)
    except ProcessTimeout:
        logger.warning("%s: killed after %g s", process.name, timeout)
        _drain_into(process, stdout, stderr, rounds=1)
        return ProcessOutcome("".join(stdout), "".join(stderr), None, True)
    finally:
        process.close()


def _drain_into(process: ManagedProcess, stdout: list[str], stderr: list[str], rounds: int = 1000) -> None:
    """Collect what is left in the pipes (``drain`` reads one chunk per stream per call)."""
    for _ in range(rounds):
        out, err = process.drain()
        if not out and not err:
            return
        stdout.append(out)
        stderr.append(err)
