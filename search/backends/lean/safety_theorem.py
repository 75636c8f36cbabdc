"""The check of a user's Lean theorem: one declaration up to its ``:=``, after an honest header.

A theorem reaches Lean as ``header``, then ``statement`` followed by the searched proof. Whoever wrote it
must not be able to prove something else than it says, weaken the kernel, or run code. So:

**Statement**: optional prefixes (``@[attr]``, ``private``/``protected``/``noncomputable``,
``set_option NAME VALUE in`` for an allowed option, ``open … in``), then exactly one declaration keyword
(``theorem``, ``lemma``, ``example``, ``instance``, ``def``, ``abbrev``: ProofNet has 14 ``instance`` rows,
DeepSeek's port writes them as ``def``), and it must end with its only top-level ``:=`` (no body already
written, no trailing comment). No second command anywhere (another declaration, ``open`` without ``in``,
``#eval``, ``attribute``, ``end``, a ``#`` word at column 0 ...), no ``import``.

**Header**: imports only at its start; then ordinary commands that cannot change what a statement's
words mean (``open`` — not ``open … renaming`` —, ``section``/``end``, ``noncomputable section``,
``universe``, auxiliary ``def``/``abbrev``/``lemma``/``theorem`` with their proofs, under plain names), but no
``axiom``, no ``#`` command, and ``set_option NAME VALUE`` (never ``… in``) only for options on the
allow-list (``maxHeartbeats``, ``checkBinderAnnotations``, ``exponentiation.threshold``, ``linter.*``,
``pp.*``...; ``debug.*``, ``compiler.*`` and any ``*kernel*`` option are refused by name). Refused because
they change what a statement means (``HEADER_REFUSED_WORDS``): ``variable`` (an instance variable such
as ``[Fact False]`` joins every later theorem; with ``include`` any hypothesis does), ``include``/``omit``,
``notation`` and the other syntax commands (``notation "False" => True``), ``local``/``scoped`` (local
notations and instances), ``instance`` (``instance : Add ℕ := ⟨Nat.mul⟩`` changes ``+``), ``attribute``,
``export``, ``deriving``, ``renaming`` and attributes ``@[…]``; ``notation3``, ``alias`` and
``irreducible_def`` (each declares a name or a notation the checks below do not see); ``inductive`` and
``structure`` (a constructor or field named ``False`` is ``Foo.False``, one ``open Foo`` from a
statement); and ``namespace`` and dotted or
``_root_`` declaration names (``namespace Foo`` + ``def False := True`` makes ``False`` in a statement mean
``Foo.False``, since Lean prefers the innermost namespace; ``def Foo.False`` + ``open Foo`` is the same
trick one step away). No benchmark header uses any of them.

**Both**: no ``sorry``/``admit``, native evaluation, code execution, macros/elaborators/syntax,
``unsafe``/``implemented_by``/``extern``, IO or metaprogramming (``safety_words.code_word_problem``),
balanced brackets and comments, no control characters. Every row of the benchmark files passes.
"""

from __future__ import annotations

from search.backends.lean.safety_lexer import (
    Kind,
    LexError,
    Token,
    bracket_problem,
    control_character_problem,
    lex,
    top_level,
)
from search.backends.lean.safety_words import (
    BLOCK_END_WORDS,
    DECLARATION_WORDS,
    ENVIRONMENT_WORDS,
    code_word_problem,
    option_problem,
    token_word,
)
from search.errors import InvalidTheoremError
from search.lookalike import WELL_KNOWN_NAMES, ascii_variants, name_problem
from search.types import Theorem

STATEMENT_KINDS = frozenset({"theorem", "lemma", "example", "instance", "def", "abbrev"})
HEADER_REFUSED_WORDS = frozenset({
    "variable", "variables", "include", "omit", "notation", "infix", "infixl", "infixr", "prefix",
    "postfix", "local", "scoped", "instance", "attribute", "export", "deriving", "renaming", "class",
    "macro", "macro_rules", "syntax", "elab", "elab_rules", "declare_syntax_cat", "binder_predicate",
    "unif_hint", "opaque", "namespace", "notation3", "alias", "irreducible_def", "inductive", "structure",
    "coinductive", "mutual",
})
_HEADER_DECLARATIONS = frozenset({"def", "abbrev", "lemma", "theorem", "structure", "inductive"})
MODIFIERS = frozenset({"private", "protected", "noncomputable", "nonrec"})
_SECOND_COMMAND = (DECLARATION_WORDS | ENVIRONMENT_WORDS | BLOCK_END_WORDS) - {"open"}


