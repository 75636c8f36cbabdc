"""A reader for the terms of a header ``Fixpoint`` sentence: tokens, then a tree of nodes.

``header_recursion`` judges a header's recursion from its text alone, so the text must be read the way Coq
reads it. This reader knows ASCII identifiers, numerals, brackets and the standard operators only: any
other symbol, string or character is refused (a header notation could reorder a call's arguments), and so
are the words whose meaning it does not follow (``let``, ``in``, ``as``, ``return``, ``is``, ``where``,
``struct`` in the body, ``fix``, ``cofix``), ``with`` outside a ``match`` (mutual blocks), ``:=`` in the body
(named arguments), braces in the body and ``|`` outside a match arm (or-patterns). Whatever it cannot read
raises ``NotStructural``: a Fixpoint it cannot read is not evidently structural.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search.errors import ProverError

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_']*(?:\.[A-Za-z_][A-Za-z0-9_']*)*")
NUMBER = re.compile(r"[0-9]+")
# runs of symbol characters: a run must be exactly one of SYMBOLS (Coq reads a run as its longest token,
# and a header notation may declare a new one such as +++)
_SYMBOL_RUN = re.compile(r"[-+*/^=<>~:&|\\?%!$#@.`']+")
_BRACKETS = frozenset("()[]{};,")
SYMBOLS = frozenset({
    ":=", "=>", "->", "<->", ":", "|", "+", "-", "*", "/", "^", "=", "<>", "<", "<=", ">", ">=", "::",
    "++", "&&", "||", "/\\", "\\/", "~", "=?", "<=?", "<?", "?=", "%",
})
OPEN = {"(": ")", "[": "]"}
# words with a meaning this reader does not follow: each could bind a name or hide a call's argument
_REFUSED_WORDS = {
    "let": "'let' (bind a value with a match or a parameter instead)",
    "in": "'in' (a match's 'in' clause or a let)",
    "as": "'as' (a match's or a pattern's alias)",
    "return": "'return' (a match's return clause)",
    "is": "'is' (ssreflect's 'if ... is' binds pattern variables)",
    "where": "'where' (a notation attached to the fixpoint)",
    "struct": "'struct' inside the body",
    "fix": "'fix'",
    "cofix": "'cofix'",
}
_KEYWORDS = frozenset({"match", "with", "end", "fun", "forall", "exists", "if", "then", "else"})


class NotStructural(ProverError, ValueError):
    """The Fixpoint is not evidently structural: ``str(exc)`` says why (without the definition's name)."""


@dataclass
class Atom:
    """An identifier, a numeral or ``_``."""

    text: str


@dataclass
class Op:
    """An operator or separator inside a sequence (``+``, ``::``, ``,``, ``%nat`` ...)."""

    text: str


@dataclass
class Group:
    """``( ... )`` or ``[ ... ]``."""

    open: str
    items: list[Node]


@dataclass
class Match:
    """``match s1, s2 with | p1 => b1 | ... end``: scrutinees and (pattern, body) arms."""

    scrutinees: list[Node]
    arms: list[tuple[list[Node], list[Node]]]


@dataclass
class Binder:
    """``fun``, ``forall`` or ``exists`` with its binders (names and optional type) and body."""

    kind: str
    binders: list[tuple[list[str], list[Node] | None]]
    body: list[Node]


@dataclass
class If:
    """``if c then t else e``."""

    cond: list[Node]
    then: list[Node]
    other: list[Node]


Node = Atom | Op | Group | Match | Binder | If


# ----------------------------------------------------------------------------------------------- lexing


def tokenize(text: str) -> list[str]:
    """Tokens of a Fixpoint sentence without its final period; raises on anything this reader does not
    know."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == " ":
            index += 1
            continue
        if (match := IDENT.match(text, index)) is not None:
            out.append(match.group())
        elif (match := NUMBER.match(text, index)) is not None:
            out.append(match.group())
            if text[match.end():match.end() + 1].isalpha() or text[match.end():match.end() + 1] == "_":
                raise NotStructural(f"unexpected text {text[index:index + 20]!r}")
        elif char in _BRACKETS:
            out.append(char)
            index += 1
            continue
        elif (match := _SYMBOL_RUN.match(text, index)) is not None:
            if match.group() not in SYMBOLS:
                raise NotStructural(f"the symbol {match.group()!r} is not accepted")
            out.append(match.group())
        else:
            raise NotStructural(f"the character {char!r} is not accepted")
        index = match.end()
    return out


# ---------------------------------------------------------------------------------------------- parsing


class Parser:
    """Reads nodes from ``tokens``, from ``pos`` on."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise NotStructural("the sentence ends too early")
        self.pos += 1
        return token

    def expect(self, token: str) -> None:
        got = self.peek()
        if got != token:
            raise NotStructural(f"expected {token!r}, found {got or 'the end'!r}")
        self.pos += 1

    def sequence(self, stops: frozenset[str]) -> list[Node]:
        """Nodes up to (not including) a token of ``stops`` at this level, or the end."""
        items: list[Node] = []
        while (token := self.peek()) is not None and token not in stops:
            self.pos += 1
            if token in OPEN:
                inner = self.sequence(frozenset({OPEN[token]}))
                self.expect(OPEN[token])
                items.append(Group(token, inner))
            elif token == "match":
                items.append(self.match())
            elif token in ("fun", "forall", "exists"):
                binders = self.binders("=>" if token == "fun" else ",")
                items.append(Binder(token, binders, self.sequence(stops)))
            elif token == "if":
                cond = self.sequence(frozenset({"then"}))
                self.expect("then")
                then = self.sequence(frozenset({"else"}))
                self.expect("else")
                items.append(If(cond, then, self.sequence(stops)))
            elif token in _REFUSED_WORDS:
                raise NotStructural(f"{_REFUSED_WORDS[token]} is not accepted")
            elif token == "with":
                raise NotStructural("'with' outside a match (mutual fixpoints) is not accepted")
            elif token == "%":
                key = self.take()
                if IDENT.fullmatch(key) is None:
                    raise NotStructural(f"'%' must be followed by a scope key, not {key!r}")
                items.append(Op("%" + key))
            elif token == ":=":
                raise NotStructural("':=' inside the body (a named argument or a definition) is not accepted")
            elif token == "|":
                raise NotStructural("'|' outside a match arm (an or-pattern or a notation) is not accepted")
            elif token in ("{", "}"):
                raise NotStructural("braces inside the body are not accepted")
            elif token in _KEYWORDS or token in (")", "]", "=>"):
                raise NotStructural(f"unexpected {token!r}")
            elif IDENT.fullmatch(token) or NUMBER.fullmatch(token):
                items.append(Atom(token))
            else:
                items.append(Op(token))
        return items

    def match(self) -> Match:
        scrutinees = self.sequence(frozenset({"with"}))
        self.expect("with")
        arms: list[tuple[list[Node], list[Node]]] = []
        if self.peek() == "|":
            self.pos += 1
        while True:
            if self.peek() == "end":  # an empty match
                self.pos += 1
                break
            pattern = self.sequence(frozenset({"=>"}))
            self.expect("=>")
            body = self.sequence(frozenset({"|", "end"}))
            arms.append((pattern, body))
            if self.take() == "end":
                break
        return Match(scrutinees, arms)

    def binders(self, terminator: str) -> list[tuple[list[str], list[Node] | None]]:
        """``x y (z w : T) ...`` or ``x y : T`` up to ``terminator`` (consumed)."""
        out: list[tuple[list[str], list[Node] | None]] = []
        bare: list[str] = []
        while True:
            token = self.take()
            if token == terminator:
                break
            if token == "(":
                names = self.names()
                self.expect(":")
                kind = self.sequence(frozenset({")"}))
                self.expect(")")
                out.append((names, kind))
            elif token == ":":
                if not bare:
                    raise NotStructural("a binder's ':' without a name")
                out.append((bare, self.sequence(frozenset({terminator}))))
                bare = []
            elif is_name(token):
                bare.append(token)
            else:
                raise NotStructural(f"unexpected {token!r} in a binder")
        if bare:
            out.append((bare, None))
        return out

    def names(self) -> list[str]:
        names: list[str] = []
        while (token := self.peek()) is not None and is_name(token):
            names.append(token)
            self.pos += 1
        if not names:
            raise NotStructural(f"expected a binder name, found {self.peek() or 'the end'!r}")
        return names


def is_name(token: str) -> bool:
    """A bindable name: unqualified identifier or ``_``, not a keyword."""
    return (WORD.fullmatch(token) is not None and token not in _KEYWORDS
            and token not in _REFUSED_WORDS and token != "with")


def show(nodes: list[Node]) -> str:
    """``nodes`` as text for a message (a match, a binder or an if shortened to its keyword)."""
    parts: list[str] = []
    for node in nodes:
        if isinstance(node, (Atom, Op)):
            parts.append(node.text)
        elif isinstance(node, Group):
            parts.append(node.open + show(node.items) + OPEN[node.open])
        elif isinstance(node, Match):
            parts.append("match ... end")
        elif isinstance(node, Binder):
            parts.append(f"{node.kind} ...")
        else:
            parts.append("if ...")
    return " ".join(parts)
