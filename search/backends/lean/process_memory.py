"""Resident memory of a process and all its descendants (Linux ``/proc``).

``lake env repl`` runs the REPL as a child of ``lake``, so the process a ``ManagedProcess`` spawned is not
the one that grows: the memory watch must sum the whole tree. The tree is found through
``/proc/PID/task/TID/children``; where the kernel lacks that file, through the process group (the REPL is
spawned in its own session, so its group holds exactly its tree).
"""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")


def tree_rss_bytes(pid: int) -> int:
    """Sum of the resident memory of ``pid`` and its descendants; 0 when the process is gone."""
    pids = _descendants(pid)
    if pids is None:
        pids = _group_members(pid)
    return sum(_rss(p) for p in pids)


def _descendants(pid: int) -> list[int] | None:
    """``pid`` and every descendant, or ``None`` when the kernel does not expose children."""
    if not (_PROC / str(pid) / "task" / str(pid) / "children").exists():
        return None if (_PROC / str(pid)).exists() else []
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo.extend(int(child) for child in fh.read().split())
            except (OSError, ValueError):
                continue
    return found


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[2] == str(pgid):
            members.append(int(entry.name))
    return members


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0
