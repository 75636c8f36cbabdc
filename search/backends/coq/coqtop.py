"""One ``coqtop -emacs`` process and its line protocol.

Facts this relies on (measured with Coq 8.16.1, see COQ-NOTES.md): every command is answered by a prompt
``<prompt>NAME < ID |OPEN| 0 < </prompt>`` on stderr, where ID is the state id after the command (the
number ``BackTo`` takes) and NAME the open proof (``Coq`` outside proofs). Goals and messages go to stdout,
errors and warnings to stderr before the prompt. A command that fails keeps the state id, so a command
succeeded exactly when the id changed. coqtop writes (and flushes) stdout before it prints the prompt, so
once the prompt is read, what is left of stdout is read without waiting.

The process itself is a ``ManagedProcess``: own session, deadlines, process-group kill on ``close()``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from search.backends.coq.config import CoqBackendConfig
from search.backends.process import STDERR, ManagedProcess

logger = logging.getLogger(__name__)

PROMPT = re.compile(r"\n<prompt>(\S+) < (\d+) \|([^|]*)\| \d+ < </prompt>")
_PROMPT_BYTES = re.compile(PROMPT.pattern.encode())
_ERROR_START = re.compile(r"^(?:Error|Anomaly)\b", re.MULTILINE)
_TAGS = re.compile(r"</?(?:warning|infomsg|prompt)>")


@dataclass(frozen=True)
class Reply:
    """coqtop's answer to one command.

    ``state_id`` is the id after the command; ``proof`` the open proof's name (``None`` outside proofs);
    ``stdout`` what it printed (goals, messages); ``stderr`` the text before the prompt (errors, warnings).
    """

    state_id: int
    proof: str | None
    stdout: str
    stderr: str

    @property
    def error(self) -> str | None:
        """Coq's error message (from ``Error:`` or ``Anomaly`` on, without the echoed input), or None."""
        match = _ERROR_START.search(self.stderr)
        if match is None:
            return None
        text = _TAGS.sub("", self.stderr[match.start():]).strip()
        return text.removeprefix("Error:").strip() or "error"


def coqtop_argv(config: CoqBackendConfig) -> list[str]:
    """The command line of a session's coqtop: emacs prompts, no rc file, the user's extra arguments."""
    return [config.coqtop, "-q", "-emacs", *config.coq_args]


class CoqTop:
    """A running coqtop answering one command at a time.

    Raises ``FileNotFoundError`` from ``start`` when coqtop does not exist, and the ``ProcessTimeout`` /
    ``ProcessDied`` of ``ManagedProcess`` from ``start`` and ``command``.
    """

    def __init__(self, config: CoqBackendConfig, *, name: str = "coqtop") -> None:
        self._process = ManagedProcess(coqtop_argv(config), name=name,
                                       memory_limit_mb=config.memory_limit_mb)
        self.state_id = 0
        self.proof: str | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.alive

    def start(self, timeout: float) -> Reply:
        """Spawn coqtop and read its first prompt; closes the process if that fails."""
        self._process.start()
        try:
            return self._read_reply(timeout)
        except BaseException:
            self.close()
            raise

    def command(self, sentence: str, timeout: float) -> Reply:
        """Send one sentence (ending with ``.``) and read the reply within ``timeout`` seconds."""
        logger.debug("coqtop %s <- %s", self.pid, sentence)
        self._process.send(sentence + "\n")
        return self._read_reply(timeout)

    def close(self) -> None:
        """Kill coqtop's process group and reap it. Idempotent."""
        self._process.close()

    def _read_reply(self, timeout: float) -> Reply:
        stdout, stderr = self._process.read_until(STDERR, _PROMPT_BYTES, timeout)
        while True:  # the rest of stdout is already in the pipe: take it without waiting
            more_out, more_err = self._process.drain()
            if not more_out and not more_err:
                break
            stdout += more_out
            stderr += more_err
        prompt = PROMPT.search(stderr)
        assert prompt is not None, "read_until returned without the prompt"
        name = prompt.group(1)
        self.state_id = int(prompt.group(2))
        self.proof = None if name == "Coq" else name
        return Reply(self.state_id, self.proof, stdout, stderr[: prompt.start()])
