"""A reader that closes prover's stdout or stderr early (`prover prove ... | head -1`) changes neither the
work (the files asked for are written) nor the exit code, and no error or traceback is printed."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prover.cli.pipes import PipeGuard, closed_pipes_ignored


class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_guard_drops_what_a_closed_pipe_refuses_and_everything_after() -> None:
    guard = PipeGuard(ClosedPipe())  # no descriptor to redirect: writes are dropped all the same
    assert guard.write("policy: ...\n") == len("policy: ...\n") and guard.broken
    guard.write("more\n")
    guard.flush()


def test_a_guard_points_a_closed_pipe_at_devnull_so_that_no_later_flush_fails() -> None:
    read, write = os.pipe()
    os.close(read)
    stream = os.fdopen(write, "w", buffering=1)
    guard = PipeGuard(stream)  # type: ignore[arg-type]
    guard.write("a line\n")  # line-buffered: flushed into the closed pipe at once
    assert guard.broken
    stream.write("still buffered")
    stream.close()  # its last flush goes to os.devnull: no BrokenPipeError


def test_the_streams_are_put_back(capsys: pytest.CaptureFixture[str]) -> None:
    before = sys.stdout, sys.stderr
    with closed_pipes_ignored() as (out, err):
        assert (sys.stdout, sys.stderr) == (out, err)
        print("through the guard")
    assert (sys.stdout, sys.stderr) == before
    assert capsys.readouterr().out == "through the guard\n"


@pytest.mark.parametrize("closed", ["stdout", "stderr"])
def test_prove_with_a_closed_output_still_proves_writes_its_files_and_exits_0(closed: str,
                                                                              tmp_path: Path) -> None:
    graph = tmp_path / "graph.json"
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    other = tmp_path / "other.txt"
    with other.open("w") as kept:
        streams = ({"stdout": write, "stderr": kept} if closed == "stdout" else
                   {"stdout": kept, "stderr": write})
        done = subprocess.run([sys.executable, "-m", "prover.cli.main", "prove", "--backend", "coq",
                               "--graph-out", str(graph), "Theorem t : 1 = 1."], timeout=120, **streams)
    os.close(write)
    kept_text = other.read_text()
    assert done.returncode == 0, kept_text
    assert graph.is_file()
    assert "Traceback" not in kept_text and "Broken pipe" not in kept_text
    assert ("proved t" in kept_text) if closed == "stdout" else ("Theorem t : 1 = 1.\nProof." in kept_text)
