"""Coq's safety filter: which tactics, statements and headers may reach coqtop or coqc.

Untrusted text (a model's tactic, a benchmark row) must never change Coq's environment, leave the proof,
admit a goal or hide a second sentence. The rules are allow-lists where the language allows it:

- a tactic is exactly one sentence whose first word (after an optional goal selector such as ``2:`` or
  ``all:``) is lower case: every Coq command (``Qed``, ``Require``, ``Set``, ``Load``, ``Timeout``, ``Fail``,
  ``Drop``, ``Ltac`` ...) starts upper case, so none can be sent. Bullets and braces are refused too: the
  engine's proof is a linear tactic list acting on the first goal;
- a statement is one ``Theorem``/``Lemma``/... sentence naming the theorem;
- a header (benchmark or user text, never model text) is checked by ``header_safety``: what benchmark
  headers contain (comments, imports, scopes, definitions, notations, module instances, harmless options),
  nothing that changes what is provable;
- in tactics and statements: no comments or strings (they could hide a terminator from the sentence
  splitter), no control characters or unusual whitespace, no words that admit goals or skip the kernel
  (``admit``, ``give_up``, ``Admitted``, ``exact_no_check``, ``native_compute`` ...), nor words that reach
  Coq 8.16's kernel bugs (``fix``, ``vm_compute``, ``ltac2``; a statement's mutual ``with``).

Whole-proof verification (``Print Assumptions``) stays the final word; this filter keeps what never
needs to reach Coq away from it.
"""

from __future__ import annotations

import re
import unicodedata

from search.backends.coq import header_text
from search.backends.coq.header_safety import cast_problem, check_header
from search.backends.coq.sentences import SentenceError, has_terminator, split_sentences, tactic_body

MAX_TACTIC_CHARS = 2000

