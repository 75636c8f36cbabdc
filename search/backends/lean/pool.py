"""A pool of Lean REPL processes shared by the sessions of one backend.

The pool has ``pool_size`` slots; each holds one ``ReplProcess`` incarnation at a time and lends it to one
caller at a time. A process that failed (hung past its deadline, crashed, outgrew its memory, printed
garbage) is killed with its whole process group when it comes back, and its slot gets the next incarnation
(``generation + 1``), started on its next loan. A process that has answered ``recycle_after`` requests, or
grew past its memory limit between requests, is replaced the same way. Sessions notice a new incarnation
by its ``key`` and restore their states there by replaying tactics (see ``repl_session``).

Thread-safe: sessions of a parallel driver may borrow different processes at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from search.backends.lean.repl_config import LeanReplConfig
from search.backends.lean.repl_process import ReplProcess

logger = logging.getLogger(__name__)


class ReplPool:
    """``pool_size`` REPL slots, started lazily. ``close()`` kills every process; it is idempotent."""

    def __init__(self, config: LeanReplConfig) -> None:
        self.config = config
        self.restarts = 0  # incarnations replaced after a failure (or found dead while idle)
        self.recycles = 0  # incarnations replaced because they were due
        self._slots = [ReplProcess(config, slot=i) for i in range(config.pool_size)]
        self._busy: set[int] = set()
        self._cond = threading.Condition()
        self._closed = False

    @property
    def size(self) -> int:
        return len(self._slots)

    def process(self, slot: int) -> ReplProcess:
        """The current incarnation of ``slot`` (for inspection; borrow it with ``acquire``)."""
        return self._slots[slot]

    def acquire(self, prefer: Sequence[int] = ()) -> ReplProcess:
        """Borrow a started process, waiting while all are busy.

        The first free slot in ``prefer`` wins (a session prefers processes that already hold its
        states), then any started one, then any. A process found dead while idle (killed from outside,
        OOM-killed) is replaced first. Raises ``BackendUnavailableError`` when the REPL cannot start.
        """
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the REPL pool is closed")
                free = [i for i in range(len(self._slots)) if i not in self._busy]
                if free:
                    break
                self._cond.wait()
            slot = self._choose(free, prefer)
            self._busy.add(slot)
            proc = self._slots[slot]
        try:
            if proc.started and not proc.alive:
                logger.warning("%s died while idle; restarting it", proc.name)
                proc = self._replace(proc, failed=True)
            if not proc.started:
                proc.start()
        except BaseException:
            self._free(slot)
            raise
        return proc

    def release(self, proc: ReplProcess, *, failed: bool = False) -> None:
        """Give a borrowed process back. ``failed``: it must not be used again (killed and replaced);
        one due for recycling is replaced too."""
        limit = self.config.recycle_after
        if self._closed:
            proc.close()
        elif failed:
            self._replace(proc, failed=True)
        elif proc.over_memory or (limit is not None and proc.requests >= limit):
            self._replace(proc, failed=False)
        self._free(proc.key[0])

    def close(self) -> None:
        with self._cond:
            self._closed = True
            slots = list(self._slots)
            self._cond.notify_all()
        for proc in slots:
            proc.close()

    def _choose(self, free: list[int], prefer: Sequence[int]) -> int:
        for slot in prefer:
            if slot in free:
                return slot
        started = [slot for slot in free if self._slots[slot].started]
        return started[0] if started else free[0]

    def _replace(self, proc: ReplProcess, *, failed: bool) -> ReplProcess:
        """Kill ``proc`` (its whole process group) and put its slot's next incarnation in place."""
        slot, generation = proc.key
        proc.close()
        fresh = ReplProcess(self.config, slot=slot, generation=generation + 1)
        with self._cond:
            if self._slots[slot] is proc:
                self._slots[slot] = fresh
            if failed:
                self.restarts += 1
            else:
                self.recycles += 1
        logger.info("%s replaced by %s (%s)", proc.name, fresh.name, "failure" if failed else "recycled")
        return fresh

    def _free(self, slot: int) -> None:
        with self._cond:
            self._busy.discard(slot)
            self._cond.notify()