def check_lean_theorem(theorem: Theorem) -> None:
    """Raise ``InvalidTheoremError(theorem.name, reason)`` when the theorem must not reach Lean."""
    reason = lean_theorem_problem(theorem.header, theorem.statement)
    if reason is not None:
        raise InvalidTheoremError(theorem.name, reason)


def lean_theorem_problem(header: str, statement: str) -> str | None:
    """Why a header + statement pair is refused, or ``None``; the reason names the part at fault."""
    reason = header_problem(header)
    if reason is not None:
        return f"header: {reason}"
    reason = statement_problem(statement)
    return None if reason is None else f"statement: {reason}"


def _tokens(text: str) -> list[Token] | str:
    """The tokens of ``text``, or the reason it cannot be read safely."""
    reason = control_character_problem(text)
    if reason is not None:
        return reason
    try:
        tokens = lex(text)
    except LexError as error:
        return error.reason
    return bracket_problem(tokens) or tokens


def _common_problem(tokens: list[Token], index: int) -> str | None:
    token = tokens[index]
    if token.kind is Kind.HASH and token.col == 0:
        return f"second command: `{token.text}` at the start of line {token.line + 1}"
    if token.kind is Kind.IDENT and token_word(token) == "axiom":
        return "axiom: the theorem may not declare axioms"
    if token.kind is Kind.IDENT and token_word(token) == "set_option" and index + 1 < len(tokens):
        return option_problem(token_word(tokens[index + 1]))
    return code_word_problem(tokens, index)


def header_problem(header: str) -> str | None:
    """Why ``header`` is refused, or ``None``. An empty header is fine."""
    if not header.strip():
        return None
    tokens = _tokens(header)
    if isinstance(tokens, str):
        return tokens
    in_imports = True
    for index, token in enumerate(tokens):
        reason = _common_problem(tokens, index)
        if reason is not None:
            return reason
        word = token_word(token) if token.kind is Kind.IDENT else ""
        after_import = index > 0 and token_word(tokens[index - 1]) == "import"
        if word == "import" and not in_imports:
            return f"import: `import` on line {token.line + 1} comes after other commands"
        if word != "import" and not after_import:
            in_imports = False
    reasons = (_meaning_problem(tokens, index) for index in range(len(tokens)))
    return next((reason for reason in reasons if reason is not None), None)


def _meaning_problem(tokens: list[Token], index: int) -> str | None:
    """Why header token ``index`` could change what a later statement means, or ``None``."""
    token = tokens[index]
    if token.kind is Kind.SYMBOL and token.text == "@[":
        return f"attribute: `@[…]` on line {token.line + 1} (attributes may change elaboration)"
    if token.kind is not Kind.IDENT:
        return None
    word = token_word(token)
    if word == "scoped" and index > 0 and token_word(tokens[index - 1]) == "open":
        return None  # `open scoped X` opens a library namespace's own notations
    if word in HEADER_REFUSED_WORDS:
        return f"meaning: `{word}` on line {token.line + 1} could change what the statement means"
    if word in _HEADER_DECLARATIONS and index + 1 < len(tokens):
        name = tokens[index + 1].text
        if "." in name or name.startswith("_root_"):
            return (f"meaning: `{word} {name}` on line {token.line + 1} declares into a namespace, where it "
                    "can hide a library name; header declarations take plain names")
        if (problem := name_problem(name.strip("«»"))) is not None:
            return f"meaning: `{word} {name}` on line {token.line + 1}: {problem}"
        drawn = next((v for v in ascii_variants(name.strip("«»")) if v in WELL_KNOWN_NAMES), None)
        if drawn is not None:
            return (f"meaning: `{word} {name}` on line {token.line + 1} is drawn like `{drawn}`: header "
                    "names may not be read as the library's")
    if word == "set_option" and index + 3 < len(tokens) and token_word(tokens[index + 3]) == "in":
        return f"set_option: `set_option … in` on line {token.line + 1} (a header sets options plainly)"
    return None


