"""Which headers may reach Coq: what benchmark headers contain, nothing that changes what is provable.

A header comes from a benchmark or a user, never from a model (model text is a tactic or a statement and
keeps the strict rules of ``safety``). It is read as Coq reads it (``header_text``: comments removed by a
nesting-, string-aware lexer) and every sentence must be one of:

- ``Require`` / ``From L Require`` with ``Import``/``Export`` or neither (logical names only: nothing
  loaded by path), and a plain ``Import`` / ``Export`` of notation modules (``Import ListNotations.``):
  importing another module rebinds the short names a statement reads (``Import Z.`` makes ``lt`` Z's);
- ``Open Scope`` / ``Close Scope`` (``Local``/``Global``), ``Declare Scope`` (not ``Delimit Scope``, which
  can rebind a key such as ``%R`` that a statement reads);
- ``Definition``, ``Fixpoint``, ``Inductive``, ``CoInductive``, ``Variant``, ``Record``, ``Structure``
  with a body, ``Notation``, ``Infix``, ``Module M := F(X).`` (optionally ``Local`` or
  ``#[local]``/``#[global]``/``#[export]``). A ``Fixpoint`` must be evidently structural: every recursive
  call passes, at one parameter of type ``nat``, ``list`` or ``positive``, a variable a ``match`` bound
  under a constructor of that parameter (``header_recursion``, which reads the text and does not rely on
  Coq 8.16's guard checker: it accepts some non-terminating fixpoints, rocq#20455, and one proves
  ``False``). ``CoFixpoint``, mutual fixpoints and a term-level ``fix`` / ``cofix`` are refused anywhere;
- ``Set``/``Unset`` of an option that does not touch the logic (``SAFE_OPTIONS``), ``Set Warnings "..."``
  and ``Set Bullet Behavior "..."``.

Everything else is refused, in particular ``Axiom``, ``Parameter``, ``Hypothesis``, ``Variable``,
``Conjecture``, ``Admitted``, ``Unset Guard Checking`` / ``Universe Checking`` / ``Positivity Checking``,
``#[bypass_check(...)]``, ``Declare ML Module``, ``Load``, ``Add LoadPath``, ``Cd``, ``Program``,
``Ltac``, proofs, sections and open modules. The names a header declares must also be fresh where the
statement uses them (``header_freshness``, which needs coqtop).
"""

from __future__ import annotations

import re

from search.backends.coq.header_names import LOCALITY, HeaderNamesError, declared, header_inductive
from search.backends.coq.header_recursion import FIXPOINT, check_recursion
from search.backends.coq.header_text import HeaderTextError, header_sentences

# Options a header may set: elaboration and printing conveniences; none changes what the kernel accepts.
SAFE_OPTIONS = frozenset({
    "Implicit Arguments", "Strict Implicit", "Contextual Implicit", "Maximal Implicit Insertion",
    "Reversible Pattern Implicit", "Printing Implicit Defensive", "Asymmetric Patterns",
    "Printing Coercions", "Printing Implicit", "Printing All", "Printing Notations",
    "Universe Polymorphism",
})  # not the equality-scheme options: the names they generate (T_eq_dec, T_beq) escape the name checks
# Words refused anywhere in a header: they admit goals, end proofs or skip the kernel's checks.
HEADER_UNSOUND_WORDS = frozenset({
    "admit", "give_up", "Admitted", "Abort", "Qed", "Defined", "Save", "Proof", "exact_no_check",
    "vm_cast_no_check", "native_cast_no_check", "change_no_check", "native_compute", "ltac", "Ltac",
    "Axiom", "Axioms", "Parameter", "Parameters", "Conjecture", "Hypothesis", "Hypotheses", "Variable",
    "Variables", "Context", "bypass_check", "Guard", "Positivity", "Universe", "Unsafe", "Typing",
    "Load", "LoadPath", "ML", "Program", "Obligation", "Obligations", "Extraction", "Redirect", "Drop",
    "AdmitAxiom",  # Coq.Compat.AdmitAxiom: `Axiom proof_admitted : False`, the stdlib's own admit
    # Ltac2 lets a term be built from the kernel's own constructors (``Constr.Unsafe``): a fixpoint no
    # word ``fix`` spells, and native compilation no word ``native_compute`` spells
    "Ltac2", "ltac2",
    # the bytecode VM is trusted by the kernel (``vm_compute`` leaves a VM cast that ``Qed`` re-runs on
    # the same VM); Coq 8.16's computes a primitive-integer ``addmuldiv`` wrongly (rocq#19402): False
    "vm_compute",
})

# Commands that assume what they declare: a proof could use it unproved. Named as such when refused.
ASSUMPTION_COMMANDS = frozenset({
    "Axiom", "Axioms", "Parameter", "Parameters", "Conjecture", "Hypothesis", "Hypotheses", "Variable",
    "Variables", "Context",
})

