"""What may be sent to Lean: the tactic filter and the theorem (statement + header) check.

``check_lean_tactic`` runs on every candidate before it reaches Lean (REPL or LeanDojo) and returns the
reason for a refusal, or ``None``. It refuses:

- giving up (``sorry``, ``admit``, ``stop``, ``sorryAx``) and trusting compiled code (``native_decide``,
  ``decide +native``, ``bv_decide``, ``bv_check``, ``Lean.ofReduceBool``, a ``(config := …)`` that is not a
  plain ``{ field := value }`` instance, since ``decide (config := ⟨false, true, true, false⟩)`` sets
  ``native`` by position);
- anything that runs code or changes the environment: ``#`` commands, ``run_tac``/``run_cmd``/``by_elab``,
  ``set_option`` (``set_option … in`` included: options such as ``maxHeartbeats`` would let a tactic escape
  its budget, ``debug.*`` ones would weaken the kernel), imports, declarations and every other command
  keyword, attributes, ``unsafe``/``implemented_by``/``extern``, macros and syntax, IO and
  ``Lean.Elab``/``Lean.Meta`` metaprogramming (and ``open Lean``, which would hide those names), printing
  (``println!``, ``dbg_trace``), compiled-code evaluation (``plausible``, ``slim_check``, ``eval%``),
  ``include_str``, syntax quotations, interpolated strings and any ``{`` inside a string literal (a string
  may be interpolated without ``!``: ``throwError "{(by run_tac …)}"``), ``polyrith`` (network);
- text that would leave the tactic block once the proof is rendered (``lean_by_block`` puts each tactic on
  its own line at the block's column): every line after the first must be indented deeper than the first,
  and ``where``/``termination_by``/``decreasing_by`` (which attach to the enclosing declaration) are refused;
- unbalanced brackets, unterminated block comments or strings, control and invisible characters, empty
  tactics and tactics longer than ``max_length`` characters.

``check_lean_proof_tactic`` is the filter of a whole proof's tactics (``verify``): the same, except that a
planner's assembled ``have NAME : STATEMENT := by`` block (the ``have`` line, then its proof's tactics
indented two spaces, as ``lean_by_block`` lays them out) is checked part by part, each part with the length
limit (the tactics passed it one by one in their search), and as a whole with every check but that one.

Design choices: words are matched on tokens after comments and string literals are removed, so
``h_sorry_free`` or ``simp [sorry_lemma]`` pass and ``-- sorry`` is only a comment; a ``--`` comment is
harmless because the renderer ends the line. ``open Foo in tac`` is allowed: it only changes name
resolution inside ``tac`` (``open Real in nlinarith [pi_pos]`` is common), except for ``Lean`` and
``Lean.*`` (``safety_words``); ``open Foo`` without ``in`` is a command and is refused. The rules that look
past single words (braces in strings, ``config``, ``open Lean``) are documented in ``safety_words``.
"""

from __future__ import annotations

from search.backends.lean.safety_lexer import (
    Kind,
    LexError,
    Token,
    bracket_problem,
    control_character_problem,
    lex,
)
from search.backends.lean.safety_theorem import check_lean_theorem, lean_theorem_problem
from search.backends.lean.safety_words import (
    BLOCK_END_WORDS,
    DECLARATION_WORDS,
    ENVIRONMENT_WORDS,
    LIBRARY_COMMAND_WORDS,
    code_word_problem,
    token_word,
)

__all__ = ["DEFAULT_MAX_TACTIC_LENGTH", "check_lean_proof_tactic", "check_lean_tactic", "check_lean_theorem",
           "have_block_parts", "lean_theorem_problem"]

DEFAULT_MAX_TACTIC_LENGTH = 4096


def check_lean_tactic(tactic: str, *, max_length: int = DEFAULT_MAX_TACTIC_LENGTH) -> str | None:
    """The reason ``tactic`` must not be sent to Lean, or ``None`` when it may be.

    ``max_length`` is in characters. Never raises on any string.
    """
    if not tactic.strip():
        return "empty tactic"
    if len(tactic) > max_length:
        return f"too long: {len(tactic)} characters (at most {max_length})"
    reason = control_character_problem(tactic) or indentation_problem(tactic)
    if reason is not None:
        return reason
    try:
        tokens = lex(tactic)
    except LexError as error:
        return error.reason
    if not tokens:
        return "empty tactic: only a comment"
    reason = bracket_problem(tokens)
    if reason is not None:
        return reason
    for index in range(len(tokens)):
        reason = code_word_problem(tokens, index)
        if reason is not None:
            return reason
    return command_problem(tokens)


