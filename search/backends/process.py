"""One class owns each proof-assistant process.

``ManagedProcess`` spawns the child in its own session (so one signal reaches its whole process group),
talks to it over pipes with deadlines, and has one ``close()`` that kills the group and reaps it. A
failure right after the spawn closes the process before the error propagates, so nothing leaks. The group
is registered with this process's lifeline (``lifeline.py``) until it is reaped, so it is killed too when
this process dies without closing it. Backends (the Lean REPL, coqtop) build their protocols on ``send``
and ``read_until``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import resource
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from search.backends.lifeline import lifeline
from search.backends.process_group import kill_strays, rss_bytes
from search.errors import ProverError

logger = logging.getLogger(__name__)

STDOUT = "stdout"
STDERR = "stderr"
OVERLAP = 1 << 16  # bytes searched again for a pattern terminator that may span two reads
Terminator = bytes | re.Pattern[bytes]


class ProcessError(ProverError):
    """Base of the errors of a managed process."""


class ProcessTimeout(ProcessError):
    """No complete answer arrived before the deadline."""

    def __init__(self, name: str, seconds: float) -> None:
        super().__init__(f"{name}: no answer within {seconds:g} s")
        self.seconds = seconds


class ProcessDied(ProcessError):
    """The process exited (or closed its pipes) while an answer was expected."""

    def __init__(self, name: str, returncode: int | None, stderr_tail: str) -> None:
        detail = f" (exit code {returncode})" if returncode is not None else ""
        tail = f": {stderr_tail.strip()[-500:]}" if stderr_tail.strip() else ""
        super().__init__(f"{name} died{detail}{tail}")
        self.returncode = returncode
        self.stderr_tail = stderr_tail

    @property
    def out_of_memory(self) -> bool:
        """Killed by SIGKILL (the kernel's OOM killer) or failed to allocate under its limit."""
        return self.returncode in (-signal.SIGKILL, 137) or "out of memory" in self.stderr_tail.lower()


class ManagedProcess:
    """A child process with pipes, deadlines and a process-group kill.

    ``memory_limit_mb`` caps the child's address space (``RLIMIT_AS``); ``None`` leaves it unlimited.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str | None = None,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        memory_limit_mb: int | None = None,
    ) -> None:
        if not argv:
            raise ValueError("a process needs a command")
        self.argv = list(argv)
        self.name = name or Path(self.argv[0]).name
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.memory_limit_mb = memory_limit_mb
        self._proc: subprocess.Popen[bytes] | None = None
        self._selector: selectors.BaseSelector | None = None
        self._buffers: dict[str, bytearray] = {STDOUT: bytearray(), STDERR: bytearray()}
        # per stream: the terminator last searched for, and how many bytes of the buffer held none
        self._scanned: dict[str, tuple[Terminator | None, int]] = {STDOUT: (None, 0), STDERR: (None, 0)}
        self._eof: set[str] = set()
        self._due = 0  # answers asked for with ``send(..., answers=n)`` and not yet taken by ``answered``

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Spawn the process; raises ``FileNotFoundError`` when the command does not exist."""
        if self._proc is not None:
            raise RuntimeError(f"{self.name} is already started")
        self._proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=self.cwd, env=self.env, start_new_session=True,
        )
        try:
            lifeline().register(self._proc.pid)
            if self.memory_limit_mb is not None:
                limit = self.memory_limit_mb * 1024 * 1024
                resource.prlimit(self._proc.pid, resource.RLIMIT_AS, (limit, limit))
            self._selector = selectors.DefaultSelector()
            for stream, pipe in ((STDOUT, self._proc.stdout), (STDERR, self._proc.stderr)):
                assert pipe is not None
                os.set_blocking(pipe.fileno(), False)
                self._selector.register(pipe, selectors.EVENT_READ, stream)
            self._buffers = {STDOUT: bytearray(), STDERR: bytearray()}
            self._scanned = {STDOUT: (None, 0), STDERR: (None, 0)}
            self._eof = set()
        except BaseException:
            self.close()
            raise

    def send(self, text: str) -> None:
        """Write ``text`` to the process's stdin; raises ``ProcessDied`` if it is gone, and
        ``UnicodeEncodeError`` (the process untouched) for text that is no valid UTF-8 (a lone surrogate)."""
        proc = self._require()
        assert proc.stdin is not None
        data = text.encode()
        try:
            proc.stdin.write(data)
            proc.stdin.flush()
        except (BrokenPipeError, ConnectionResetError, ValueError) as exc:
            raise self._died() from exc

    def read_until(
        self, stream: str, terminator: Terminator, timeout: float
    ) -> tuple[str, str]:
        """Read until ``terminator`` appears in ``stream`` (``STDOUT`` or ``STDERR``).

        Returns ``(stdout, stderr)``: the given stream up to and including the terminator, the other
        stream as far as it was read; the rest stays buffered for the next call. Raises ``ProcessTimeout``
        after ``timeout`` seconds and ``ProcessDied`` when the process exits first.
        """
        self._require()
        deadline = time.monotonic() + timeout
        while True:
            buffer = self._buffers[stream]
            searched_for, scanned = self._scanned[stream]
            end = self._find(buffer, terminator, scanned if searched_for == terminator else 0)
            if end is not None:
                return self._take(stream, end)
            self._scanned[stream] = (terminator, len(buffer))
            if stream in self._eof:
                raise self._died()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProcessTimeout(self.name, timeout)
            self._pump(remaining)

    def unframed_before_send(self) -> bool:
        """Whether stdout holds output although every answer asked for was read: the last answer was
        followed by text its program printed beyond it (a tactic printing what looks like an answer). The
        caller then refuses the process instead of reading every later answer one late."""
        return self._due == 0 and self.alive and self.unread(STDOUT) > 0

    def answered(self) -> bool:
        """Count one answer read; whether stdout holds more output although no answer is due any more
        (the answer just read may have been printed by the program's guest code: not to be trusted)."""
        self._due = max(0, self._due - 1)
        return self._due == 0 and self.unread(STDOUT) > 0

    def expect(self, answers: int) -> None:
        """Count ``answers`` more answers as asked for (the framing ``answered`` checks)."""
        self._due += answers

    def unread(self, stream: str) -> int:
        """How many bytes of ``stream`` are buffered or readable right now (no waiting): an answer read
        up to its terminator should leave none when nothing more was asked."""
        self._require()
        self._pump(0)
        return len(self._buffers[stream])

    def drain(self) -> tuple[str, str]:
        """Everything buffered or readable right now, without waiting."""
        self._pump(0)
        return self._take(STDOUT, len(self._buffers[STDOUT]))

    def rss_bytes(self) -> int:
        """Resident memory of the process (Linux ``/proc``; 0 when it is gone)."""
        pid = self.pid
        return 0 if pid is None else rss_bytes(pid)

    def kill_strays(self, *, scan: bool = False) -> list[int]:
        """Kill what the process started and left running (``process_group.kill_strays``): call only
        when it is idle, between commands. Returns the killed process ids."""
        pid = self.pid
        if pid is None or not self.alive:
            return []
        return kill_strays(pid, scan=scan)

    def close(self) -> None:
        """Kill the whole process group and reap the process. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            logger.error("%s (pid %d) did not exit after SIGKILL", self.name, proc.pid)
        else:
            lifeline().unregister(proc.pid)
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def __enter__(self) -> ManagedProcess:
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _require(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._proc

    def _pump(self, timeout: float) -> None:
        assert self._selector is not None
        for key, _ in self._selector.select(timeout):
            try:
                chunk = os.read(key.fd, 1 << 16)
            except BlockingIOError:
                continue
            if chunk:
                self._buffers[key.data].extend(chunk)
            else:
                self._eof.add(key.data)
                self._selector.unregister(key.fileobj)

    @staticmethod
    def _find(buffer: bytearray, terminator: Terminator, scanned: int = 0) -> int | None:
        """The end of the first ``terminator`` in ``buffer``, whose first ``scanned`` bytes held none: only
        the new bytes are searched (with the overlap a match may span), so a long answer read in many
        chunks costs linear time, not quadratic. A pattern's match must be shorter than ``OVERLAP``."""
        if isinstance(terminator, bytes):
            at = buffer.find(terminator, max(0, scanned - len(terminator) + 1))
            return None if at < 0 else at + len(terminator)
        match = terminator.search(buffer, max(0, scanned - OVERLAP))
        return None if match is None else match.end()

    def _take(self, stream: str, end: int) -> tuple[str, str]:
        other = STDERR if stream == STDOUT else STDOUT
        taken = bytes(self._buffers[stream][:end])
        del self._buffers[stream][:end]
        rest = bytes(self._buffers[other])
        self._buffers[other].clear()
        self._scanned = {STDOUT: (None, 0), STDERR: (None, 0)}
        texts = {stream: taken.decode(errors="replace"), other: rest.decode(errors="replace")}
        return texts[STDOUT], texts[STDERR]

    def _died(self) -> ProcessDied:
        proc = self._proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                code = None
        # a child whose stderr goes to stdout (coqtop) says why it died there
        tail = bytes(self._buffers[STDERR] or self._buffers[STDOUT][-4096:]).decode(errors="replace")
        return ProcessDied(self.name, code, tail)
