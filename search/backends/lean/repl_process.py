"""One Lean REPL process: typed requests over a ``ManagedProcess``, a header cache and a memory watch.

A ``ReplProcess`` is one incarnation of one pool slot: ``key = (slot, generation)`` names it, and proof
states and environments are only meaningful inside the incarnation that made them. It never restarts
itself; whoever sees it fail (``ProcessError`` or ``ReplProtocolError``) closes it and asks the pool for
the slot's next incarnation.

Answers are framed by counting, as coqtop's replies are (``ManagedProcess.expect``/``answered``: the
answers asked for and not read yet), and when none is due the REPL must have printed nothing more. In
tactic mode the REPL does not capture stdout, so compiled code a tactic runs could print a block shaped like
an answer (``{"proofState": 7, "goals": []}``) before the real one. Output past an answer when no other is
due, found after reading it or before sending the next request, is ``UnframedAnswer``: the answer is not
accepted and the process must be discarded. Forged text followed by a real answer that Lean prints only
later is seen at the next request (whose answer would otherwise be read one answer late); a proof still
counts only after the kernel checked it whole in command mode, where the REPL captures what code prints.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from search.backends.lean.process_memory import tree_rss_bytes
from search.backends.lean.repl_config import SETUP_FIX, LeanReplConfig
from search.backends.lean.repl_messages import (
    CommandResponse,
    ReplError,
    ReplProtocolError,
    ReplResponse,
    command_request,
    decode_response,
    encode_request,
    errors,
    tactic_request,
)
from search.backends.process import STDOUT, ManagedProcess, ProcessError, ProcessTimeout
from search.errors import BackendUnavailableError, ProverError

logger = logging.getLogger(__name__)

BACKEND_NAME = "repl"
_END = b"\n\n"


class MemoryLimitExceeded(ProcessError):
    """The REPL's process tree grew past its resident-memory limit while it was working."""

    def __init__(self, name: str, rss_bytes: int, limit_bytes: int) -> None:
        super().__init__(f"{name} used {rss_bytes >> 20} MiB, over its limit of {limit_bytes >> 20} MiB")
        self.rss_bytes = rss_bytes
        self.limit_bytes = limit_bytes


class UnframedAnswer(ReplProtocolError):
    """The REPL's stdout went on past an answer when no other answer was due: text printed by a tactic's
    compiled code, possibly shaped like an answer. Neither answer can be trusted; discard the process."""


