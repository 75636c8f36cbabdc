"""A theorem header as Coq's lexer reads it: comments removed, strings kept, split into sentences.

Benchmark headers carry comments and (in notations) string literals, so the plain splitter of
``sentences`` (which needs text free of both) cannot read them. This lexer follows Coq 8.16's own rules:

- a comment opens with ``(*`` (``(*)`` too) and nests; inside a comment, ``"`` opens a string in which
  ``*)`` closes nothing (Coq lexes strings in comments);
- a string runs from ``"`` to the next ``"`` not doubled (``""`` is an escaped quote); ``(*`` inside a
  string opens nothing;
- a sentence ends with a ``.`` outside strings followed by whitespace or the end of the text.

Each comment becomes one space. The canonical header, one sentence a line with whitespace outside strings
collapsed, is what the safety filter checks, what coqtop loads and what coqc compiles: checked text and
run text are the same string, whatever a comment hid.
"""

from __future__ import annotations

from search.errors import ProverError


class HeaderTextError(ProverError, ValueError):
    """The text is not lexable: an unterminated comment or string, or an unfinished sentence.

    ``problem`` names it without the text; ``offset`` is where the unterminated comment or string opens
    (None for sentence problems), so a reader of whole files can name the line.
    """

    def __init__(self, message: str, *, problem: str = "", offset: int | None = None) -> None:
        super().__init__(message)
        self.problem = problem or message
        self.offset = offset


def strip_comments(text: str) -> str:
    """``text`` with each comment replaced by one space; raises ``HeaderTextError`` when a comment or
    string does not end."""
    out: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith("(*", index):
            index = comment_end(text, index)
            out.append(" ")
        elif text[index] == '"':
            end = string_end(text, index)
            out.append(text[index:end])
            index = end
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def without_comments(text: str) -> str:
    """``text`` with its comments removed, read as ``strip_comments`` reads them (nested, strings kept as
    written, ``(*`` inside a string opens nothing), but tidy: a comment still separates the tokens around
    it (``a(*x*)b`` and ``a (*x*) b`` are ``a b``) and leaves no trailing blanks where it ended a line.
    For statements, whose text is shown in records and reports. Raises ``HeaderTextError`` when a
    comment or string does not end."""
    out: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith("(*", index):
            index = comment_end(text, index)
            after = text[index] if index < len(text) else "\n"
            if after in "\r\n":
                while out and out[-1] in " \t":
                    out.pop()
            elif out and out[-1] in " \t" and after in " \t":
                index += 1  # one blank on each side: keep one
            elif out and not out[-1].isspace() and not after.isspace():
                out.append(" ")
        elif text[index] == '"':
            end = string_end(text, index)
            out.extend(text[index:end])
            index = end
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def comment_end(text: str, start: int) -> int:
    """The index after the comment opening at ``start`` (nested comments and strings inside)."""
    depth = 0
    index = start
    while index < len(text):
        if text.startswith("(*", index):
            depth += 1
            index += 2
        elif text.startswith("*)", index):
            depth -= 1
            index += 2
            if depth == 0:
                return index
        elif text[index] == '"':
            index = string_end(text, index)
        else:
            index += 1
    raise HeaderTextError(f"unterminated comment starting {text[start:start + 40]!r}",
                          problem="unterminated comment", offset=start)


def string_end(text: str, start: int) -> int:
    """The index after the string literal opening at ``start`` (``""`` inside is an escaped quote)."""
    index = start + 1
    while index < len(text):
        if text[index] == '"':
            if text.startswith('""', index):
                index += 2
                continue
            return index + 1
        index += 1
    raise HeaderTextError(f"unterminated string starting {text[start:start + 40]!r}",
                          problem="unterminated string", offset=start)


def split_header(text: str) -> list[str]:
    """The sentences of a comment-free text, each ending with its ``.``, whitespace outside strings
    collapsed to single spaces (strings are kept as written). Raises ``HeaderTextError`` on an
    unfinished or empty sentence."""
    sentences: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"':
            end = string_end(text, index)
            current.append(text[index:end])
            index = end
            continue
        index += 1
        if char.isspace():
            if current and current[-1] != " ":
                current.append(" ")
            continue
        current.append(char)
        if char == "." and (index == len(text) or text[index].isspace()):
            sentence = "".join(current).strip()
            if sentence == "." or sentence.endswith(".."):
                raise HeaderTextError(f"empty sentence or ellipsis near {sentence[-40:]!r}")
            sentences.append(sentence)
            current = []
    rest = "".join(current).strip()
    if rest:
        raise HeaderTextError(f"unfinished sentence (no final '.'): {rest[:60]!r}")
    return sentences


def header_sentences(header: str) -> list[str]:
    """The header's sentences without comments (see the module docstring); raises ``HeaderTextError``."""
    return split_header(strip_comments(header))


def canonical_header(header: str) -> str:
    """The header as it is checked, loaded and compiled: one sentence a line, no comments."""
    return "\n".join(header_sentences(header))
