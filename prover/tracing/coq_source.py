"""Splitting a real ``.v`` file into the sentences coqtop reads, with their positions.

Unlike ``search.backends.coq.sentences`` (which sees only filtered text without comments or strings),
this reads whole developments, so it follows Coq's lexer where it matters for sentence ends:

- comments ``(* ... *)`` nest, and a string inside a comment is lexed as a string (``(* "*)" *)``);
- strings ``"..."`` escape a quote by doubling it and may hold dots, newlines and ``(*``;
- a sentence ends at a dot followed by whitespace or the end of the text, except ``..`` (as in
  ``fun x .. y``); ``...`` ends a sentence too; other dots are qualified names, numerals, projections;
- in proofs, bullets (``-``, ``+``, ``*``, repeated: ``--``) and braces (``{``, ``}``, ``2: {``,
  ``[G]: {``) are sentences without a dot.

Each sentence is sent to coqtop as one line: comments dropped and whitespace outside strings collapsed.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from prover.theorem_input import InputError
from search.backends.coq.header_text import HeaderTextError, comment_end, string_end

_SELECTOR_BRACE = re.compile(r"(?:\d+|\[\s*[A-Za-z_][\w']*\s*\])\s*:\s*\{")


class SourceError(InputError):
    """The file cannot be split: an unterminated comment, string or final sentence (with its line)."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        super().__init__(f"{file}:{line}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class SourceSentence:
    """One sentence: its text as sent to coqtop (one line, no comments), where it starts (1-based line
    and column, 0-based offset) and its kind: ``sentence``, ``bullet`` or ``brace``."""

    text: str
    offset: int
    line: int
    column: int
    kind: str = "sentence"

    @property
    def first_word(self) -> str:
        match = re.match(r"[A-Za-z_][\w']*", self.text)
        return match.group() if match else ""


def split_source(text: str, file: str = "<text>", known_dotted: Collection[str] = ()) -> list[SourceSentence]:
    """The sentences of a whole ``.v`` file, in order; raises ``SourceError``. ``known_dotted``: notation
    symbols ending in a dot that files it may load declare (``declared_dotted`` of its siblings)."""
    lines = _LineIndex(text)
    sentences: list[SourceSentence] = []
    # notation symbols that end in a dot (x .+. y): the file's own too; dots alone (``...``) never are
    dotted: set[str] = {symbol for symbol in known_dotted if symbol.strip(".")}
    i = 0
    n = len(text)
    while True:
        i = _skip_blank(text, i, file, lines)
        if i >= n:
            return sentences
        line, column = lines.position(i)
        end, kind = _sentence_end(text, i, file, lines, dotted)
        sentence = SourceSentence(_one_line(text[i:end]), i, line, column, kind)
        sentences.append(sentence)
        dotted |= _dotted_symbols(sentence.text)
        i = end


_NOTATION = re.compile(r"^(?:#\[[^\]]*\]\s*)?(?:(?:Local|Global)\s+)?(?:Reserved\s+)?(?:Notation|Infix)\s+\"")


# what precedes a notation's string in a ``Notation``/``Infix`` sentence (comments and strings removed)
_DECLARES = re.compile(r"(?:^|[^\w'.])(?:Notation|Infix)\s*$")


