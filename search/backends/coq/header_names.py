"""The names a header sentence declares, read from its text (no Coq process).

``header_freshness`` asks coqtop whether each of these names already means something; this module only
finds them. It reads the sentence kinds ``header_safety`` lets through: ``Definition``, ``Fixpoint`` /
``CoFixpoint`` (with mutual ``with`` blocks), ``Inductive`` / ``CoInductive`` / ``Variant`` (with their
constructors, mutual blocks and the eliminators Coq generates), ``Record`` / ``Structure`` (constructor,
fields, eliminators), ``Notation`` / ``Infix`` (an abbreviation's name, or a notation's terminal
symbols) and ``Module M := ...``. A sentence it cannot read is refused: a declaration this module does
not understand is a name nobody checked.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from search.errors import ProverError

# the locality a header command may carry, before its keyword (``Local``, ``#[export]`` ...)
LOCALITY = r"(?:(?:Local|Global|#\[(?:local|global|export)\]) )?"

_TOKEN = re.compile(
    r'"(?:[^"]|"")*"'  # a string literal ("" escapes a quote)
    r"|#\[(?:local|global|export)\]"  # the locality attributes a header may use
    r"|[^\W\d][\w']*(?:\.[^\W\d][\w']*)*"  # an identifier, possibly qualified
    r"|\d[\d_]*"
    r"|:=|:>|=>|->|\|\||\|"
    r"|[(){}\[\];,:]"
    r"|[^\w\s\"(){}\[\];,:|]+"  # any other run of symbols
)
_IDENT = re.compile(r"[^\W\d][\w']*")
_OPEN = {"(", "{", "["}
_CLOSE = {")", "}", "]"}
ELIMINATORS = ("_ind", "_rect", "_rec", "_sind")
_PREFIX_WORDS = {"Local", "Global", "Polymorphic", "Monomorphic", "#[local]", "#[global]", "#[export]"}


class HeaderNamesError(ProverError, ValueError):
    """The sentence declares something this module cannot read."""


@dataclass(frozen=True)
class Declared:
    """What one header sentence declares.

    ``terms``: constants, inductive types, constructors, record fields, generated eliminators and
    abbreviations (the term namespace); ``modules``: module names; ``terminals``: the symbols and
    keywords a notation adds to Coq's grammar.
    """

    terms: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    terminals: tuple[str, ...] = ()


def tokens(text: str) -> list[str]:
    """Coq-like tokens of a comment-free sentence (enough to find names, not a full lexer)."""
    return _TOKEN.findall(text)


def identifiers(text: str) -> set[str]:
    """The unqualified identifiers ``text`` mentions (``Datatypes.S`` is not ``S``)."""
    return {t for t in tokens(text) if _IDENT.fullmatch(t)}


def declared(sentence: str) -> Declared:
    """The names ``sentence`` declares; ``Declared()`` for sentences that declare none (``Require``,
    ``Open Scope`` ...). Raises ``HeaderNamesError`` for a declaration it cannot read."""
    words = tokens(sentence.rstrip("."))
    words = _without_prefixes(words)
    if not words:
        return Declared()
    kind = words[0]
    if kind == "Definition":
        return Declared(terms=(_name_after(words, 0),))
    if kind in ("Fixpoint", "CoFixpoint"):
        return Declared(terms=tuple(_name_after(block, 0) for block in _blocks(words)))
    if kind in ("Inductive", "CoInductive", "Variant"):
        return Declared(terms=tuple(n for block in _blocks(words) for n in _inductive_names(block)))
    if kind in ("Record", "Structure"):
        return Declared(terms=_record_names(words))
    if kind == "Notation":
        return _notation(words)
    if kind == "Infix":
        return Declared(terminals=(_unquote(_name_after(words, 0, string=True)),))
    if kind == "Module":
        return Declared(modules=(_name_after(words, 0),))
    return Declared()


def _without_prefixes(words: list[str]) -> list[str]:
    index = 0
    while index < len(words) and words[index] in _PREFIX_WORDS:
        index += 1
    if any(word.startswith("#") for word in words[index:]):
        raise HeaderNamesError("attributes other than #[local], #[global], #[export] are not read here")
    return words[index:]


def _name_after(words: list[str], index: int, *, string: bool = False) -> str:
    """The identifier (or string literal) right after ``words[index]``."""
    if index + 1 >= len(words):
        raise HeaderNamesError(f"no name after {words[index]!r}")
    name = words[index + 1]
    if _IDENT.fullmatch(name) or (string and name.startswith('"')):
        return name
    raise HeaderNamesError(f"{words[index]} must be followed by a plain name, not {name!r}")


def _depth_zero(words: list[str]) -> list[tuple[int, str]]:
    """``(index, token)`` of the tokens outside brackets and ``match ... end``."""
    out = []
    depth = matches = 0
    for index, word in enumerate(words):
        if word in _CLOSE:
            depth -= 1
        elif word == "end" and depth == 0:
            matches -= 1
        if depth == 0 and matches == 0 and word not in _CLOSE and word != "end":
            out.append((index, word))
        if word in _OPEN:
            depth += 1
        elif word == "match" and depth == 0:
            matches += 1
        if depth < 0 or matches < 0:
            raise HeaderNamesError("unbalanced brackets or match ... end")
    return out


def _blocks(words: list[str]) -> list[list[str]]:
    """A mutual declaration split at its top-level ``with`` (each block starts with a keyword)."""
    if "where" in words:
        raise HeaderNamesError("'where' notations in declarations are not read here")
    cuts = [index for index, word in _depth_zero(words) if word == "with"]
    bounds = [0, *cuts, len(words)]
    return [words[start:end] for start, end in itertools.pairwise(bounds)]


def _inductive_names(block: list[str]) -> list[str]:
    """The type, its constructors and the eliminators Coq generates for it."""
    name = _name_after(block, 0)
    top = _depth_zero(block)
    body = [index for index, word in top if word == ":="]
    if not body:
        raise HeaderNamesError(f"inductive {name!r} has no ':=' and constructors")
    names = [name, *(name + suffix for suffix in ELIMINATORS)]
    start = body[0] + 1
    pieces: list[list[tuple[int, str]]] = [[]]
    for index, word in top:
        if index < start:
            continue
        if word == "|":
            pieces.append([])
        else:
            pieces[-1].append((index, word))
    for piece in pieces:
        if not piece:
            continue  # the optional leading '|', or no constructor at all
        if not _IDENT.fullmatch(piece[0][1]):
            raise HeaderNamesError(f"cannot read a constructor of {name!r} at {piece[0][1]!r}")
        names.append(piece[0][1])
        braces = [index for index, word in piece if word == "{"]
        if braces:  # record syntax (Inductive R := Build { f : T }): the fields are names too
            names += _inductive_fields(name, block, braces[0])
    return names


def _inductive_fields(name: str, block: list[str], opening: int) -> list[str]:
    """The fields of a constructor written with record syntax, its ``{`` at ``block[opening]``."""
    depth = 0
    for closing in range(opening, len(block)):
        depth += (block[closing] in _OPEN) - (block[closing] in _CLOSE)
        if depth == 0:
            break
    else:
        raise HeaderNamesError(f"cannot read the fields of a constructor of {name!r}")
    return _field_names(block[opening + 1:closing], f"{name!r}")


def _record_names(words: list[str]) -> tuple[str, ...]:
    """A record's type, constructor (``Build_NAME`` when unnamed), fields and eliminators."""
    name = _name_after(words, 0)
    top = _depth_zero(words)
    body = [index for index, word in top if word == ":="]
    if not body:
        raise HeaderNamesError(f"record {name!r} has no ':='")
    rest = words[body[0] + 1:]
    constructor = f"Build_{name}"
    if rest and _IDENT.fullmatch(rest[0]):
        constructor, rest = rest[0], rest[1:]
    if len(rest) < 2 or rest[0] != "{" or rest[-1] != "}":
        raise HeaderNamesError(f"cannot read the fields of record {name!r}")
    fields = _field_names(rest[1:-1], f"record {name!r}")
    return (name, constructor, *fields, *(name + suffix for suffix in ELIMINATORS))


def _field_names(words: list[str], owner: str) -> list[str]:
    """The names of the fields ``f : T ; g : U`` between a record's braces; ``owner`` names it in errors."""
    fields = []
    for piece in _split_fields(words):
        if not _IDENT.fullmatch(piece[0]):
            raise HeaderNamesError(f"cannot read a field of {owner} at {piece[0]!r}")
        fields.append(piece[0])
    return fields


def _split_fields(words: list[str]) -> list[list[str]]:
    pieces: list[list[str]] = [[]]
    for index, word in _depth_zero(words):
        if word == ";":
            pieces.append([])
        else:
            pieces[-1].append(words[index])
    return [piece for piece in pieces if piece]


def _notation(words: list[str]) -> Declared:
    """An abbreviation (``Notation N args := t``) declares ``N``; a string notation its terminals."""
    target = _name_after(words, 0, string=True)
    if not target.startswith('"'):
        return Declared(terms=(target,))
    body = words[words.index(":=") + 1:] if ":=" in words else []
    used = {w for w in body if _IDENT.fullmatch(w)}
    terminals = []
    for part in _unquote(target).split():
        if part.startswith("'") and part.endswith("'") and len(part) > 2:
            terminals.append(part[1:-1])
        elif not (_IDENT.fullmatch(part) and part in used):
            terminals.append(part)
    if not terminals:
        raise HeaderNamesError(f"notation {target} has no symbol of its own")
    return Declared(terminals=tuple(terminals))


def _unquote(literal: str) -> str:
    if not (literal.startswith('"') and literal.endswith('"')):
        raise HeaderNamesError(f"expected a string, got {literal!r}")
    return literal[1:-1].replace('""', '"')


_INDUCTIVE = re.compile(LOCALITY + r"(?:Inductive|Variant) "
                        r"([A-Za-z_][A-Za-z0-9_']*) ?(?:: ?(?:Type|Set) ?)?:=")


def header_inductive(sentence: str) -> str | None:
    """The inductive type a header sentence declares that a Fixpoint may recurse on, or None: one type
    without parameters (``Inductive tree := ...``), not mutual, and no constructor declared a coercion
    (``c :> nat -> tree`` would make ``f n`` under ``c n`` mean ``f (c n)``, the value itself)."""
    match = _INDUCTIVE.match(sentence)
    if match is None or ":>" in sentence or re.search(r"\bwith\b", sentence):
        return None
    return match.group(1)
