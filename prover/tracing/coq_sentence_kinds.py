"""What a sentence of a ``.v`` file is, read from its words without running it: a tactic (``is_tactic``),
a proof's end (``END_OK``/``END_SKIP`` by ``command_word``), a proof given as a term (``closes_with_term``),
a statement that opens a proof (``opens_proof``) and the name it declares (``declared_name``), an
obligation or ``Program`` declaration, the ``Nested Proofs Allowed`` option; and a tactic's ``...`` under
``Proof with`` as the tactic it runs (``proof_with``, ``expand_ellipsis``). The replay (``coq_replay``)
decides from these what to send to coqtop and what to record; the stdlib benchmark reads proofs' ends
with them too.
"""

from __future__ import annotations

import re

from prover.tracing.coq_source import SourceSentence

LOAD_COMMANDS = frozenset({"Require", "From", "Load"})
END_OK = frozenset({"Qed", "Defined", "Save"})
END_SKIP = {"Admitted": "admitted", "Abort": "aborted"}
_SELECTOR = re.compile(
    r"(?:all|par|!|\[\s*[A-Za-z_][\w']*\s*\]|\d+(?:\s*-\s*\d+)?(?:\s*,\s*\d+(?:\s*-\s*\d+)?)*)\s*:(?!=)\s*"
)

# Vernacular commands a proof may hold between its tactics: not steps. Any other capitalised first word
# inside a proof is a tactic (``Time tac``, ``Unshelve``, a user's ``Ltac Esimpl``, ``Z.le_elim H``).
COMMAND_WORDS = frozenset({
    "Show", "Check", "Print", "About", "Locate", "Search", "SearchPattern", "SearchRewrite", "SearchHead",
    "Eval", "Compute", "Focus", "Unfocus", "Unfocused", "Set", "Unset", "Local", "Global", "Hint", "Opaque",
    "Transparent", "Strategy", "Require", "Import", "Export", "Open", "Close", "Arguments", "Implicit",
    "Notation", "Infix", "Reserved", "Tactic", "Ltac", "Ltac2", "Proof", "Existential", "Guarded", "Undo",
    "Restart", "Back", "BackTo", "Redirect", "Fail", "Instructions", "Optimize", "Create", "Remove", "Add",
    "Declare", "Typeclasses", "Obligation", "Obligations", "Next", "Solve", "Goal", "Section", "End",
    "Module", "Variable", "Variables", "Hypothesis", "Hypotheses", "Let", "Scheme", "Generalizable",
    "Context", "Test", "Debug", "Info", "Succeed", "Abort", "Admitted", "Qed", "Defined", "Save",
    "Definition", "Fixpoint", "CoFixpoint", "Instance", "Existing", "Inductive", "CoInductive", "Record",
    "Structure", "Class", "Coercion", "Canonical", "Universe", "Universes", "Constraint", "Polymorphic",
    "Monomorphic", "Program", "Equations", "Derive", "Extraction", "Recursive", "Separate", "Time",
    "Axiom", "Axioms", "Parameter", "Parameters", "Conjecture", "Conjectures", "Delimit", "Bind", "Include",
    "Register", "Primitive", "Function", "Functional", "Identity", "Abbreviation", "Combined", "Cd",
    "Load", "Drop", "Quit", "Reset", "From", "Theorem", "Lemma", "Fact", "Remark", "Corollary",
    "Proposition", "Example", "Property", "Timeout", "Attributes", "Comments", "Default",
})
NESTED_OPTION = re.compile(r"(?:(?:Local|Global|Export)\s+)?(Set|Unset)\s+Nested\s+Proofs\s+Allowed\b")
# ``Time``/``Timeout N``/``Info N`` before a tactic, not part of it
TACTIC_PREFIXES = re.compile(r"^(?:(?:Time|Timeout\s+\d+|Info\s+\d+)\s+)+")
_STATEMENTS = frozenset({"Theorem", "Lemma", "Fact", "Remark", "Corollary", "Proposition", "Example",
                         "Property"})
_PROOF_KEYWORDS = frozenset({"Definition", "Instance", "Fixpoint"})
# ``Next Obligation.``, ``Obligation 2 of f with tac.``: groups (number, program), each optional
OBLIGATION = re.compile(r"(?:Next\s+)?Obligation(?:\s+(\d+))?"
                        r"(?:\s+of\s+([A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*))?\s*(?:with\b|\.?\s*$)", re.S)
PROGRAM = re.compile(r"(?:#\[[^\]]*\bprogram\b|(?:(?:Local|Global|Polymorphic|Monomorphic)\s+)*Program\s)")


