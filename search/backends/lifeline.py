"""Process groups that die with the process that started them, however it dies.

Every proof-assistant process runs in its own session (``ManagedProcess``), so that one signal reaches it
and whatever it starts (coqtop's ``csdpcert``/``csdp``, coqc under its ``sh``). The price: when the process
that owns them dies without closing them (a Ray worker killed with SIGKILL, by ``ray.kill`` or the memory
monitor; a crash), nothing else kills them, and a coqtop in the middle of a runaway tactic computes on,
reparented to init, with no deadline (seen in a sweep: minutes at full CPU and gigabytes resident).

The lifeline is one small guard process per owner process, started with the first group registered. It
reads ``+PGID`` / ``-PGID`` lines on a pipe that only the owner writes (and a child forked from it without
``exec``, which keeps the pipe open until it exits too); when the pipe closes, which the kernel does when
the owner exits for any reason, it SIGKILLs every group still registered, then exits. It
runs in a session of its own, so a signal to the owner's group does not take it away first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading

logger = logging.getLogger(__name__)

# The guard's program: registrations until end of file, then the kill. Standard library only, no site
# packages (``-S``), so that it starts in a few milliseconds.
GUARD = """
import os, signal, sys
groups = set()
for line in sys.stdin:
    line = line.strip()
    if line[:1] == "+":
        groups.add(int(line[1:]))
    elif line[:1] == "-":
        groups.discard(int(line[1:]))
for group in groups:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""


class Lifeline:
    """The registered process groups of this process and the guard that kills them if it dies. Thread-safe.

    A guard that cannot start or dies is logged and started again at the next registration, with every
    group still registered; process groups work the same without one (only the owner's death is no longer
    covered)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: set[int] = set()
        self._guard: subprocess.Popen[bytes] | None = None
        self._owner = os.getpid()

    @property
    def guard_pid(self) -> int | None:
        """The guard's process id (``None`` before the first registration, or when it could not start)."""
        with self._lock:
            return self._guard.pid if self._guard is not None else None

    def register(self, group: int) -> None:
        """Kill process group ``group`` if this process dies before ``unregister(group)``."""
        with self._lock:
            self._forked()
            self._groups.add(group)
            self._write(f"+{group}\n")

    def unregister(self, group: int) -> None:
        """Forget ``group`` (call once it is killed and reaped)."""
        with self._lock:
            self._forked()
            self._groups.discard(group)
            if self._guard is not None:
                self._write(f"-{group}\n")

    def _forked(self) -> None:
        """In a child forked from the owner, start afresh: the parent's guard and groups are the parent's."""
        if self._owner != os.getpid():
            self._guard, self._groups, self._owner = None, set(), os.getpid()

    def _write(self, line: str) -> None:
        if self._guard is None or self._guard.poll() is not None:
            self._guard = self._start()
            if self._guard is None:
                return
            line = "".join(f"+{group}\n" for group in sorted(self._groups)) + line
        assert self._guard.stdin is not None
        try:
            self._guard.stdin.write(line.encode())
            self._guard.stdin.flush()
        except OSError as exc:  # the guard died between poll() and the write: the next write restarts it
            logger.warning("the process-group guard (pid %d) is gone: %s", self._guard.pid, exc)
            with contextlib.suppress(OSError):
                self._guard.stdin.close()
            self._guard.wait()
            self._guard = None

    @staticmethod
    def _start() -> subprocess.Popen[bytes] | None:
        try:
            guard = subprocess.Popen([sys.executable, "-S", "-c", GUARD], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        except OSError as exc:
            logger.warning("cannot start the process-group guard (%s): processes started here outlive a "
                           "crash of this process", exc)
            return None
        logger.debug("process-group guard started (pid %d)", guard.pid)
        return guard


_LIFELINE = Lifeline()


def lifeline() -> Lifeline:
    """This process's lifeline (one per process; its guard starts with the first registration)."""
    return _LIFELINE
