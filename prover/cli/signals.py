"""Stopping a command cleanly: SIGTERM (what schedulers such as SLURM and ``kill`` send) is handled as
Ctrl-C is, and the first interrupt says at once that the command is stopping.

Both raise ``KeyboardInterrupt`` in the main thread, so every command's own clean-up runs (workers closed,
results kept) and ``prover`` exits with its "interrupted" line; after SIGTERM it says "terminated" and
exits with 143, as a shell reports a process it terminated. The line printed at once says what the
command does while it stops (``STOPPING``).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

KEEPING = "stopping: closing workers and keeping what finished ..."
STOPPING: dict[str | None, str] = {  # by command; None: any other
    "prove": "stopping: ending the search and closing the proof assistant ...",
    "sweep": KEEPING, "train": KEEPING, "trace": KEEPING,
    None: "stopping ...",
}


@dataclass
class Stop:
    """The first stop signal received within ``stop_signals`` (``None``: none)."""

    signal: int | None = None

    @property
    def terminated(self) -> bool:
        return self.signal == signal.SIGTERM


@contextmanager
def stop_signals(message: str = KEEPING) -> Iterator[Stop]:
    """Within the block: SIGTERM raises ``KeyboardInterrupt`` as SIGINT does, and the first of them prints
    ``message``, a line that the command is stopping; the ``Stop`` yielded tells which came (an exception
    raised in a signal handler may be re-raised as a plain ``KeyboardInterrupt`` by the code it
    interrupts). The handlers in place before are restored after; outside the main thread nothing
    changes."""
    stop = Stop()
    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        yield stop
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.signal is None:
            stop.signal = signum
            print(message, file=sys.stderr, flush=True)
        raise KeyboardInterrupt

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in before:
        signal.signal(sig, handle)
    try:
        yield stop
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