def check_lean_proof_tactic(tactic: str, *, max_length: int = DEFAULT_MAX_TACTIC_LENGTH) -> str | None:
    """``check_lean_tactic`` for a tactic of a whole proof; an assembled ``have`` block is exempt from the
    length limit only, when each of its parts passes with it (see the module docstring)."""
    parts = have_block_parts(tactic)
    if parts is None:
        return check_lean_tactic(tactic, max_length=max_length)
    reason = check_lean_tactic(tactic, max_length=len(tactic))
    if reason is not None:
        return reason
    for part in parts:
        reason = check_lean_tactic(part, max_length=max_length)
        if reason is not None:
            return f"in the block's {part[:60]!r}: {reason}"
    return None


_BLOCK_INDENT = "  "  # lean_by_block's default


def have_block_parts(tactic: str) -> list[str] | None:
    """The ``have`` line and the tactics of a ``have NAME : STATEMENT := by`` block laid out as
    ``lean_by_block`` does (each tactic's first line indented two spaces, its later lines deeper), or
    ``None`` for any other text."""
    head, by, body = tactic.partition(" := by\n")
    if not by or "\n" in head or not head.startswith("have "):
        return None
    tactics: list[str] = []
    for line in body.split("\n"):
        if not line.strip():
            if not tactics:
                return None
            tactics[-1] += "\n"
        elif line.startswith(_BLOCK_INDENT) and not line.startswith(_BLOCK_INDENT + " "):
            tactics.append(line[len(_BLOCK_INDENT):])
        elif line.startswith(_BLOCK_INDENT + " ") and tactics:
            tactics[-1] += "\n" + line[len(_BLOCK_INDENT):]
        else:
            return None
    return [head, *tactics] if tactics else None


def indentation_problem(tactic: str) -> str | None:
    """Why a multi-line tactic would leave its tactic block: a later line not indented deeper than the
    first non-blank line would start a new tactic, or at column 0 a new command. ``None`` if none does."""
    lines = tactic.split("\n")
    first = next(i for i, line in enumerate(lines) if line.strip())
    base = _indent(lines[first])
    for number, line in enumerate(lines[first + 1:], start=first + 2):
        if line.strip() and _indent(line) <= base:
            where = "column 0 (a new command)" if _indent(line) == 0 else "the first line's column"
            return f"newline leaves the tactic block: line {number} starts at {where}"
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def command_problem(tokens: list[Token]) -> str | None:
    """Why the tokens hold a command rather than a tactic (declarations, options, attributes, block
    enders, ``open`` without ``in``), or ``None``."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind is Kind.SYMBOL and token.text == "@[":
            return "attribute: `@[...]` changes the environment"
        word = token_word(token) if token.kind is Kind.IDENT else ""
        if word == "open":
            closing = _open_in_end(tokens, index)
            if closing is None:
                return "environment: `open` without `in` is a command, not a tactic"
            index = closing + 1
            continue
        if word in DECLARATION_WORDS or word in LIBRARY_COMMAND_WORDS:
            return f"declaration: `{word}` is a command, not a tactic"
        if word in ENVIRONMENT_WORDS:
            return f"environment: `{word}` changes the environment or options"
        if word in BLOCK_END_WORDS:
            return f"newline leaves the tactic block: `{word}` attaches to the enclosing declaration"
        index += 1
    return None


_COMMAND_WORDS = DECLARATION_WORDS | LIBRARY_COMMAND_WORDS | ENVIRONMENT_WORDS | BLOCK_END_WORDS


def _open_in_end(tokens: list[Token], start: int) -> int | None:
    """Index of the ``in`` closing the ``open`` at ``start``, or ``None`` if it is not ``open … in``.

    Between them only namespaces, ``scoped``/``hiding``/``renaming`` and ``( ) →`` may appear."""
    for index in range(start + 1, len(tokens)):
        token = tokens[index]
        word = token_word(token) if token.kind is Kind.IDENT else None
        if word == "in":
            return index
        if word is not None and (word == "scoped" or word not in _COMMAND_WORDS):
            continue
        if token.kind is Kind.SYMBOL and token.text in ("(", ")", "→"):
            continue
        return None
    return None
