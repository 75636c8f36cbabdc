"""Repairing a JSON Lines file whose last line a kill tore, before appending to it again."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from prover.jsonl_repair import TornLine, find_torn_line, repair_torn_tail
from prover.theorem_input import InputError

WHOLE = b'{"theorem": "a", "attempt": 1}\n{"theorem": "b", "attempt": 1}\n'


def test_a_torn_last_line_is_cut_off_and_the_cut_logged(tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "results.jsonl"
    path.write_bytes(WHOLE + b'{"theorem": "c", "att')
    with caplog.at_level(logging.WARNING):
        torn = repair_torn_tail(path, consequence="its attempt is run again")
    assert torn == TornLine(number=3, start=len(WHOLE), text=b'{"theorem": "c", "att')
    assert path.read_bytes() == WHOLE
    assert f"{path}:3: cut off 21 bytes from byte {len(WHOLE)}" in caplog.text
    assert "its attempt is run again" in caplog.text
    with path.open("ab") as handle:  # the next append starts a line of its own
        handle.write(b'{"theorem": "c", "attempt": 1}\n')
    assert [json.loads(line)["theorem"] for line in path.read_bytes().splitlines()] == ["a", "b", "c"]


def test_a_line_cut_inside_a_multibyte_character_is_torn(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    line = '{"goal": "n ≤ m"}'.encode()
    path.write_bytes(WHOLE + line[:line.index("≤".encode()) + 1])  # ends inside "≤"
    assert repair_torn_tail(path) is not None and path.read_bytes() == WHOLE


def test_an_intact_file_is_left_untouched(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "results.jsonl"
    path.write_bytes(WHOLE + b"\n")  # a blank line is no damage
    before = path.stat().st_mtime_ns
    with caplog.at_level(logging.INFO):
        assert repair_torn_tail(path) is None
    assert path.read_bytes() == WHOLE + b"\n" and path.stat().st_mtime_ns == before
    assert caplog.text == ""


def test_an_empty_or_missing_file_is_left_as_it_is(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert repair_torn_tail(empty) is None and empty.read_bytes() == b""
    assert repair_torn_tail(tmp_path / "absent.jsonl") is None
    assert not (tmp_path / "absent.jsonl").exists()


def test_a_file_without_any_newline_is_cut_to_nothing_when_torn(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"theorem": "a", "att')
    assert repair_torn_tail(path) == TornLine(number=1, start=0, text=b'{"theorem": "a", "att')
    assert path.read_bytes() == b""


@pytest.mark.parametrize("last", [b'{"theorem": "a", "attempt": 1}', b"[1, 2]"])
def test_a_whole_last_line_missing_only_its_newline_keeps_it_and_gets_one(tmp_path: Path,
                                                                          last: bytes) -> None:
    path = tmp_path / "results.jsonl"
    path.write_bytes(last)  # also a file without any newline
    assert repair_torn_tail(path) is None
    assert path.read_bytes() == last + b"\n"


def test_a_number_prefix_is_not_taken_for_a_whole_line() -> None:
    """``12`` parses, but it may be the start of ``123``: only an object or array is known to be whole."""
    assert find_torn_line(b"{}\n12") == TornLine(number=2, start=3, text=b"12")
    assert find_torn_line(b"{}\n{}") is None and find_torn_line(b"{}\n") is None
    assert find_torn_line(b"") is None


@pytest.mark.parametrize(("text", "where"), [
    (WHOLE + b"{not json\n" + WHOLE, ":3: not a JSON line"),
    (b"{not json\n" + b'{"theorem": "c", "att', ":1: not a JSON line"),  # damaged, then torn: nothing cut
    (WHOLE + b'{"theorem": "\xe2\x84"}\n', ":3: not a JSON line"),  # not UTF-8
    (WHOLE + b"{not json\n", ":3: not a JSON line"),  # the last line, with its newline: no kill's doing
])
def test_a_damaged_complete_line_is_an_error_naming_it(tmp_path: Path, text: bytes, where: str) -> None:
    path = tmp_path / "results.jsonl"
    path.write_bytes(text)
    with pytest.raises(InputError, match=f"^{path}{where}"):
        repair_torn_tail(path)
    assert path.read_bytes() == text  # nothing dropped


def test_a_best_effort_journal_may_keep_its_damaged_lines(tmp_path: Path) -> None:
    path = tmp_path / "proof_cache.jsonl"
    path.write_bytes(b"{not json\n" + WHOLE + b'{"ke')
    assert repair_torn_tail(path, check_lines=False) is not None
    assert path.read_bytes() == b"{not json\n" + WHOLE


def test_a_caller_may_cut_from_an_earlier_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "results.jsonl"
    data = WHOLE + b'{"theorem": "c", "att'
    path.write_bytes(data)
    first = WHOLE.index(b"\n") + 1
    with caplog.at_level(logging.WARNING):
        repair_torn_tail(path, data=data, cut_from=first)  # with the batch of line 2
    assert path.read_bytes() == WHOLE[:first]
    assert f"cut off {len(data) - first} bytes from byte {first}" in caplog.text
    path.write_bytes(data)
    for wrong in (first + 1, len(WHOLE) + 1, -1):  # not a line start, past the torn line, negative
        with pytest.raises(ValueError, match="cut_from"):
            repair_torn_tail(path, data=data, cut_from=wrong)
    assert path.read_bytes() == data


def test_a_file_that_cannot_be_cut_or_read_is_an_input_error(tmp_path: Path) -> None:
    folder = tmp_path / "results.jsonl"  # a folder where the file should be: fails even for root
    folder.mkdir()
    with pytest.raises(InputError, match="cannot read it"):
        repair_torn_tail(folder)
    with pytest.raises(InputError, match="cannot cut off its torn last line"):
        repair_torn_tail(folder, data=WHOLE + b'{"a')
    with pytest.raises(InputError, match="cannot end its last line with a newline"):
        repair_torn_tail(folder, data=b"{}")
