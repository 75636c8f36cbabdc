"""Reading the theorem a user asks to prove: statement text, a source file, or a benchmark row.

Every failure is an ``InputError`` that names the file, line and theorem concerned.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search import DojoLocator, Theorem
from search.backends.coq.header_text import HeaderTextError, comment_end, string_end, without_comments
from search.errors import ProverError

LEAN_DECL = re.compile(r"^\s*(?:@\[[^\]]*\]\s*)?(?:private\s+|protected\s+)?(theorem|lemma|example)\b"
                       r"\s*([^\s:({\[]*)", re.MULTILINE)
COQ_KEYWORDS = ("Theorem", "Lemma", "Example", "Fact", "Remark", "Proposition", "Corollary")
COQ_DECL = re.compile(r"^\s*(" + "|".join(COQ_KEYWORDS) + r")\s+([\w']+)", re.MULTILINE)
_TERMINATOR = re.compile(r"\.(?=\s|$)")
TRAILING_SORRY = re.compile(r"\s*(?:by\s+sorry|sorry)\s*$")


class InputError(ProverError, ValueError):
    """What the user gave (a theorem, a file, an option) cannot be used; the message says where and why."""


def read_text(path: Path) -> str:
    """The whole UTF-8 text of a user's file. Raises ``InputError`` when it cannot be read, or is not
    UTF-8 (a binary file): the message names the line and column of the first bad byte."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")  # a leading byte-order mark is not text (coqc skips it too)
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at column "
                         f"{exc.start - line_start + 1}); is it a binary file? Save it as UTF-8") from None


