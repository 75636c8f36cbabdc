"""Writing report and metadata files atomically: a reader (or a rerun after ``kill -9``) sees the old file
or the new one, never a torn mix.

The content goes to a temporary file in the same directory (same file system, so the rename is atomic),
is flushed and fsynced, then ``os.replace``s the target; the directory is fsynced so the rename survives a
power cut. A failure before the rename removes the temporary file and leaves the target as it was. Append-only
journals (a sweep's ``results.jsonl``) do not use this: they append and fsync each record instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A fresh temporary path beside ``path`` (same suffix, so tools that infer the format from it
    work) to write to; when the block ends without an error it replaces ``path``. The caller writes and
    closes the file inside the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _fresh_file(path)
    try:
        yield temporary
        _fsync(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any, *, indent: int | None = 2) -> None:
    """Write ``data`` as JSON (UTF-8, non-ASCII kept, a final newline) to ``path`` atomically."""
    write_text_atomic(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def _fresh_file(path: Path) -> Path:
    """A new empty file beside ``path``, created with the mode the umask gives (as ``open`` would give
    ``path`` itself; ``tempfile.mkstemp``'s 0600 would make a sweep's report unreadable to others)."""
    while True:
        temporary = path.parent / f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}"
        try:
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return temporary



def save_figure(fig: Any, path: Path) -> None:
    """Write a matplotlib figure to ``path`` atomically (a reader never sees half a PNG) and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as temporary:
        fig.savefig(temporary, dpi=100)
    plt.close(fig)

def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directory(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be fsynced
        _fsync(folder)
