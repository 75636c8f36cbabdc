"""A reader that closes ``prover``'s output early (``prover prove ... | head -1``) changes nothing else.

Python ignores SIGPIPE, so a write to a pipe whose reader has gone raises ``BrokenPipeError`` wherever it
happens: in the middle of a search (the live progress line, a log line), or in printing the proof. Left
alone, that error ends the command as a failure, before the files it was asked to write (``--graph-out``,
``--html``, a sweep's folder) exist. Here stdout and stderr are wrapped for the command's run: the first
broken write points the stream's file descriptor at ``os.devnull`` (what Python's documentation of
SIGPIPE recommends, so that no later flush, the interpreter's last included, fails again) and every later
write is dropped. The command runs to its end and exits with its own status (0 proved, 1 not proved ...):
the verdict is in the status and the files, and only the text the reader did not want is lost. A shell
tool killed by SIGPIPE would exit 141 instead; ``prover`` keeps the status a script tests.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

logger = logging.getLogger(__name__)


class PipeGuard:
    """A text stream that forwards to ``stream`` until a write or flush meets a closed pipe; from then on
    the stream's descriptor is ``os.devnull`` and writes are dropped (``broken``). Other attributes
    (``isatty``, ``fileno``, ``encoding`` ...) are the stream's."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self.stream.write(text)
            except BrokenPipeError:
                self._reader_gone()
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._reader_gone()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def _reader_gone(self) -> None:
        self.broken = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
        except OSError:
            return
        try:  # what is still buffered goes there too, so the interpreter's last flush cannot fail
            os.dup2(devnull, self.stream.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):  # no descriptor (a test's captured stream)
            pass
        finally:
            os.close(devnull)


@contextmanager
def closed_pipes_ignored() -> Iterator[tuple[PipeGuard, PipeGuard]]:
    """Within the block, ``sys.stdout`` and ``sys.stderr`` are ``PipeGuard``s (yielded): a reader that
    closed either ends nothing. Both are flushed before they are put back."""
    guards = PipeGuard(sys.stdout), PipeGuard(sys.stderr)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = guards  # a TextIO in all that is used of it
    try:
        yield guards
    finally:
        for guard in guards:
            guard.flush()
        sys.stdout, sys.stderr = saved
        if guards[0].broken or guards[1].broken:
            logger.debug("the reader of %s closed it early; the rest of the output was dropped",
                         " and ".join(name for name, guard in zip(("stdout", "stderr"), guards, strict=True)
                                      if guard.broken))
