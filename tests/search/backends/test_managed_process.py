"""Reading a child's answers: a terminator split over two reads is found, and a long answer read in many
chunks is searched once, not again from its start after every chunk."""

from __future__ import annotations

import re
import sys

from search.backends.process import STDOUT, ManagedProcess

WRITER = ("import sys, time\n"
          "w = sys.stdout.buffer\n"
          "w.write(b'a' * 300000 + b'\\n'); w.flush(); time.sleep(0.2)\n"  # the terminator's first half
          "w.write(b'\\nnext<end 7>\\n'); w.flush(); time.sleep(5)\n")


def test_a_terminator_split_over_two_reads_is_found() -> None:
    with ManagedProcess([sys.executable, "-c", WRITER]) as process:
        first, _ = process.read_until(STDOUT, b"\n\n", timeout=10)
        assert first == "a" * 300000 + "\n\n"
        second, _ = process.read_until(STDOUT, re.compile(rb"<end (\d+)>\n"), timeout=10)
        assert second == "next<end 7>\n"


def test_only_new_bytes_are_searched_for_a_terminator() -> None:
    buffer = bytearray(b"x" * 1000)
    assert ManagedProcess._find(buffer, b"\n\n", scanned=1000) is None
    buffer += b"\n"
    assert ManagedProcess._find(buffer, b"\n\n", scanned=1000) is None
    buffer += b"\n"
    assert ManagedProcess._find(buffer, b"\n\n", scanned=1001) == 1002  # the match spans the last read
    pattern = re.compile(rb"<p \d+>")
    assert ManagedProcess._find(bytearray(b"..<p 12>"), pattern, scanned=5) == 8


def test_a_terminator_already_read_is_found_after_a_search_for_another_timed_out() -> None:
    import pytest

    from search.backends.process import ProcessTimeout

    with ManagedProcess(["sh", "-c", "printf 'hello READY\\n'; sleep 5"]) as process:
        with pytest.raises(ProcessTimeout):
            process.read_until(STDOUT, b"DONE", timeout=0.5)
        text, _ = process.read_until(STDOUT, b"READY", timeout=2)
        assert text == "hello READY"


def test_a_child_that_says_on_stdout_why_it_died_is_quoted() -> None:
    import pytest

    from search.backends.process import ProcessDied

    with (ManagedProcess(["sh", "-c", "echo \"Don't know what to do with -bogus\"; exit 1"]) as process,
          pytest.raises(ProcessDied, match="Don't know what to do with -bogus")):
        process.read_until(STDOUT, b"<prompt>", timeout=5)
