"""Repairing an append-only JSON Lines file after a crash, before appending to it again.

Every writer here appends whole lines (a JSON value and its newline) and fsyncs them, so a kill can leave
at worst a *torn* last line: bytes after the last newline that are not a whole JSON object or array (no
proper prefix of one parses, so one that parses is whole and lacks only its newline). Appending after a
torn line would glue the next line onto it and lose both on every later read, so a writer first calls
``repair_torn_tail``:

* a missing or empty file, or one that ends with a newline, is left as it is;
* a whole last line that lacks only its newline gets it (nothing is lost);
* a torn last line is cut off (truncated at its first byte, fsynced) with a warning naming the file and
  the bytes cut;
* a complete line (one with its newline) that is not JSON cannot be a kill's doing: it is an
  ``InputError`` naming ``file:line``, and the file is left as it is (never dropped silently).

``find_torn_line`` is the same rule for a reader that must not change the file.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from prover.theorem_input import InputError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TornLine:
    """The torn last line of a file: its 1-based line number, the offset of its first byte, its bytes."""

    number: int
    start: int
    text: bytes


def find_torn_line(data: bytes) -> TornLine | None:
    """The torn last line of ``data`` (a JSON Lines file's bytes), or ``None`` when it has none: ``data``
    is empty, ends with a newline, or its last line is a whole JSON object or array without its newline."""
    if not data or data.endswith(b"\n"):
        return None
    start = data.rfind(b"\n") + 1
    if _is_whole(data[start:]):
        return None
    return TornLine(number=data.count(b"\n", 0, start) + 1, start=start, text=data[start:])


def whole_lines(data: bytes) -> bytes:
    """``data`` without its torn last line (``find_torn_line``), what a reader parses."""
    torn = find_torn_line(data)
    return data if torn is None else data[:torn.start]


def repair_torn_tail(path: Path, *, data: bytes | None = None, cut_from: int | None = None,
                     check_lines: bool = True, consequence: str = "") -> TornLine | None:
    """Make the JSON Lines file ``path`` safe to append to after a crash (see the module's rules); returns
    the torn line that was cut off, or ``None``.

    ``data``: the file's bytes when the caller has just read them (they are read otherwise; a missing file
    is empty). ``cut_from``: where the cut starts when the last line is torn, the start of a line at or
    before the torn one (a caller that drops the lines before it too); by default the torn line's start.
    ``check_lines``: raise ``InputError`` for a complete line that is not JSON; only a best-effort journal
    whose reader skips such lines passes ``False``. ``consequence``: what the cut means to the caller
    (e.g. "its lemma is searched again"), added to the warning. An ``OSError`` is an ``InputError``."""
    if data is None:
        try:
            data = path.read_bytes() if path.exists() else b""
        except OSError as exc:
            raise InputError(f"{path}: cannot read it to repair a torn last line: {exc}") from exc
    if check_lines:
        _check_complete_lines(path, data)
    torn = find_torn_line(data)
    if torn is None:
        if data and not data.endswith(b"\n"):
            _append_newline(path)
            logger.info("%s: the last line lacked only its newline: added", path)
        return None
    cut = torn.start if cut_from is None else cut_from
    if not 0 <= cut <= torn.start or (cut > 0 and data[cut - 1:cut] != b"\n"):
        raise ValueError(f"cut_from={cut_from} is not the start of a line at or before the torn line "
                         f"(line {torn.number}, byte {torn.start}) of {path}")
    _truncate(path, cut)
    logger.warning("%s:%d: cut off %d bytes from byte %d: the last line was torn (a run was killed while "
                   "writing it)%s", path, torn.number, len(data) - cut, cut,
                   f"; {consequence}" if consequence else "")
    return torn


def _is_whole(line: bytes) -> bool:
    try:
        value = json.loads(line.decode("utf-8"))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError (a kill inside a multi-byte character)
        return False
    return isinstance(value, dict | list)


def _check_complete_lines(path: Path, data: bytes) -> None:
    for number, line in enumerate(data.split(b"\n")[:-1], start=1):  # the part after the last newline
        if not line.strip():  # is the last line, torn or not
            continue
        try:
            json.loads(line.decode("utf-8"))
        except ValueError as exc:
            raise InputError(f"{path}:{number}: not a JSON line ({exc}): the file is damaged (a kill can "
                             "only tear its last line); remove or mend the line, or use another "
                             "file") from None


def _truncate(path: Path, size: int) -> None:
    try:
        with path.open("r+b") as handle:
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise InputError(f"{path}: cannot cut off its torn last line: {exc}") from exc


def _append_newline(path: Path) -> None:
    try:
        with path.open("ab") as handle:
            handle.write(b"\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise InputError(f"{path}: cannot end its last line with a newline: {exc}") from exc
