"""One ``coqtop -emacs`` process and its line protocol.

Facts this relies on (measured with Coq 8.16.1, see COQ-NOTES.md): every command is answered by a prompt
``<prompt>NAME < ID |OPEN| 0 < </prompt>`` (on a new line, on stderr), where ID is the state id after the
command (the number ``BackTo`` takes) and NAME the open proof (``Coq`` outside proofs). Goals and
messages go to stdout, errors and warnings to stderr, all before the prompt. A command that fails keeps
the state id, so a command succeeded exactly when the id changed.

coqtop's stderr is merged into its stdout (``2>&1`` in a tiny ``sh`` that then ``exec``s coqtop, so the
process is coqtop itself): one ordered stream in which everything a command prints comes before its
prompt. That makes pipelining exact: several sentences can be written at once and their replies read back
in order, each one the text up to its prompt, with no guessing which stream's bytes belong to whom.

The process itself is a ``ManagedProcess``: own session, deadlines, process-group kill on ``close()``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from search.backends.coq.config import CoqBackendConfig
from search.backends.process import STDOUT, ManagedProcess, ProcessError

logger = logging.getLogger(__name__)

# "<prompt>NAME < STATE |OPEN PROOFS| DEPTH < </prompt>"; nested proofs list several: |inner|outer|
PROMPT = re.compile(r"\n<prompt>(\S+) < (\d+) \|([^<]*)\| \d+ < </prompt>")
_PROMPT_BYTES = re.compile(PROMPT.pattern.encode())
_ERROR_START = re.compile(r"^(?:Error|Anomaly)\b", re.MULTILINE)
_TAGS = re.compile(r"</?(?:warning|infomsg|prompt)>")


# A batch written at once must fit in the pipe to coqtop (64 KiB on Linux) with room to spare: a larger
# write would block while coqtop blocks writing replies that nobody reads yet.
MAX_BATCH_BYTES = 16 * 1024


@dataclass(frozen=True)
class Reply:
    """coqtop's answer to one command.

    ``state_id`` is the id after the command; ``proof`` the open proof's name (``None`` outside proofs);
    ``output`` everything it printed before its prompt (goals, messages, warnings, errors).
    """

    state_id: int
    proof: str | None
    output: str

    @property
    def error(self) -> str | None:
        """Coq's error message (from ``Error:`` or ``Anomaly`` on, without the echoed input), or None."""
        match = _ERROR_START.search(self.output)
        if match is None:
            return None
        text = _TAGS.sub("", self.output[match.start():]).strip()
        return text.removeprefix("Error:").strip() or "error"


def coqtop_argv(config: CoqBackendConfig) -> list[str]:
    """The command line of a session's coqtop: emacs prompts, no rc file, stderr merged into stdout."""
    return ["sh", "-c", 'exec "$0" "$@" 2>&1', config.coqtop, "-q", "-emacs", *config.coq_args]


class UnframedReply(ProcessError):
    """coqtop's output went on past the prompt that ended a reply when no other reply was due: the reply
    held a prompt that coqtop did not frame, printed by a tactic (a string built to look like one), and
    every later reply would be read one prompt late. The coqtop must be discarded."""


class CoqTop:
    """A running coqtop answering commands in order.

    Raises the ``ProcessTimeout`` / ``ProcessDied`` of ``ManagedProcess`` from ``start``, ``command`` and
    ``read_reply``.
    """

    def __init__(self, config: CoqBackendConfig, *, name: str = "coqtop", cwd: str | None = None) -> None:
        self._process = ManagedProcess(coqtop_argv(config), name=name, cwd=cwd,
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
            return self.read_reply(timeout)
        except BaseException:
            self.close()
            raise

    def command(self, sentence: str, timeout: float) -> Reply:
        """Send one sentence (ending with ``.``) and read its reply within ``timeout`` seconds."""
        self.send([sentence])
        return self.read_reply(timeout)

    def send(self, sentences: list[str]) -> None:
        """Write sentences (one line each) without waiting; read one reply per sentence afterwards."""
        text = "".join(f"{s}\n" for s in sentences)
        if len(text.encode()) > MAX_BATCH_BYTES:
            raise ValueError(f"a batch of {len(text)} characters could deadlock the pipe; split it")
        logger.debug("coqtop %s <- %s", self.pid, text.rstrip())
        if self._process.unframed_before_send():
            raise UnframedReply(f"{self._process.name}: output after the last reply's prompt (text printed "
                                "to look like coqtop's prompt)")
        self._process.send(text)
        self._process.expect(len(sentences))

    def read_reply(self, timeout: float) -> Reply:
        """Read the next reply (up to and including its prompt) within ``timeout`` seconds."""
        text, _ = self._process.read_until(STDOUT, _PROMPT_BYTES, timeout)
        if self._process.answered():
            raise UnframedReply(f"{self._process.name}: output after the prompt that ended a reply (text "
                                "printed to look like coqtop's prompt)")
        prompt = PROMPT.search(text)
        assert prompt is not None, "read_until returned without the prompt"
        name = prompt.group(1)
        self.state_id = int(prompt.group(2))
        self.proof = None if name == "Coq" else name
        return Reply(self.state_id, self.proof, text[: prompt.start()])

    def kill_strays(self, *, scan: bool = False) -> list[int]:
        """Kill what coqtop started and left running (``csdp`` after a ``Timeout`` of ``psatz``; see
        ``process_group``). Call only between commands, when every reply was read."""
        return self._process.kill_strays(scan=scan)

    def close(self) -> None:
        """Kill coqtop's process group and reap it. Idempotent."""
        self._process.close()
