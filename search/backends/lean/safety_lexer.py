"""A small Lean 4 lexer for the safety filters: tokens with positions, comments and strings removed.

The safety checks match forbidden words on *tokens*, not substrings, so that ``h_sorry_free`` passes while
``sorry`` does not, and a word inside a comment or a string literal is not mistaken for code. The lexer is
deliberately conservative: text it cannot read the way Lean would (an unterminated comment, string or
``«name»``) is an error, never silently accepted.

What it knows of Lean's lexical syntax: ``--`` line comments, nested ``/- -/`` block comments, string
literals with escapes, raw strings ``r"…"`` / ``r#"…"#``, character literals, ``«escaped»`` identifiers,
dotted identifiers (``Nat.succ_le``; ``!``, ``?``, ``'`` and subscripts allowed inside), ``#command`` words,
name literals and syntax quotations (backquote), numbers and single-character symbols (``:=`` and ``@[``
kept whole).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from search.errors import ProverError


class Kind(Enum):
    """What a token is; comments produce no token at all."""

    IDENT = "ident"  # identifiers and keywords (Lean keywords are identifier-shaped)
    HASH = "hash"  # `#word`: a command such as `#eval`, or Mathlib's `#s` cardinality notation
    SYMBOL = "symbol"
    NUMBER = "number"
    STRING = "string"  # the text is the literal as written
    INTERPOLATED = "interpolated"  # a string after `s!`, `m!`, `f!`... (spaces allowed): it holds code
    CHAR = "char"
    NAME = "name"  # `` `foo `` name literal
    QUOTATION = "quotation"  # `` `( `` syntax quotation: metaprogramming


@dataclass(frozen=True)
class Token:
    """One token; ``offset`` indexes the text, ``line`` is 0-based, ``col`` counts characters from the start
    of that line."""

    kind: Kind
    text: str
    line: int
    col: int
    offset: int


class LexError(ProverError, ValueError):
    """The text cannot be tokenised safely; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_NOT_LETTERS = frozenset("λΠΣ")  # Greek letters that are Lean tokens, not identifier characters
_ID_PUNCT = frozenset("_'!?")
_CHAR_LITERAL = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'")
_NUMBER = re.compile(r"[0-9][0-9a-zA-Z_]*(?:\.[0-9][0-9a-zA-Z_]*)?")
_RAW_STRING = re.compile(r'r(#*)"')
_TWO_CHAR_SYMBOLS = (":=", "@[", "#[")

OPENERS = {"(": ")", "[": "]", "{": "}", "⟨": "⟩", "⦃": "⦄", "⟦": "⟧", "@[": "]", "#[": "]"}
CLOSERS = frozenset(OPENERS.values())


def is_id_start(char: str) -> bool:
    """Whether ``char`` may begin a Lean identifier."""
    return (char.isalpha() or char == "_") and char not in _NOT_LETTERS


def is_id_rest(char: str) -> bool:
    """Whether ``char`` may continue a Lean identifier (letters, digits, ``_'!?``, subscripts)."""
    if char in _ID_PUNCT or ("0" <= char <= "9"):
        return True
    code = ord(char)
    if 0x2080 <= code <= 0x209C or 0x1D62 <= code <= 0x1D6A or char == "ⱼ":
        return True
    return char.isalpha() and char not in _NOT_LETTERS