def text_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, line)`` of every line of ``path`` (1-based, no line break), read by ``read_text``."""
    return [(number, line.removesuffix("\r"))
            for number, line in enumerate(read_text(path).split("\n"), start=1)]


def lean_theorem_from_text(text: str, header: str = "") -> Theorem:
    """A Lean theorem from its declaration text; a trailing ``by sorry`` or missing ``:=`` is fixed."""
    match = LEAN_DECL.search(text)
    if match is None:
        coq = " (it reads as Coq: add --backend coq)" if COQ_DECL.match(text) else ""
        raise InputError("the statement must start with `theorem NAME`, `lemma NAME` or `example`: "
                         f"got {text.strip()[:80]!r}{coq}")
    name = match.group(2) or "example"
    statement = TRAILING_SORRY.sub("", text.strip())
    if re.search(r":=\s*(?:by(?:\s|$)|rfl\s*$)", statement):
        raise InputError(f"the statement of {name!r} comes with a proof after `:=`: give the statement only, "
                         "ending with `:=` (or nothing); the search writes the proof")
    if not statement.endswith(":="):
        statement += " :="
    return Theorem(name=name, statement=statement, header=header)


def coq_theorem_from_text(text: str, header: str = "") -> Theorem:
    """A Coq theorem from its ``Theorem NAME : ... .`` sentence."""
    match = COQ_DECL.search(text)
    if match is None:
        raise InputError("a Coq statement must start with `Theorem NAME :` (or Lemma, Example, ...): "
                         f"got {text.strip()[:80]!r}")
    statement = coq_statement(text, f"the statement of {match.group(2)!r}")
    if not statement.endswith("."):
        statement += "."
    return Theorem(name=match.group(2), statement=statement, header=header)


def coq_statement(text: str, where: str) -> str:
    """A Coq statement as it is read: without its comments (``header_text.without_comments``: nested
    comments, strings kept as written), stripped. The text the safety filter checks is then the text Coq
    runs and records show, and statements that explain a hypothesis in a comment (miniF2F-rocq's
    ``amc12b_2020_p5``, ``imo_1977_p5``) are accepted. Raises ``InputError`` naming ``where`` for a
    comment or string that does not end."""
    try:
        return without_comments(text).strip()
    except HeaderTextError as exc:
        raise InputError(f"{where}: {exc}") from None


def theorem_from_text(text: str, header: str, assistant: str) -> Theorem:
    if assistant == "coq":
        return coq_theorem_from_text(text, header)
    return lean_theorem_from_text(text, header)


def require_file(path: Path, what: str = "") -> None:
    """Raise ``InputError`` unless ``path`` is a file, saying what it is instead (``what`` names the
    option that gave it)."""
    if path.is_file():
        return
    label = f"{what} {path}" if what else str(path)
    if path.is_dir():
        raise InputError(f"{label}: is a folder, not a file")
    if path.exists():
        raise InputError(f"{label}: not a regular file")
    raise InputError(f"{label}: no such file")


def theorem_from_file(path: Path, name: str | None = None, assistant: str | None = None) -> Theorem:
    """Find theorem ``name`` in a ``.jsonl`` benchmark, a ``.lean`` file or a ``.v`` file; a ``.v`` file
    needs no name when it holds one theorem named like the file (the miniF2F-rocq layout). A ``.jsonl``
    row is read for ``assistant`` (``theorem_from_row``)."""
    require_file(path)
    if path.suffix == ".v":
        theorem = coq_theorem_from_file(path, name, hint="give --name")
        _refuse_earlier_theorems(theorem, str(path))
        return theorem
    if name is None:
        raise InputError(f"{path}: give the theorem's name (--name)")
    if path.suffix == ".jsonl":
        return theorem_from_jsonl(path, name, assistant)
    text = read_text(path)
    if path.suffix == ".lean":
        return _theorem_from_source(path, text, name, LEAN_DECL, _lean_statement_end)
    raise InputError(f"{path}: unknown file type {path.suffix!r} (expected .lean, .v or .jsonl)")


def _refuse_earlier_theorems(theorem: Theorem, where: str) -> None:
    """Raise ``InputError`` when the header a ``.v`` file gives ``theorem`` states a theorem: the backend's
    header check refuses it (its proof would run unchecked), with a message that does not say why."""
    code = code_only(theorem.header)
    earlier = re.search(rf"(?<![\w'.])(?:{'|'.join(COQ_KEYWORDS)})\s+([^\W\d][\w']*)", code)
    if earlier is not None:
        line = code.count("\n", 0, earlier.start()) + 1
        raise InputError(f"{where}: {theorem.name!r} comes after {earlier.group(1)!r} (line {line}): the "
                         "text before a theorem is its header, and a header may not prove theorems; "
                         f"prove the file's first theorem, or give {theorem.name!r} a file (or --header) of "
                         "its own")


RENAME_HINT = ("rename the file after its theorem, or the theorem after the file (each .v file of a folder "
               "holds one theorem named like the file)")


def coq_theorem_from_file(path: Path, name: str | None = None, *, hint: str = RENAME_HINT) -> Theorem:
    """The theorem ``name`` (default: the file's stem) of a Coq file: the header is everything before
    ``Theorem NAME`` (or ``Lemma`` ...), the statement that sentence; whatever follows (``Proof.``,
    ``Admitted.``, a proof, nothing) is ignored, and the statement's comments are removed
    (``coq_statement``). Raises ``InputError`` naming the file; when the file holds other theorems, the
    error names them and ends with ``hint``, what the command's user can do (the default fits a folder of
    files, as a sweep reads: rename; ``prove`` says ``give --name``)."""
    return coq_theorem_from_source(read_text(path), name or path.stem, str(path), hint=hint)


def coq_theorem_from_source(text: str, name: str, where: str, *, hint: str = "give --name") -> Theorem:
    """The theorem ``name`` in Coq source ``text`` (see ``coq_theorem_from_file``); ``where`` names the
    source in errors, ``hint`` what to do when the source holds other theorems. Comments and strings are
    skipped when looking for the declaration and its end."""
    code = code_only(text)
    decl = re.compile(rf"(?<![\w'.])(?:{'|'.join(COQ_KEYWORDS)})\s+{re.escape(name)}(?![\w'])")
    match = decl.search(code)
    if match is None:
        others = re.findall(rf"(?<![\w'.])(?:{'|'.join(COQ_KEYWORDS)})\s+([^\W\d][\w']*)", code)
        found = f"; it holds {', '.join(map(repr, others[:5]))}: {hint}" if others else ""
        raise InputError(f"{where}: no theorem named {name!r} (expected `Theorem {name}` or "
                         f"`Lemma {name}` outside comments){found}")
    line = text.count("\n", 0, match.start()) + 1
    end = _TERMINATOR.search(code, match.end())
    if end is None:
        coq_statement(text[match.start():], f"{where}:{line} ({name})")  # names an unclosed comment
        raise InputError(f"{where}:{line}: the statement of {name!r} has no final '.'")
    statement = coq_statement(text[match.start():end.end()], f"{where}:{line} ({name})")
    try:
        return Theorem(name=name, statement=statement, header=text[:match.start()].rstrip() + "\n")
    except ValueError as exc:
        raise InputError(f"{where}:{line}: {exc}") from exc


def code_only(text: str) -> str:
    """``text`` with Coq comments (nested, with the strings inside them read as strings, as Coq's lexer
    reads them) and string literals blanked out, character for character, so that positions in the result
    are positions in ``text``. An unclosed comment or string blanks the rest."""
    out = list(text)
    i = 0
    while i < len(text):
        if text.startswith("(*", i) or text[i] == '"':
            try:
                end = comment_end(text, i) if text[i] == "(" else string_end(text, i)
            except HeaderTextError:
                end = len(text)
            out[i:end] = ("\n" if char == "\n" else " " for char in text[i:end])
            i = end
        else:
            i += 1
    return "".join(out)


def theorem_from_row(row: dict[str, Any], where: str, assistant: str | None = None) -> Theorem:
    """A theorem from one benchmark row (the format of ../shared/benchmarks). For ``assistant`` "coq" the
    statement's comments are removed (``coq_statement``); otherwise it is kept as written."""
    missing = [key for key in ("name", "statement") if key not in row]
    if missing:
        raise InputError(f"{where}: the row lacks {', '.join(missing)}")
    wrong = [f"{key} is {type(row[key]).__name__}" for key in ("name", "statement")
             if not isinstance(row[key], str)]
    if wrong:
        raise InputError(f"{where}: the row's name and statement must be text, but its {' and '.join(wrong)}")
    statement = row["statement"]
    if assistant == "coq":
        statement = coq_statement(statement, f"{where} ({row['name']})")
    locator = None
    if all(isinstance(row.get(k), str) for k in ("repo_url", "commit", "file_path", "full_name")):
        locator = DojoLocator(row["repo_url"], row["commit"], row["file_path"], row["full_name"])
    try:
        return Theorem(name=row["name"], statement=statement, header=row.get("header") or "",
                       locator=locator)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from exc