_QUALID = r"[^\W\d][\w']*(?:\.[^\W\d][\w']*)*"
_QUALIDS = rf"{_QUALID}(?: {_QUALID})*"
_IDENT = r"[^\W\d][\w']*"
_LOCALITY = LOCALITY
_FORMS = {
    "require": re.compile(rf"(?:From {_QUALID} )?Require(?: (?:Import|Export))? {_QUALIDS}\."),
    "import": re.compile(rf"(?:Import|Export) {_QUALIDS}\."),
    "scope": re.compile(rf"{_LOCALITY}(?:Open|Close) Scope {_IDENT}\."),
    "declare scope": re.compile(rf"Declare Scope {_IDENT}\."),
    "definition": re.compile(
        rf"{_LOCALITY}(?:Definition|Fixpoint|CoFixpoint|Inductive|CoInductive|Variant|Record|Structure)"
        rf" {_IDENT}\b.* ?:= ?.*\."),
    "notation": re.compile(rf'{_LOCALITY}(?:Notation (?:"[^"\n]*"|{_IDENT})|Infix "[^"\n]*") .*:= ?.*\.'),
    "module": re.compile(rf"Module {_IDENT} ?:= ?{_QUALID}(?: ?\(? ?{_QUALID} ?\)?)*\."),
    "option": re.compile(rf"{_LOCALITY}(?:Set|Unset) (?P<option>[A-Z][A-Za-z]*(?: [A-Z][A-Za-z]*)*)\."),
    # which warnings Coq prints, and how bullets structure a proof: nothing a statement or kernel reads
    "setting": re.compile(rf'{_LOCALITY}Set (?:Warnings|Bullet Behavior) "[\w+,\- ]*"\.'),
}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_']*")
_ASSUMPTION = re.compile(rf"{_LOCALITY}(?P<word>{'|'.join(sorted(ASSUMPTION_COMMANDS))})\b")
_BAD_CHAR = re.compile(r"[^\S \t\n\r]|[\x00-\x08\x0b-\x1f\x7f]")
_STRING = re.compile(r'"(?:[^"]|"")*"')
_NOTATION = re.compile(rf"{_LOCALITY}(?:Notation|Infix)\b")


def check_header(header: str) -> str | None:
    """Why ``header`` must not reach Coq, or ``None`` (see the module docstring)."""
    bad = _BAD_CHAR.search(header)
    if bad is not None:
        return f"header: character {bad.group()!r} is not allowed"
    if "<prompt" in header or "</" in header:
        return "header: text that looks like coqtop's prompt markup is not allowed"
    try:
        sentences = header_sentences(header)
    except HeaderTextError as exc:
        return f"header: {exc}"
    modules: set[str] = set()
    notation: str | None = None  # the header's first notation sentence, once seen
    inductives: set[str] = set()  # the header's own inductive types a Fixpoint may recurse on
    for sentence in sentences:
        reason = check_header_sentence(sentence, modules, frozenset(inductives))
        if reason is None and notation is not None and FIXPOINT.match(sentence):
            reason = (f"a Fixpoint after the header's own notation ({notation[:60]!r}) is not allowed: a "
                      "notation can dress a binder or the whole value as a pattern, past the check that "
                      f"the recursion is structural (state the notation after it): {sentence[:80]!r}")
        if reason is not None:
            return f"header: {reason}"
        if notation is None and _NOTATION.match(sentence):
            notation = sentence
        if (inductive := header_inductive(sentence)) is not None:
            inductives.add(inductive)
    return None


def _classify(sentence: str) -> tuple[str, re.Match[str]] | None:
    """The first of ``_FORMS`` that the whole sentence matches, with its match."""
    for name, pattern in _FORMS.items():
        if (match := pattern.fullmatch(sentence)) is not None:
            return name, match
    return None


def cast_problem(text: str) -> str | None:
    """Why ``text`` (strings already blanked) holds a cast the kernel does not check itself, or None: ``<<:``
    compiles and runs OCaml (``native_compute``), ``<:`` runs the bytecode VM, whose Coq 8.16 computes a
    primitive-integer ``addmuldiv`` wrongly (rocq#19402)."""
    if "<<:" in text:
        return "'<<:' (a native_compute cast) is not allowed"
    if "<:" in text:
        return "'<:' (a vm_compute cast) is not allowed"
    return None


def check_header_sentence(sentence: str, header_modules: set[str],
                          inductives: frozenset[str] = frozenset()) -> str | None:
    """Why one canonical header sentence is refused, or ``None``; ``header_modules`` collects the
    modules the header itself defines (they may not be imported); ``inductives`` are the header's own
    inductive types a Fixpoint may recurse on (``header_names.header_inductive``)."""
    if any("\n" in s or "\t" in s or "\r" in s for s in _STRING.findall(sentence)):
        return f"line breaks inside strings are not allowed: {sentence[:80]!r}"
    cast = cast_problem(_STRING.sub('""', sentence))
    if cast is not None:
        return f"{cast}: {sentence[:80]!r}"
    command = _ASSUMPTION.match(sentence)
    if command is not None:
        return (f"{command['word']!r} is not allowed: it declares an assumption, which a proof could use "
                f"without proving it (state it as a hypothesis of the theorem instead): {sentence[:80]!r}")
    classified = _classify(sentence)
    if classified is None:
        return f"command not allowed: {sentence[:80]!r}"
    form, match = classified
    word = next((w for w in _WORD.findall(sentence) if w in HEADER_UNSOUND_WORDS), None)
    if word is not None and not (form == "option" and word == "Universe"):
        return f"{word!r} is not allowed: {sentence[:80]!r}"
    reason = check_recursion(sentence, inductives)  # structural only: 8.16's guard checker has holes
    if reason is not None:
        return reason
    if form == "option":
        option = match["option"]
        if option not in SAFE_OPTIONS:
            return f"option {option!r} is not allowed in a header: {sentence[:80]!r}"
    if form == "import":
        modules = sentence.rstrip(".").split()[1:]
        if set(modules) & header_modules:
            return f"importing a module the header defines is not allowed: {sentence[:80]!r}"
        rebinding = [m for m in modules if not m.rsplit(".", 1)[-1].endswith("Notations")]
        if rebinding:
            return (f"importing {rebinding[0]!r} would rebind the short names the statement reads (Import Z. "
                    "makes lt and pred Z's): import notation modules only, or Require Import a library: "
                    f"{sentence[:80]!r}")
    try:
        names = declared(sentence)
    except HeaderNamesError as exc:
        return f"{exc}: {sentence[:80]!r}"
    header_modules.update(names.modules)
    return None