def corpus_dotted(texts: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """The dotted notation symbols each corpus declares, from its files' ``(corpus, text)``: a file is split
    with every symbol its corpus declares (``declared_dotted``), as its trace split it."""
    dotted: dict[str, set[str]] = {}
    for source, text in texts:
        dotted.setdefault(source, set()).update(declared_dotted(text))
    return dotted


def declared_dotted(text: str) -> set[str]:
    """The notation symbols ending in a dot that a file's ``Notation``/``Infix`` sentences declare: what a
    file that loads it must not end a sentence at. Read as Coq's lexer reads the file: a notation in a
    comment (ssreflect.v's examples) or a string declares nothing, and dots alone (``..``, ``...``) are
    never symbols. Unlexable text (an unterminated comment) ends the scan: its trace reports the file."""
    symbols: set[str] = set()
    before = ""  # the end of the text before the current string, comments and strings left out
    index = 0
    while (found := _COMMENT_OR_STRING.search(text, index)) is not None:
        before = (before + text[index:found.start()])[-200:]
        try:
            if found.group() == "(*":
                index = comment_end(text, found.start())
                before += " "
                continue
            index = string_end(text, found.start())
        except HeaderTextError:
            return symbols
        if _DECLARES.search(before):
            symbols |= _symbols_of(text[found.start() + 1:index - 1])
        before += '""'
    return symbols


_COMMENT_OR_STRING = re.compile(r'\(\*|"')


def _symbols_of(notation: str) -> set[str]:
    """The words of a notation's string that end in a dot and are not dots alone (``x .+. y`` ->
    ``.+.``): Coq's lexer reads each whole, so its dot followed by a space ends no sentence."""
    return {symbol for word in notation.split()
            if (symbol := word.strip("'")).endswith(".") and symbol.strip(".")}


def _dotted_symbols(sentence: str) -> set[str]:
    """The symbols a ``Notation``/``Infix`` sentence declares that end in a dot (``_symbols_of``)."""
    if not _NOTATION.match(sentence):
        return set()
    string = sentence[sentence.index('"') + 1:]
    return _symbols_of(string[: string.find('"')] if '"' in string else string)


def inner_ends(text: str) -> bool:
    """Whether a sentence's one-line text (``SourceSentence.text``) holds a dot followed by a blank before
    its end, outside strings: where coqtop would end a sentence unless a notation symbol ending in a dot
    stands there (``a .+. b``). If no such notation is in scope, coqtop reads the line as two sentences."""
    index = 0
    end = len(text.rstrip())
    while index < end:
        if text[index] == '"':
            try:
                index = string_end(text, index)
            except HeaderTextError:
                return False
        elif text[index] == ".":
            run = index
            while index < end and text[index] == ".":
                index += 1
            if index < end and text[index].isspace() and index - run != 2:
                return True
        else:
            index += 1
    return False


def _sentence_end(text: str, start: int, file: str, lines: _LineIndex,
                  dotted: Collection[str] = ()) -> tuple[int, str]:
    char = text[start]
    if char in "-+*":
        end = start
        while end < len(text) and text[end] == char:
            end += 1
        return end, "bullet"
    if char in "{}":
        return start + 1, "brace"
    selector = _SELECTOR_BRACE.match(text, start)
    if selector is not None:
        return selector.end(), "brace"
    i = start
    n = len(text)
    while i < n:
        if text.startswith("(*", i):
            i = _skip_comment(text, i, file, lines)
        elif text[i] == '"':
            i = _skip_string(text, i, file, lines)
        elif text[i] == ".":
            j = i
            while j < n and text[j] == ".":
                j += 1
            if (j == n or text[j].isspace()) and j - i != 2 and not _ends_symbol(text, j, dotted):
                return j, "sentence"
            i = j
        else:
            i += 1
    raise SourceError(file, lines.position(start)[0], "unfinished sentence (no final '.') at end of file")


def _ends_symbol(text: str, end: int, dotted: Collection[str]) -> bool:
    """Whether ``text[:end]`` ends with one of ``dotted`` standing as a token (after a blank)."""
    return any(text.endswith(symbol, 0, end) and (end == len(symbol) or text[end - len(symbol) - 1].isspace())
               for symbol in dotted)


def _skip_blank(text: str, i: int, file: str, lines: _LineIndex) -> int:
    """Skip whitespace and comments."""
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith("(*", i):
            i = _skip_comment(text, i, file, lines)
        else:
            break
    return i


def _skip_comment(text: str, start: int, file: str, lines: _LineIndex) -> int:
    """The offset just past the comment opening at ``start`` (Coq's lexer: ``header_text``)."""
    try:
        return comment_end(text, start)
    except HeaderTextError as exc:
        raise _source_error(exc, file, lines) from exc


def _skip_string(text: str, start: int, file: str, lines: _LineIndex) -> int:
    """The offset just past the string opening at ``start`` (``""`` inside is an escaped quote)."""
    try:
        return string_end(text, start)
    except HeaderTextError as exc:
        raise _source_error(exc, file, lines) from exc


def _source_error(exc: HeaderTextError, file: str, lines: _LineIndex) -> SourceError:
    """The lexer's error at the line where the unterminated comment or string opens."""
    return SourceError(file, lines.position(exc.offset or 0)[0], exc.problem)


def _one_line(raw: str) -> str:
    """The sentence without comments, whitespace outside strings collapsed to single spaces (``raw`` was
    lexed whole by ``_sentence_end``, so its comments and strings end)."""
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        if raw.startswith("(*", i) or raw[i].isspace():
            i = i + 1 if raw[i].isspace() else comment_end(raw, i)
            if out and out[-1] != " ":
                out.append(" ")
        elif raw[i] == '"':
            end = string_end(raw, i)
            out.append(raw[i:end])
            i = end
        else:
            out.append(raw[i])
            i += 1
    return "".join(out).strip()


class _LineIndex:
    """Offsets to 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1