def is_tactic(sentence: SourceSentence, *, in_proof: bool = False) -> bool:
    """A tactic sentence: after an optional goal selector, a lower-case word, ``(`` or ``[``; inside a
    proof (``in_proof``) also a capitalised or qualified name that is no command (``Z.le_elim H``,
    ``Unshelve``, a file's own ``Ltac Esimpl``), and ``Time``/``Timeout N``/``Info N`` before a tactic
    (recorded without them: a search sends the tactic alone)."""
    if sentence.kind != "sentence":
        return False
    selector = _SELECTOR.match(sentence.text)
    rest = sentence.text[selector.end():] if selector else sentence.text
    if not rest:
        return False
    if rest[0].islower() or rest[0] in "([":
        return True
    if not in_proof:
        return False
    prefix = TACTIC_PREFIXES.match(rest)
    if prefix is not None:
        return is_tactic(SourceSentence(rest[prefix.end():], 0, 0, 0), in_proof=True)
    word = re.match(r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*", rest)
    if word is None:
        return False
    name = word.group()
    return "." in name or (name not in COMMAND_WORDS and name not in _STATEMENTS
                           and name not in _PROOF_KEYWORDS and name not in END_SKIP)


def command_word(sentence: SourceSentence) -> str:
    """The sentence's first word once ``Time``/``Timeout N`` are set aside (``Time Qed.`` ends a proof)."""
    prefix = TACTIC_PREFIXES.match(sentence.text)
    if prefix is None:
        return sentence.first_word
    match = re.match(r"[A-Za-z_][\w']*", sentence.text[prefix.end():])
    return match.group() if match else ""


def proof_with(text: str) -> str:
    """The tactic of ``Proof with T.`` or ``Proof using x with T.``, or ''. Everything after the first
    ``with`` is the tactic (``Proof with auto using h.``: Coq runs ``auto using h``)."""
    match = re.match(r"Proof\b.*?\bwith\s+(.*?)\.?\s*$", text, re.S)
    return match.group(1).strip() if match else ""


def expand_ellipsis(tactic: str, with_tactic: str) -> str:
    """``t...`` under ``Proof with w`` as the tactic it runs, ``t; w`` (each part parenthesised when it
    holds a ``;`` or ``|``), so the row is a tactic a search can send; without ``Proof with``, ``t...``
    runs ``t`` alone (a search would send ``t....``, which Coq's lexer refuses): ``t``. Any other tactic
    as it is."""
    if not tactic.endswith("..."):
        return tactic
    if not with_tactic:
        return tactic[:-3].rstrip()

    def part(text: str) -> str:
        wrapped = text.startswith("(") and text.endswith(")")
        return f"({text})" if re.search(r"[;|]", text) and not wrapped else text

    return f"{part(tactic[:-3].rstrip())}; {part(with_tactic)}"


def closes_with_term(sentence: SourceSentence) -> bool:
    """``Proof <term>.``: the proof given as a term, which ends it (no ``Qed`` follows)."""
    match = re.match(r"Proof\b\s*(.*?)\.?\s*$", sentence.text, re.S)
    rest = match.group(1).strip() if match else ""
    return bool(rest) and not re.match(r"(using|with|Mode)\b", rest)


def is_end_word(word: str | None) -> bool:
    """Whether a sentence's command word ends a proof: ``Qed``/``Defined``/``Save`` (kept) or
    ``Admitted``/``Abort`` (skipped), also after ``Time``/``Timeout N`` (``command_word``)."""
    return word in END_OK or word in END_SKIP


def ends_proof(sentence: SourceSentence) -> bool:
    """Whether ``sentence`` ends a proof: an end word, or ``Proof <term>.``."""
    return is_end_word(command_word(sentence)) or closes_with_term(sentence)


def opens_proof(sentence: SourceSentence) -> bool:
    """Whether the sentence states something to prove (read from its words, without running it)."""
    return sentence.first_word in _STATEMENTS or (
        sentence.first_word in _PROOF_KEYWORDS and ":=" not in sentence.text)


def declared_name(text: str) -> str:
    """The name a declaration sentence declares (``Lemma foo ...`` -> ``foo``; ``Goal`` -> coqtop's
    ``Unnamed_thm``), or ''. Obligations are named by ``Replay._statement_name`` (``coq_replay``)."""
    if re.match(r"Goal\b", text):
        return "Unnamed_thm"
    match = re.match(r"(?:#\[[^\]]*\]\s*)?(?:(?:Local|Global|Program|Polymorphic)\s+)*[A-Z]\w*\s+"
                     r"([A-Za-z_][\w']*)", text)
    return match.group(1) if match else ""