class HeaderError(ProverError):
    """A theorem header did not elaborate in a fresh environment; ``messages`` are Lean's."""

    def __init__(self, messages: tuple[str, ...]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


class ReplProcess:
    """One REPL process. Not thread-safe: the pool lends it to one caller at a time."""

    def __init__(self, config: LeanReplConfig, *, slot: int = 0, generation: int = 0) -> None:
        self.config = config
        self.key = (slot, generation)
        self.name = f"lean-repl[{slot}.{generation}]"
        self.requests = 0  # requests written to this incarnation
        self.over_memory = False  # seen above the memory limit after an answer: recycle it
        self._proc: ManagedProcess | None = None
        self._headers: dict[str, int] = {}  # header text -> env created from it alone
        self._limit = None if config.memory_limit_mb is None else config.memory_limit_mb << 20
        self._last_check = 0.0

    @property
    def started(self) -> bool:
        return self._proc is not None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.alive

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def start(self) -> None:
        """Spawn the REPL in the project directory. Raises ``BackendUnavailableError`` when the project
        or the command is missing."""
        project = self.config.resolved_project_dir()
        if not project.is_dir():
            raise BackendUnavailableError(BACKEND_NAME, f"Lean project directory {project} does not exist",
                                          SETUP_FIX)
        argv = self.config.resolved_command()
        if argv is None:
            raise BackendUnavailableError(
                BACKEND_NAME, f"command {self.config.command[0]!r} not found (REPL command: "
                              f"{' '.join(self.config.command)})", SETUP_FIX)
        proc = ManagedProcess(argv, name=self.name, cwd=project,
                              memory_limit_mb=self.config.address_space_limit_mb)
        try:
            proc.start()
        except OSError as exc:
            raise BackendUnavailableError(BACKEND_NAME, f"cannot start {argv[0]}: {exc}", SETUP_FIX) from exc
        self._proc = proc
        logger.debug("%s started (pid %d)", self.name, proc.pid)

    def request(self, payload: dict[str, Any], timeout: float) -> ReplResponse:
        """Send one request and wait up to ``timeout`` seconds for its answer.

        Raises ``ProcessTimeout``, ``ProcessDied``, ``MemoryLimitExceeded`` (the process is then unusable:
        close it) and ``ReplProtocolError`` (``UnframedAnswer`` among them: output past an answer).
        """
        proc = self._require()
        if proc.unframed_before_send():
            raise UnframedAnswer(f"{self.name}: output after the last answer (printed by a tactic, possibly "
                                 "shaped like an answer); the process cannot be trusted")
        proc.send(encode_request(payload))
        proc.expect(1)
        self.requests += 1
        deadline = time.monotonic() + timeout
        while True:
            response = self._decode(self._read_block(proc, deadline, timeout))
            if response is not None:
                if proc.answered():
                    raise UnframedAnswer(f"{self.name}: more output after an answer when none was due "
                                         "(printed by a tactic, possibly a forged answer); the answer is not "
                                         "accepted")
                return response

    def command(self, cmd: str, env: int | None = None, *, timeout: float) -> ReplResponse:
        return self.request(command_request(cmd, env), timeout)

    def tactic(self, tactic: str, proof_state: int, *, timeout: float) -> ReplResponse:
        return self.request(tactic_request(tactic, proof_state), timeout)

    def header_env(self, header: str) -> int:
        """The environment made by ``header`` alone, imported once per process and then cached.

        Raises ``HeaderError`` when Lean rejects the header, plus the errors of ``request``.
        """
        env = self._headers.get(header)
        if env is not None:
            return env
        started = time.monotonic()
        response = self.command(header, timeout=self.config.import_timeout)
        if isinstance(response, ReplError):
            raise HeaderError((response.message,))
        if not isinstance(response, CommandResponse) or response.env is None:
            raise ReplProtocolError(f"unexpected answer to a header: {response!r:.300}")
        failed = errors(response.messages)
        if failed:
            raise HeaderError(tuple(m.render() for m in failed))
        logger.info("%s imported a header in %.1f s", self.name, time.monotonic() - started)
        self._headers[header] = response.env
        return response.env

    def rss_bytes(self) -> int:
        pid = self.pid
        return 0 if pid is None else tree_rss_bytes(pid)

    def close(self) -> None:
        """Kill the process group and reap it. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.close()
            logger.debug("%s closed after %d requests", self.name, self.requests)

    def _require(self) -> ManagedProcess:
        if self._proc is None:
            raise RuntimeError(f"{self.name} is not started")
        return self._proc

    def _read_block(self, proc: ManagedProcess, deadline: float, timeout: float) -> str:
        """Read up to the next blank line, watching memory while Lean works."""
        poll = self.config.memory_poll_interval
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProcessTimeout(self.name, timeout)
            wait = remaining if self._limit is None else min(remaining, poll)
            try:
                stdout, _ = proc.read_until(STDOUT, _END, wait)
            except ProcessTimeout:
                self._check_memory(raise_over=True)
                continue
            if self._limit is not None and time.monotonic() - self._last_check >= poll:
                self._check_memory(raise_over=False)
            return stdout

    def _check_memory(self, *, raise_over: bool) -> None:
        if self._limit is None:
            return
        self._last_check = time.monotonic()
        rss = self.rss_bytes()
        if rss <= self._limit:
            return
        if raise_over:
            raise MemoryLimitExceeded(self.name, rss, self._limit)
        logger.warning("%s holds %d MiB after an answer; it will be recycled", self.name, rss >> 20)
        self.over_memory = True

    def _decode(self, block: str) -> ReplResponse | None:
        """Parse an answer block; text before the JSON (a REPL built with debug prints) is skipped."""
        text = block.strip()
        if text.startswith("{"):
            return decode_response(text)
        start = text.find("\n{")
        if text:
            logger.warning("%s printed non-JSON output: %r", self.name, text[:200])
        return None if start < 0 else decode_response(text[start + 1:])
