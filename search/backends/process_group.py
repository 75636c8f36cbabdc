"""What a proof-assistant process started and left running: the other live members of its process group.

A process answers a command only once the command is done, so anything it started for that command and
that still runs when the answer came is a stray. Coq leaves such strays: when Coq's own ``Timeout`` (or a
tactic's ``timeout N``) interrupts ``psatz`` while it waits for its ``csdpcert`` helper, coqtop answers
``Timeout!`` and goes on, while ``csdpcert`` and the ``csdp`` it runs compute on in coqtop's process group,
with no deadline, as long as coqtop lives (measured: ``Timeout 1 psatz R 4`` on a 7-variable goal left them
working 20 s; a pooled coqtop lives for a whole sweep). Killing the group would kill coqtop too, so the
strays are found one by one in ``/proc`` (Linux; elsewhere nothing is found).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time

logger = logging.getLogger(__name__)


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (zombies included), from ``/proc/PID/task/*/children``."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as fh:
            found.extend(int(child) for child in fh.read().split())
    return found


def live_children(pid: int) -> list[int]:
    """The children of ``pid`` that still run (not zombies)."""
    return [child for child in children(pid) if _stat(child)[0] not in ("Z", "X", "")]


def group_members(group: int) -> list[int]:
    """The live processes (not zombies) of process group ``group``."""
    members = []
    with contextlib.suppress(OSError), os.scandir("/proc") as entries:
        for entry in entries:
            if entry.name.isdigit():
                state, pgid = _stat(int(entry.name))
                if pgid == group and state not in ("Z", "X", ""):
                    members.append(int(entry.name))
    return members


def kill_strays(leader: int, *, scan: bool = False, wait: float = 2.0) -> list[int]:
    """SIGKILL every live process of the group led by ``leader`` except ``leader``, and wait up to
    ``wait`` seconds until none runs (one forked while the others were killed is killed too); return the
    ids killed.

    Call only while ``leader`` is idle (it answered its last command). Without ``scan`` the group is
    searched only when ``leader`` has a live child (a cheap read, fit for every command; a stray whose
    parent died before it is missed); with ``scan`` always (about a millisecond)."""
    if not scan and not live_children(leader):
        return []
    killed: list[int] = []
    deadline = time.monotonic() + wait
    while strays := [pid for pid in group_members(leader) if pid != leader]:
        for pid in strays:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed.extend(pid for pid in strays if pid not in killed)
        if time.monotonic() > deadline:
            logger.warning("processes of group %d still run after SIGKILL: %s", leader, strays)
            break
        time.sleep(0.005)
    if killed:
        logger.info("killed %d process(es) left running by pid %d: %s", len(killed), leader, killed)
    return killed


def _stat(pid: int) -> tuple[str, int]:
    """``(state, process group)`` of ``pid`` from ``/proc/PID/stat``; ``("", -1)`` when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            text = fh.read()
    except OSError:
        return "", -1
    fields = text[text.rfind(b")") + 2:].split()  # the name (in parentheses) may hold spaces
    try:
        return fields[0].decode(), int(fields[2])
    except (IndexError, ValueError):
        return "", -1


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` in bytes (from ``/proc/PID/statm``); 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0
