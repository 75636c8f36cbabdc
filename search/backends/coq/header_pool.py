"""Idle coqtops kept at the state right after a header, so that the next theorem with the same header
starts without loading it again (loading ``Reals`` and the policy's libraries takes about a second; going
back takes a fraction of a millisecond, COQ-NOTES.md).

A lease is one coqtop at its header state. A session takes a lease, opens its theorem on it, and gives it
back when it closes: the pool sends ``BackTo`` the header state, which undoes everything the session did
(its statement, its tactics, any definition made since), checks that coqtop is there and outside every
proof, kills any process the session's tactics left running in coqtop's group, and parks it. A coqtop
that did not come back cleanly, or one too many, is killed. Nothing of one theorem can reach the next: the
only state shared is the one coqtop itself reached by loading the header.

The pool is thread-safe (the overlapped driver opens sessions from several threads); process I/O happens
outside its lock, on a coqtop that only its lease holder uses.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from dataclasses import dataclass

from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.coqtop import CoqTop
from search.backends.coq.launch import start_at_header
from search.backends.process import ProcessError
from search.backends.process_group import children
from search.types import Theorem

logger = logging.getLogger(__name__)

# Children a parked coqtop may hold: the ``csdpcert`` helpers that Coq's ``Timeout`` interrupted are never
# reaped by coqtop (dead, they stay zombies, one process-table slot each, until coqtop exits).
MAX_ZOMBIES = 16


def header_key(header: str) -> str:
    """Headers that differ only in whitespace load the same environment (coqtop gets each sentence on
    one line with its whitespace collapsed)."""
    return " ".join(header.split())


@dataclass
class Lease:
    """One coqtop at the state right after its header (and the backend's imports); ``reused`` says
    whether it came from the pool rather than a fresh start."""

    key: str
    top: CoqTop
    header_state: int
    reused: bool


class CoqtopPool:
    """At most ``keep`` (default ``config.keep_coqtops``) idle coqtops of one backend, the least recently
    used dropped first. ``keep == 0`` keeps none: every lease starts a fresh coqtop, killed when returned.

    Coqtops run in the pool's own temporary directory (or ``config.workdir``), so the caches Coq writes
    there never land in the caller's directory.
    """

    def __init__(self, config: CoqBackendConfig, *, keep: int | None = None) -> None:
        self.config = config
        self.keep = config.keep_coqtops if keep is None else keep
        if self.keep < 0:
            raise ValueError(f"keep must be >= 0, got {self.keep}")
        self._idle: list[Lease] = []  # oldest first
        self._lock = threading.Lock()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._closed = False
        self.started = 0  # coqtops started by this pool
        self.reused = 0  # leases served by a parked coqtop

    def _cwd(self) -> str:
        if self.config.workdir is not None:
            return self.config.workdir
        with self._lock:
            if self._tmp is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="coq-session-")
            return self._tmp.name

    def take(self, theorem: Theorem) -> Lease:
        """A coqtop at ``theorem``'s header state: a parked one if any, else a fresh one.

        Raises what ``start_at_header`` raises (``InvalidTheoremError``, ``BackendUnavailableError``).
        """
        key = header_key(theorem.header)
        while (lease := self._pop(key)) is not None:
            if lease.top.alive and lease.top.state_id == lease.header_state:
                lease.reused = True
                self.reused += 1
                return lease
            lease.top.close()  # died while parked
        top, state = start_at_header(self.config, theorem, self._cwd())
        self.started += 1
        return Lease(key, top, state, reused=False)

    def give_back(self, lease: Lease) -> None:
        """Bring the lease's coqtop back to its header state and park it, or kill it when that fails,
        the pool is full or closed. Never raises for coqtop's behaviour."""
        if self._closed or self.keep == 0 or not lease.top.alive:
            lease.top.close()
            return
        try:
            reply = lease.top.command(f"BackTo {lease.header_state}.", self.config.replay_timeout)
        except ProcessError as exc:
            logger.info("coqtop %s did not go back to its header state: %s", lease.top.pid, exc)
            lease.top.close()
            return
        if reply.state_id != lease.header_state or reply.proof is not None:
            logger.info("coqtop %s is at state %d (proof %s), not %d: closed", lease.top.pid,
                        reply.state_id, reply.proof, lease.header_state)
            lease.top.close()
            return
        lease.top.kill_strays(scan=True)  # nothing a theorem's tactics started computes on while parked
        if len(children(lease.top.pid or 0)) > MAX_ZOMBIES:
            logger.info("coqtop %s holds more than %d unreaped children: closed", lease.top.pid,
                        MAX_ZOMBIES)
            lease.top.close()
            return
        evicted = self._park(lease)
        for old in evicted:
            old.top.close()

    def _pop(self, key: str) -> Lease | None:
        with self._lock:
            for index in range(len(self._idle) - 1, -1, -1):  # the most recently parked first
                if self._idle[index].key == key:
                    return self._idle.pop(index)
        return None

    def _park(self, lease: Lease) -> list[Lease]:
        """Park ``lease``; return the leases dropped to stay within ``keep`` (to be closed)."""
        with self._lock:
            if self._closed:
                return [lease]
            self._idle.append(lease)
            evicted = self._idle[: max(len(self._idle) - self.keep, 0)]
            del self._idle[: len(evicted)]
            return evicted

    @property
    def idle(self) -> int:
        """How many coqtops are parked."""
        with self._lock:
            return len(self._idle)

    def close(self) -> None:
        """Kill every parked coqtop and remove the pool's directory; later give-backs kill theirs.
        Idempotent."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            tmp, self._tmp = self._tmp, None
        for lease in idle:
            lease.top.close()
        if tmp is not None:
            tmp.cleanup()