def jsonl_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a benchmark ``.jsonl`` file with their 1-based line numbers (blank lines skipped).
    Raises ``InputError`` naming the file and line of the first line that is not a JSON object: ``prove
    --file`` and ``sweep`` read files through this, so a broken line is the same error for both."""
    rows = []
    for number, line in text_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise InputError(f"{path}:{number}: a row must be a JSON object")
        rows.append((number, row))
    return rows


# Row fields that mark a statement known not to elaborate, with the reason (../shared/benchmarks/README.md).
INVALID_FIELDS = ("coq_8_16",)


@dataclass(frozen=True)
class BenchmarkItem:
    """One theorem of a benchmark: its split, the 1-based line of its row (1 for a folder's ``.v`` file)
    and why its statement is known not to elaborate (reported, never run)."""

    theorem: Theorem
    split: str
    line: int
    invalid: str | None = None


def benchmark_rows(path: Path, assistant: str | None = None) -> list[BenchmarkItem]:
    """Every row of the JSONL benchmark ``path``, read for ``assistant`` (``theorem_from_row``): the rules a
    sweep and ``prove --file`` share. Raises ``InputError`` naming the file and line of a broken line, a
    bad row or a repeated name."""
    rows: list[BenchmarkItem] = []
    seen: dict[str, int] = {}
    for number, row in jsonl_rows(path):
        where = f"{path}:{number}"
        theorem = theorem_from_row(row, where, assistant)
        if theorem.name in seen:
            raise InputError(f"{where}: theorem {theorem.name!r} already on line {seen[theorem.name]}")
        seen[theorem.name] = number
        invalid = next((f"{key}: {row[key]}" for key in INVALID_FIELDS if row.get(key)), None)
        rows.append(BenchmarkItem(theorem, str(row.get("split", "")), number, invalid))
    return rows


def theorem_from_jsonl(path: Path, name: str, assistant: str | None = None) -> Theorem:
    """Theorem ``name`` of a benchmark file, read for ``assistant``. The whole file is read as a sweep reads
    it (``benchmark_rows``), so a broken line, a row without a statement or a repeated name anywhere in it
    is an error here as there, and a row its benchmark marks as not elaborating (``coq_8_16``) is refused
    with that reason."""
    rows = benchmark_rows(path, assistant)
    found = [row for row in rows if row.theorem.name == name]
    if not found:
        close = difflib.get_close_matches(name, [row.theorem.name for row in rows], n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        if not rows:
            hint = " (the file holds no rows)"
        raise InputError(f"{path}: no row named {name!r}{hint}")
    row = found[0]
    if row.invalid is not None:
        raise InputError(f"{path}:{row.line}: {name!r} is marked as not elaborating by its benchmark "
                         f"({row.invalid})")
    return row.theorem


def _theorem_from_source(path: Path, text: str, name: str, decl: re.Pattern[str],
                         end_of: Callable[[str, int], int | None]) -> Theorem:
    for match in decl.finditer(text):
        if match.group(2) != name:
            continue
        start = match.start() + len(match.group(0)) - len(match.group(0).lstrip())
        end = end_of(text, match.end())
        line = text.count("\n", 0, start) + 1
        if end is None:
            raise InputError(f"{path}:{line}: cannot find where the statement of {name!r} ends")
        try:
            return Theorem(name=name, statement=text[start:end].strip(), header=text[:start].rstrip() + "\n")
        except ValueError as exc:
            raise InputError(f"{path}:{line}: {exc}") from exc
    raise InputError(f"{path}: no theorem named {name!r}")


def _lean_statement_end(text: str, start: int) -> int | None:
    """The end of the top-level ``:=`` that starts the proof (brackets must be balanced before it)."""
    depth = 0
    i = start
    while i < len(text) - 1:
        ch = text[i]
        if ch in "([{⟨":
            depth += 1
        elif ch in ")]}⟩":
            depth -= 1
        elif ch == ":" and text[i + 1] == "=" and depth == 0:
            return i + 2
        i += 1
    return None