def statement_problem(statement: str) -> str | None:
    """Why ``statement`` is not exactly one declaration ending with its ``:=``, or ``None``."""
    tokens = _tokens(statement)
    if isinstance(tokens, str):
        return tokens
    for index, token in enumerate(tokens):
        reason = _common_problem(tokens, index)
        if reason is not None:
            return reason
        if token.kind is Kind.IDENT and token_word(token) == "import":
            return "import: a statement may not import"
        if token.kind is Kind.IDENT and token_word(token) == "renaming":
            return ("meaning: `renaming` (`open … renaming … in`, before the declaration or inside its "
                    "type) gives a library constant the name the statement reads")
    start = declaration_start(tokens)
    if isinstance(start, str):
        return start
    return _body_problem(tokens, start) or _ending_problem(statement, tokens, start)


def declaration_start(tokens: list[Token]) -> int | str:
    """Index of the declaration keyword (``theorem``, ``instance``...) after the allowed prefixes
    (attributes, modifiers, ``set_option … in``, ``open … in``), or the reason there is none."""
    index = 0
    depths = top_level(tokens)
    while index < len(tokens):
        token = tokens[index]
        word = token_word(token) if token.kind is Kind.IDENT else ""
        if word in STATEMENT_KINDS:
            return index
        if token.kind is Kind.SYMBOL and token.text == "@[":
            index = next(i for i in range(index + 1, len(tokens)) if depths[i][1] == depths[index][1])
        elif word in MODIFIERS:
            pass
        elif word == "set_option":
            if not (index + 3 < len(tokens) and token_word(tokens[index + 3]) == "in"):
                return "set_option: a statement may only use `set_option NAME VALUE in`"
            index += 3
        elif word == "open":
            closing = _word_index(tokens, index + 1, "in")
            if closing is None:
                return "second command: `open` without `in` in a statement"
            if _word_index(tokens[:closing], index + 1, "renaming") is not None:
                return ("meaning: `open … renaming … in` gives a library name a new name that the statement "
                        "would read (`open Nat renaming succ → False in`)")
            index = closing
        else:
            kinds = ", ".join(sorted(STATEMENT_KINDS))
            return f"a statement starts with one of {kinds}; found `{token.text}`"
        index += 1
    return "no declaration keyword (theorem, lemma, example ...)"


def _word_index(tokens: list[Token], start: int, word: str) -> int | None:
    for index in range(start, len(tokens)):
        if tokens[index].kind is Kind.IDENT and token_word(tokens[index]) == word:
            return index
    return None


def _body_problem(tokens: list[Token], start: int) -> str | None:
    """A second command after the declaration keyword: another keyword, an attribute, ``open`` without
    ``in``."""
    for index in range(start + 1, len(tokens)):
        token = tokens[index]
        where = f"line {token.line + 1}" + (", column 0" if token.col == 0 else "")
        if token.kind is Kind.SYMBOL and token.text == "@[":
            return f"second command: an attribute `@[` on {where}"
        if token.kind is not Kind.IDENT:
            continue
        word = token_word(token)
        if word in _SECOND_COMMAND:
            return f"second command: `{word}` on {where}"
        if word == "open" and _word_index(tokens, index + 1, "in") is None:
            return f"second command: `open` without `in` on {where}"
    return None


def _ending_problem(statement: str, tokens: list[Token], start: int) -> str | None:
    """The statement must end with ``:=``, its only top-level one (otherwise a body is already there)."""
    if not statement.rstrip().endswith(":=") or tokens[-1].text != ":=":
        return "a statement must end with `:=` (nothing after it, not even a comment)"
    assignments = [t for t, depth in top_level(tokens)[start:] if depth == 0 and t.text == ":="]
    if len(assignments) != 1:
        return f"second command: {len(assignments)} top-level `:=` (a body is already written)"
    return None
