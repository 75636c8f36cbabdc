"""Fault injection for tests and benchmarks: errors raised inside Ray workers, backends that cannot start,
and a coqtop that dies while starting. Importable by Ray workers (``tests/`` is on their path)."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from search import BackendUnavailableError


def raise_error(error: BaseException) -> None:
    """A Ray task body: raise ``error`` (which crossed the process boundary as an argument)."""
    raise error


class UnavailableBackendFactory:
    """Picklable backend factory whose backend cannot start, as a worker without Coq would see it."""

    def __call__(self):
        raise BackendUnavailableError("coq", "coqtop not found ('/nonexistent/coqtop')", "install Coq")


def flaky_coqtop(folder: Path, *, die_on: Iterable[int] = (), die_first: int = 0,
                 die_percent: int = 0) -> Path:
    """A ``flaky_program`` standing for coqtop (``CoqBackendConfig(coqtop=...)`` takes it)."""
    real = shutil.which("coqtop")
    assert real is not None, "coqtop must be installed"
    return flaky_program(folder, [real], name="coqtop", die_on=die_on, die_first=die_first,
                         die_percent=die_percent)


def flaky_program(folder: Path, argv: Sequence[str], *, name: str, die_on: Iterable[int] = (),
                  die_first: int = 0, die_percent: int = 0) -> Path:
    """Write an executable ``folder/name`` that stands for the command ``argv``. It dies (SIGKILL, as if
    killed) before doing anything on the starts numbered in ``die_on`` (1-based), on its first
    ``die_first`` starts, and on ``die_percent`` % of the others at random; otherwise it execs ``argv``
    with its own arguments appended. Each start appends ``died`` or ``ran`` to ``starts.log`` beside it
    (see ``start_counts``)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    log = folder / "starts.log"
    doomed = " ".join(str(n) for n in sorted({*die_on, *range(1, die_first + 1)})) or "0"
    command = " ".join(_quote(Path(part)) for part in argv)
    script.write_text(f"""#!/bin/sh
log={_quote(log)}
n=$(( $(cat "$log" 2>/dev/null | wc -l) + 1 ))
die=0
for k in {doomed}; do [ "$n" -eq "$k" ] && die=1; done
[ $(od -An -N2 -tu2 /dev/urandom) -lt $((65536 * {die_percent} / 100)) ] && die=1
if [ "$die" -eq 1 ]; then
  echo died >> "$log"
  kill -9 $$
fi
echo ran >> "$log"
exec {command} "$@"
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


def failing_priority(path: object) -> float:
    """A priority function (``fault_fixtures:failing_priority``) that fails on every state below the root."""
    if getattr(path, "depth", 0):
        raise KeyError("no value for this state")
    return 0.0


class FailsForOne:
    """A sweep's backend factory: opening theorem ``name`` raises ``error()`` after ``delay`` seconds, the
    others are the scripted ones of ``sweep_fixtures.BackendFactory``."""

    def __init__(self, names: dict[str, str], name: str, error: Callable[[], Exception],
                 delay: float = 0.0) -> None:
        from sweep_fixtures import BackendFactory

        self.inner = BackendFactory(names)
        self.name, self.error, self.delay = name, error, delay

    def __call__(self):  # type: ignore[no-untyped-def]
        import time

        backend = self.inner()
        open_theorem = backend.open

        def open_(theorem):  # type: ignore[no-untyped-def]
            if theorem.name == self.name:
                time.sleep(self.delay)
                raise self.error()
            return open_theorem(theorem)

        backend.open = open_
        return backend


def _vanished() -> Exception:
    from search.errors import BackendUnavailableError

    return BackendUnavailableError("coq", "coqtop vanished")


def _load_died() -> Exception:
    from search.errors import TheoremLoadError

    return TheoremLoadError("coq", "bad", "coqtop died loading the header: killed (signal 9)")


def fatal_for_one(names: dict[str, str]) -> FailsForOne:
    """Theorem ``fatal``'s backend becomes unavailable after a second."""
    return FailsForOne(names, "fatal", _vanished, delay=1.0)


def load_fails_for_one(names: dict[str, str]) -> FailsForOne:
    """Theorem ``bad`` cannot be loaded (its proof assistant dies on its header: ``TheoremLoadError``)."""
    return FailsForOne(names, "bad", _load_died)


def slow_policy():  # type: ignore[no-untyped-def]
    """A scripted policy that takes half a second per call."""
    from sweep_fixtures import SlowPolicy

    return SlowPolicy(0.5)


def dying_coqtop(folder: Path, marker: str) -> Path:
    """An executable ``folder/coqtop`` that runs the real coqtop and passes its input on, line by line,
    until a line holding ``marker`` comes: then it kills coqtop and itself (SIGKILL), as an out-of-memory
    kill would while coqtop loads that sentence. Each such death appends ``died`` to ``loads.log`` beside
    it (``start_counts``-like: ``load_deaths``)."""
    real = shutil.which("coqtop")
    assert real is not None, "coqtop must be installed"
    import sys

    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "coqtop"
    script.write_text(f"""#!{sys.executable}
import os, signal, subprocess, sys
child = subprocess.Popen([{real!r}, *sys.argv[1:]], stdin=subprocess.PIPE)
for line in iter(sys.stdin.buffer.readline, b""):
    if {marker.encode()!r} in line:
        with open({os.fspath(folder / "loads.log")!r}, "a") as log:
            log.write("died\\n")
        child.kill()
        os.kill(os.getpid(), signal.SIGKILL)
    child.stdin.write(line)
    child.stdin.flush()
child.stdin.close()
sys.exit(child.wait())
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def load_deaths(folder: Path) -> int:
    """How many times the ``dying_coqtop`` in ``folder`` died on its marker."""
    log = folder / "loads.log"
    return log.read_text().split().count("died") if log.exists() else 0


class SleepyWorker:
    """Stands for ``prover.sweep.worker.SearchWorker`` in a pool: each task takes ``setup`` seconds, then
    returns an ``unproved`` record."""

    def __init__(self, setup: float) -> None:
        self.seconds = setup

    def ping(self) -> str:
        return "sleepy"

    def run(self, task):  # type: ignore[no-untyped-def]
        import time

        time.sleep(self.seconds)
        return {"theorem": task.theorem.name, "attempt": task.attempt, "status": "unproved"}

    def close(self) -> None:
        pass