class _Scanner:
    """Walks the text once, producing tokens; positions are tracked for the indentation rules."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []
        self.line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]

    def where(self, pos: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, pos) - 1
        return line, pos - self.line_starts[line]

    def emit(self, kind: Kind, start: int, end: int) -> None:
        line, col = self.where(start)
        self.tokens.append(Token(kind, self.text[start:end], line, col, start))
        self.pos = end

    def run(self) -> list[Token]:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char.isspace():
                self.pos += 1
            elif text.startswith("--", self.pos):
                newline = text.find("\n", self.pos)
                self.pos = len(text) if newline < 0 else newline
            elif text.startswith("/-", self.pos):
                self.pos = self.block_comment_end(self.pos)
            else:
                self.token()
        return self.tokens

    def block_comment_end(self, start: int) -> int:
        """Index just past the (nested) block comment that opens at ``start``."""
        depth, pos = 0, start
        while pos < len(self.text):
            if self.text.startswith("/-", pos):
                depth, pos = depth + 1, pos + 2
            elif self.text.startswith("-/", pos):
                depth, pos = depth - 1, pos + 2
                if depth == 0:
                    return pos
            else:
                pos += 1
        raise LexError("unterminated block comment (`/-` without `-/`)")

    def token(self) -> None:
        text, start = self.text, self.pos
        char = text[start]
        raw = _RAW_STRING.match(text, start)
        if raw:
            close = '"' + raw.group(1)
            end = text.find(close, raw.end())
            if end < 0:
                raise LexError("unterminated raw string literal")
            self.emit(Kind.STRING, start, end + len(close))
        elif is_id_start(char) or char == "«":
            self.emit(Kind.IDENT, start, self.identifier_end(start))
        elif char == '"':
            self.emit(Kind.INTERPOLATED if self.after_bang() else Kind.STRING, start, self.string_end(start))
        elif char == "'" and not (start > 0 and is_id_rest(text[start - 1])):
            match = _CHAR_LITERAL.match(text, start)
            self.emit(Kind.CHAR if match else Kind.SYMBOL, start, match.end() if match else start + 1)
        elif char == "#" and start + 1 < len(text) and (is_id_start(text[start + 1])):
            self.emit(Kind.HASH, start, self.identifier_end(start + 1))
        elif char == "`":
            self.backquote(start)
        elif "0" <= char <= "9":
            match = _NUMBER.match(text, start)
            assert match is not None
            self.emit(Kind.NUMBER, start, match.end())
        else:
            width = 2 if text.startswith(_TWO_CHAR_SYMBOLS, start) else 1
            self.emit(Kind.SYMBOL, start, start + width)

    def after_bang(self) -> bool:
        """Whether a string starting here is interpolated: it follows ``s!``, ``m!``, ``f!`` or any other
        word ending in ``!``, with or without spaces or comments between (Lean reads both alike)."""
        if self.pos > 0 and self.text[self.pos - 1] == "!":
            return True
        last = self.tokens[-1] if self.tokens else None
        return last is not None and last.kind is Kind.IDENT and last.text.endswith("!")

    def identifier_end(self, start: int) -> int:
        """End of a (possibly dotted, possibly «escaped») identifier starting at ``start``."""
        text, pos = self.text, start
        while True:
            if pos < len(text) and text[pos] == "«":
                close = text.find("»", pos)
                if close < 0:
                    raise LexError("unterminated `«` identifier")
                pos = close + 1
            else:
                while pos < len(text) and is_id_rest(text[pos]):
                    pos += 1
            more = pos + 1 < len(text) and text[pos] == "."
            if not (more and (is_id_start(text[pos + 1]) or text[pos + 1] == "«")):
                return pos
            pos += 1

    def string_end(self, start: int) -> int:
        """Index just past the string literal whose opening quote is at ``start``."""
        pos = start + 1
        while pos < len(self.text):
            char = self.text[pos]
            if char == "\\":
                pos += 2
            elif char == '"':
                return pos + 1
            else:
                pos += 1
        raise LexError("unterminated string literal")

    def backquote(self, start: int) -> None:
        text = self.text
        if text.startswith("`(", start) or text.startswith("``(", start):
            self.emit(Kind.QUOTATION, start, start + (2 if text[start + 1] == "(" else 3))
            return
        pos = start + 1 + (1 if text.startswith("``", start) else 0)
        if pos < len(text) and (is_id_start(text[pos]) or text[pos] == "«"):
            self.emit(Kind.NAME, start, self.identifier_end(pos))
        else:
            self.emit(Kind.SYMBOL, start, start + 1)


def lex(text: str) -> list[Token]:
    """Tokenise Lean source text; raises ``LexError`` when it cannot be read safely."""
    return _Scanner(text).run()


def unescape(identifier: str) -> str:
    """``«sorry»`` -> ``sorry``: the name an escaped identifier stands for."""
    return identifier.replace("«", "").replace("»", "")


def _opens(token: Token) -> str | None:
    """The closing bracket ``token`` waits for, or ``None`` if it opens nothing."""
    if token.kind is Kind.QUOTATION:
        return ")"
    return OPENERS.get(token.text) if token.kind is Kind.SYMBOL else None


def _closes(token: Token) -> bool:
    return token.kind is Kind.SYMBOL and token.text in CLOSERS


def bracket_problem(tokens: list[Token]) -> str | None:
    """Why the brackets of ``tokens`` do not balance, or ``None`` when they do."""
    stack: list[str] = []
    for token in tokens:
        closing = _opens(token)
        if closing is not None:
            stack.append(closing)
        elif _closes(token) and (not stack or stack.pop() != token.text):
            return f"unbalanced brackets: unexpected `{token.text}` (line {token.line + 1})"
    if stack:
        return f"unbalanced brackets: `{stack[-1]}` missing at the end"
    return None


def top_level(tokens: list[Token]) -> list[tuple[Token, int]]:
    """Each token with its bracket depth (0 = outside every bracket); assumes balanced brackets."""
    depth = 0
    out = []
    for token in tokens:
        if _closes(token):
            depth = max(depth - 1, 0)
        out.append((token, depth))
        if _opens(token) is not None:
            depth += 1
    return out


def control_character_problem(text: str) -> str | None:
    """Why ``text`` holds a character Lean source must not: control characters other than newline
    (tabs and carriage returns included: Lean refuses tabs), invisible format characters (bidi overrides,
    zero-width spaces) and Unicode line separators. ``None`` when it holds none."""
    for index, char in enumerate(text):
        if char == "\n":
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            return f"control character U+{ord(char):04X} at offset {index}"
    return None