# The kernel trusts the bytecode VM: ``vm_compute`` leaves a VM cast that ``Qed`` re-runs on the same VM,
# and Coq 8.16's VM computes a primitive-integer ``addmuldiv`` wrongly (rocq#19402, fixed in 8.20): under
# a header that loads ``Uint63`` a tactic proves ``False``. No search needs it (``compute`` and the
# kernel's own conversion decide the same goals); the VM cast ``<:`` is refused by ``check_text``.
VM_WORDS = frozenset({"vm_compute"})
# Coq 8.16's guard checker accepts some fixpoints that do not terminate (rocq#20455, fixed in 9.0.1; Coq's
# critical-bugs list names more for 8.16), and coqchk shares the bug: one tactic writing such a term-level
# ``fix`` proves ``False`` through ``Qed`` and ``Print Assumptions``. A tactic or statement may not write a
# fixpoint (31 of the standard library's 77,212 traced tactics do); ``induction`` and the header's
# ``Fixpoint``s remain (a header is the benchmark's or the user's, never a model's).
KERNEL_BUG_WORDS = frozenset({"fix", "cofix"})
# Words that admit a goal, end a proof, or let a term skip the kernel's type check or reach its bugs.
UNSOUND_WORDS = frozenset({
    "admit", "give_up", "Admitted", "Abort", "Qed", "Defined", "Save", "Proof",
    "exact_no_check", "vm_cast_no_check", "native_cast_no_check", "change_no_check", "native_compute",
}) | KERNEL_BUG_WORDS | VM_WORDS
# Commands that have no place inside a tactic or a statement, wherever they appear.
COMMAND_WORDS = frozenset({
    "Axiom", "Axioms", "Parameter", "Parameters", "Hypothesis", "Hypotheses", "Variable", "Variables",
    "Conjecture", "Context", "Declare", "Load", "Require", "Import", "Export", "Redirect", "Extraction",
    "Drop", "Reset", "Back", "BackTo", "Undo", "Restart", "Unshelve", "Ltac", "Ltac2",
    # ``ltac2:(...)`` builds terms from the kernel's constructors (``Constr.Unsafe``): a fixpoint that no
    # word ``fix`` spells, native compilation that no word ``native_compute`` spells
    "ltac2",
})
STATEMENT_KEYWORDS = ("Theorem", "Lemma", "Fact", "Remark", "Corollary", "Proposition", "Example")

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")
_COQ_IDENT = re.compile(r"[^\W\d][\w']*")  # Unicode letters too, as Coq's lexer reads identifiers
_IDENT = r"[A-Za-z_][A-Za-z0-9_']*"
_SELECTOR = re.compile(
    r"(?:all|par|!|\[\s*" + _IDENT + r"\s*\]|\d+(?:\s*-\s*\d+)?(?:\s*,\s*\d+(?:\s*-\s*\d+)?)*)\s*:(?!=)\s*"
)
_BAD_CHAR = re.compile(r"[^\S \t\n\r]|[\x00-\x08\x0b-\x1f\x7f]")
# Format characters (zero-width spaces, bidi overrides), separators, surrogates, private and unassigned.
_INVISIBLE = frozenset({"Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_STATEMENT = re.compile(r"(?:" + "|".join(STATEMENT_KEYWORDS) + r")\s+(" + _IDENT + r")(?=[\s:({])")


def check_text(text: str) -> str | None:
    """Reasons common to every piece of Coq text: comments, strings, control characters, odd spaces."""
    if "(*" in text or "*)" in text:
        return "comments are not allowed"
    if '"' in text:
        return "string literals are not allowed"
    bad = _BAD_CHAR.search(text)
    if bad is not None:
        return f"character {bad.group()!r} is not allowed"
    invisible = next((c for c in text if unicodedata.category(c) in _INVISIBLE), None)
    if invisible is not None:
        return f"invisible or control character U+{ord(invisible):04X} is not allowed"
    if "<prompt" in text or "</" in text:
        return "text that looks like coqtop's prompt markup is not allowed"
    return cast_problem(text)  # comments and strings are refused above: nothing to blank


def forbidden_word(text: str, words: frozenset[str]) -> str | None:
    """The first whole word of ``text`` that is in ``words``; dots separate words (``Foo.admit``)."""
    for match in _WORD.finditer(text):
        if match.group() in words:
            return match.group()
    return None


def _checked_sentences(text: str, part: str) -> list[str] | str:
    """The sentences of ``text`` when its characters pass ``check_text`` and it splits, else why not
    (prefixed with ``part``)."""
    reason = check_text(text)
    if reason is not None:
        return f"{part}: {reason}"
    try:
        return split_sentences(text)
    except SentenceError as exc:
        return f"{part}: {exc}"


def check_coq_tactic(tactic: str) -> str | None:
    """Return why ``tactic`` must not be sent to Coq, or ``None`` when it may.

    Accepts one tactic sentence with or without its final ``.`` (``tactic_body`` gives the spelling that
    is sent).
    """
    if len(tactic) > MAX_TACTIC_CHARS:
        return f"tactic longer than {MAX_TACTIC_CHARS} characters"
    reason = check_text(tactic)
    if reason is not None:
        return reason
    body = tactic_body(tactic)
    if not body:
        return "empty tactic"
    if body.endswith("."):
        return "ellipsis ('...') is not allowed"
    if has_terminator(body):
        return "more than one sentence"
    selector = _SELECTOR.match(body)
    rest = body[selector.end():] if selector else body
    if not rest:
        return "goal selector without a tactic"
    first = rest[0]
    if first in "-+*":
        return "bullets are not allowed (the proof is a linear tactic list)"
    if first in "{}":
        return "braces (focusing) are not allowed (the proof is a linear tactic list)"
    if not (first.islower() or first in "(["):
        return f"not a tactic: {rest.split()[0]!r} (Coq commands are not allowed)"
    word = forbidden_word(body, UNSOUND_WORDS | COMMAND_WORDS)
    if word is not None:
        return f"{word!r} is not allowed"
    return None


def check_coq_statement(name: str, statement: str) -> str | None:
    """Return why ``statement`` is not one ``Theorem name ... .`` sentence, or ``None``."""
    sentences = _checked_sentences(statement, "statement")
    if isinstance(sentences, str):
        return sentences
    if len(sentences) != 1:
        return f"statement must be exactly one sentence, got {len(sentences)}"
    match = _STATEMENT.match(sentences[0])
    if match is None:
        return f"statement must start with one of {', '.join(STATEMENT_KEYWORDS)} and a name"
    if match.group(1) != name:
        return f"statement declares {match.group(1)!r}, not {name!r}"
    word = forbidden_word(sentences[0], UNSOUND_WORDS | COMMAND_WORDS)
    if word is not None:
        return f"statement: {word!r} is not allowed"
    if _mutual(sentences[0]):
        return ("statement: 'with' outside a match (a mutual theorem: its proof may call the theorems "
                "recursively, and Coq 8.16's guard checker accepts some non-terminating recursion) is not "
                "allowed")
    return None


def _mutual(statement: str) -> bool:
    """Whether ``statement`` has a ``with`` that no ``match`` before it takes (``Theorem a : A with b : B``:
    the statements are proved together, each proof seeing the others as recursive hypotheses)."""
    pending = 0
    for word in _COQ_IDENT.findall(statement):  # as Coq reads identifiers: ``matchα`` is no ``match``
        if word == "match":
            pending += 1
        elif word == "with":
            if pending == 0:
                return True
            pending -= 1
    return False


def check_coq_header(header: str) -> str | None:
    """Return why ``header`` must not reach Coq (``header_safety.check_header``), or ``None``."""
    return check_header(header)


def header_sentences(header: str) -> list[str]:
    """The header's sentences as they are checked and sent to Coq (comments removed, one line each);
    call only on a header ``check_coq_header`` accepted."""
    return header_text.header_sentences(header)


def check_coq_theorem(name: str, header: str, statement: str) -> str | None:
    """Return why a theorem's header or statement must not reach Coq, or ``None``."""
    if re.fullmatch(_IDENT, name) is None:
        return (f"theorem name {name!r}: only ASCII identifiers (letters, digits, _ and ', not first a "
                "digit) are supported as theorem names, though Coq accepts more; rename the theorem")
    return check_coq_header(header) or check_coq_statement(name, statement)


def statement_name(statement: str) -> str | None:
    """The name a ``Theorem``/``Lemma``/... statement declares, or None (for building a ``Theorem``
    from a bare statement, e.g. on the command line)."""
    match = _STATEMENT.match(statement.strip())
    return match.group(1) if match else None
