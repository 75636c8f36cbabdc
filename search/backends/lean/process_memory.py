"""Resident memory of a process and all its descendants (Linux ``/proc``).

``lake env repl`` runs the REPL as a child of ``lake``, so the process a ``ManagedProcess`` spawned is not
the one that grows: the memory watch must sum the whole tree. The tree is found through
``/proc/PID/task/TID/children``; where the kernel lacks that file, through the process group (the REPL is
spawned in its own session, so its group holds exactly its tree). Both reads are ``process_group``'s.
"""

from __future__ import annotations

from pathlib import Path

from search.backends.process_group import children, group_members, rss_bytes

_PROC = Path("/proc")


def tree_rss_bytes(pid: int) -> int:
    """Sum of the resident memory of ``pid`` and its descendants; 0 when the process is gone."""
    pids = _descendants(pid)
    if pids is None:
        pids = group_members(pid)
    return sum(rss_bytes(p) for p in pids)


def _descendants(pid: int) -> list[int] | None:
    """``pid`` and every descendant, or ``None`` when the kernel does not expose children."""
    if not (_PROC / str(pid) / "task" / str(pid) / "children").exists():
        return None if (_PROC / str(pid)).exists() else []
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children(current))
    return found
