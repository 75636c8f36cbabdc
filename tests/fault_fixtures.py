"""Fault injection for tests and benchmarks: errors raised inside Ray workers, backends that cannot start,
and a coqtop that dies while starting. Importable by Ray workers (``tests/`` is on their path)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from search import BackendUnavailableError


def raise_error(error: BaseException) -> None:
    """A Ray task body: raise ``error`` (which crossed the process boundary as an argument)."""
    raise error


class UnavailableBackendFactory:
    """Picklable backend factory whose backend cannot start, as a worker without Coq would see it."""

    def __call__(self):
        raise BackendUnavailableError("coq", "coqtop not found ('/nonexistent/coqtop')", "install Coq")


def flaky_coqtop(folder: Path, *, die_first: int = 0, die_percent: int = 0) -> Path:
    """Write an executable that stands for coqtop: it dies (exit 137, as if killed) on its first
    ``die_first`` starts, then on ``die_percent`` % of the starts after that, before printing anything;
    otherwise it execs the real coqtop. Each start appends a line to ``starts.log`` beside it (``died`` or
    ``ran``), so tests can count what happened."""
    real = shutil.which("coqtop")
    assert real is not None, "coqtop must be installed"
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "coqtop"
    log = folder / "starts.log"
    script.write_text(f"""#!/bin/sh
log={_quote(log)}
n=$(wc -l < "$log" 2>/dev/null || echo 0)
if [ "$n" -lt {die_first} ] || [ $(od -An -N2 -tu2 /dev/urandom) -lt $((65536 * {die_percent} / 100)) ]; then
  echo died >> "$log"
  kill -9 $$
fi
echo ran >> "$log"
exec {_quote(Path(real))} "$@"
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def start_counts(folder: Path) -> tuple[int, int]:
    """(starts that died, starts that ran) of the ``flaky_coqtop`` in ``folder``."""
    log = folder / "starts.log"
    lines = log.read_text().split() if log.exists() else []
    return lines.count("died"), lines.count("ran")


def _quote(path: Path) -> str:
    return "'" + os.fspath(path).replace("'", "'\\''") + "'"
