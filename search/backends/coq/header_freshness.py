"""Loading a header into coqtop so that it cannot change what a statement's names mean.

``Definition False := True.`` followed by ``Theorem f : False.`` states something trivial under a name
that reads as absurd; ``Definition S (n : nat) := n.`` does the same to ``forall n, n = S n``. So before
each header sentence runs, the names it declares (``header_names``) are looked up with ``Locate`` in the
environment built so far (the header's ``Require``s included):

- a term name it declares (constant, inductive, constructor, field, eliminator, abbreviation) that
  already names an object reachable by that short name is a *shadow*, unless the header's object is
  convertible with the one it hides (a benchmark header's own ``fact``, written as the library writes
  it: ``eq_refl : @fact = @Coq.Arith.Factorial.fact`` type-checks, so it means the same). A name the
  header declares with a sentence that mentions a shadow is a shadow too (``Definition myF := False.``
  after ``Definition False := True.``, or ``Notation succ := S.``). A statement that uses a shadow is
  refused (``check_statement``); a helper that shadows a library name no statement reaches changes no
  statement's meaning and is allowed. A notation whose symbols stand for a shadow (``Notation "!!" :=
  False.``) refuses the header: a statement would reach the shadow through no name;
- a module name it declares that already names a reachable module refuses the header
  (``Module Nat := ...``);
- a notation that adds a symbol or keyword Coq already reads refuses the header: a core token (``:``,
  ``->``, ``forall`` ...), a symbol of an existing notation (``Locate "+"``), or a name that already
  means something (``Notation "'False'" := True``).

After each sentence coqtop must have accepted it and must not be in proof mode. ``load_header`` is how a
session's coqtop loads its header and how the verifier checks a header this process has not met
(``verify``), so a theorem refused here is never reported proved. The shadows of each header are
remembered per coqtop (for the theorems a pooled coqtop opens after its header) and per process (for
verification: ``audit_prepare`` in a fresh audit coqtop, ``check_header_statement`` before a persistent
one).
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping

from search.backends.coq.assumptions import strip_tags
from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.coqtop import CoqTop, Reply
from search.backends.coq.header_names import declared, tokens
from search.backends.coq.header_text import header_sentences
from search.backends.process import ProcessDied
from search.backends.start_retry import start_with_retries
from search.errors import InvalidTheoremError, ProverError
from search.lookalike import WELL_KNOWN_NAMES, ascii_variants, name_problem
from search.types import Theorem

logger = logging.getLogger(__name__)

# Tokens and keywords of Coq's own term grammar: a notation that reuses one changes how terms parse.
CORE_TOKENS = frozenset({
    ":", ":=", "=>", "->", "<-", "|", ",", ";", "(", ")", "{", "}", "[", "]", "{|", "|}", "@", "%", "_",
    "'", "`", ".", "..", "!", "?", ":>", "::", ":<", "&", "$", "forall", "fun", "match", "with", "end",
    "as", "in", "return", "if", "then", "else", "let", "fix", "cofix", "struct", "for", "exists",
    "exists2", "Type", "Prop", "Set", "SProp", "where", "at", "using", "is",
})
# Modules the standard library defines under these short names: a header module so named reads as the
# library's even where that library is not loaded (Module Z := N. makes Z.le 0 x hold for every x).
LIBRARY_MODULES = frozenset({
    "Coq", "Init", "Nat", "N", "Z", "Pos", "Q", "Qc", "R", "Rdefinitions", "List", "ListNotations", "Bool",
    "Peano", "PeanoNat", "BinInt", "BinNat", "BinPos", "String", "Ascii", "Byte", "Vector", "Fin", "Int",
    "Sint63", "Uint63", "PrimFloat", "Ring", "Field", "Lia", "Lra", "Reals", "ZArith", "NArith", "QArith",
    "Arith", "Setoid", "Morphisms", "Relations", "Classical", "Logic", "Sets", "Sorting", "Streams",
})
_ENTRY = re.compile(r"^(?P<kind>Module Type|Module|Ltac2|Ltac|[A-Z]\w*)\s", re.MULTILINE)
_NOTE = "(shorter name to refer to it in current context is"
_QUALIFIED = re.compile(r"[^\W\d][\w']*(?:\.[^\W\d][\w']*)*")  # False, Logic.False, Nat.add
_NUMERAL = re.compile(r"[-+]?\d")  # 2, 0x2, -1: what the lexer would read as a number
_CACHE_SIZE = 256

Shadows = Mapping[str, str]  # a header's term name -> the library object it hides


class _QueryFailed(ProverError):
    """coqtop refused a Locate query."""


class _Memory:
    """The shadows of headers loaded so far: per coqtop (weakly) and per process (bounded, by header and
    Coq command line)."""

    def __init__(self) -> None:
        self.by_top: weakref.WeakKeyDictionary[CoqTop, Shadows] = weakref.WeakKeyDictionary()
        self.by_header: OrderedDict[tuple[str, ...], Shadows] = OrderedDict()
        self.lock = threading.Lock()

    def remember(self, top: CoqTop, key: tuple[str, ...], shadows: Shadows) -> None:
        with self.lock:
            self.by_top[top] = shadows
            self.by_header[key] = shadows
            self.by_header.move_to_end(key)
            while len(self.by_header) > _CACHE_SIZE:
                self.by_header.popitem(last=False)

    def for_header(self, key: tuple[str, ...]) -> Shadows | None:
        with self.lock:
            return self.by_header.get(key)

    def for_top(self, top: CoqTop) -> Shadows | None:
        with self.lock:
            return self.by_top.get(top)


_memory = _Memory()


def _key(header: str, config: CoqBackendConfig) -> tuple[str, ...]:
    return (header, config.coqtop, *config.coq_args)


def load_header(top: CoqTop, theorem: Theorem, config: CoqBackendConfig) -> Shadows:
    """Run ``theorem``'s header in ``top`` (started, outside any proof), sentence by sentence, with the
    checks of the module docstring; return (and remember) the header's shadows. The statement is not
    checked here: call ``check_statement`` for each theorem opened on this header.

    Raises ``InvalidTheoremError`` naming the sentence and the name; ``ProcessTimeout`` /
    ``ProcessDied`` from coqtop.
    """
    timeout = config.start_timeout
    shadows: dict[str, str] = {}
    for sentence in header_sentences(theorem.header):
        hidden: dict[str, str] = {}
        try:
            reason = _census(top, sentence, shadows, hidden, timeout)
        except _QueryFailed as exc:
            reason = str(exc)
        if reason is not None:
            raise InvalidTheoremError(theorem.name, f"header sentence {sentence[:80]!r}: {reason}")
        before = top.state_id
        reply = top.command(sentence, timeout)
        if reply.state_id == before or reply.error is not None:
            raise InvalidTheoremError(theorem.name, f"header sentence {sentence!r}: {reply.error}")
        if reply.proof is not None:
            raise InvalidTheoremError(theorem.name, f"header sentence {sentence!r} opened a proof")
        for name, owner in hidden.items():
            if not _same_object(top, name, owner, timeout):
                shadows[name] = f"redefines {name!r}, which already names {owner}"
    _memory.remember(top, _key(theorem.header, config), shadows)
    return shadows


def check_statement(theorem: Theorem, shadows: Shadows) -> None:
    """Refuse a statement that uses a name its header shadows; raises ``InvalidTheoremError``."""
    used = sorted(_mentioned(theorem.statement) & set(shadows))
    if used:
        name = used[0]
        raise InvalidTheoremError(
            theorem.name, f"the header {shadows[name]}, and the statement uses {name!r}: it would not mean "
                          "what it says")


def check_opened_on(top: CoqTop, theorem: Theorem) -> None:
    """``check_statement`` for a theorem about to open on ``top``, whose header ``load_header`` loaded.

    Raises ``InvalidTheoremError`` (also when ``top`` did not load its header through ``load_header``:
    its shadows are unknown, so nothing can be said about the statement)."""
    shadows = _memory.for_top(top)
    if shadows is None:
        raise InvalidTheoremError(theorem.name, "the header was not loaded through load_header; "
                                                "cannot check that the statement means what it says")
    check_statement(theorem, shadows)


def audit_prepare(theorem: Theorem, config: CoqBackendConfig) -> Callable[[CoqTop, float], None]:
    """What the verifier's audit coqtop runs before it loads the compiled proof: the statement check,
    from the header's remembered shadows or by loading the header there. Raises ``InvalidTheoremError``."""
    def prepare(top: CoqTop, seconds: float) -> None:
        shadows = _memory.for_header(_key(theorem.header, config))
        if shadows is None:
            shadows = load_header(top, theorem, config)
        check_statement(theorem, shadows)
    return prepare


def check_header_statement(theorem: Theorem, config: CoqBackendConfig, cwd: str) -> None:
    """``check_statement`` with the header's shadows: remembered in this process, or found by loading the
    header in a fresh coqtop (in ``cwd``, closed after; remembered from then on). For verifiers whose
    audit coqtop only loads compiled files. Raises ``InvalidTheoremError`` and the process errors."""
    shadows = _memory.for_header(_key(theorem.header, config))
    if shadows is None:
        top = CoqTop(config, name=f"coqtop[header {theorem.name}]", cwd=cwd)
        try:
            start_with_retries(lambda: top.start(config.start_timeout), attempts=config.start_attempts,
                               backoff=config.start_backoff, what=f"coqtop[header {theorem.name}]",
                               retry_if=lambda error: isinstance(error, ProcessDied))
            shadows = load_header(top, theorem, config)
        finally:
            top.close()
    check_statement(theorem, shadows)


def _census(top: CoqTop, sentence: str, shadows: dict[str, str], hidden: dict[str, str],
            timeout: float) -> str | None:
    """Before ``sentence`` runs: put the term names it declares that hide a reachable object into
    ``hidden`` (name -> that object), and those it defines with an earlier shadow into ``shadows``;
    return why it must be refused (a module or notation that hides something), or ``None``."""
    names = declared(sentence)
    for name in (*names.terms, *names.modules):
        if (problem := name_problem(name)) is not None:
            return problem
        if (problem := _drawn_like(top, name, timeout)) is not None:
            return problem
    # by a token's last part, a qualified name ending in a shadow (Top.False) counts as using it too: the
    # top module's name varies (symbols never match a shadow's name)
    mentioned = _mentioned(sentence)
    used = sorted(mentioned & set(shadows) - set(names.terms))
    if used and names.terminals:  # a symbol or keyword for a shadow: no name left to refuse it by
        return f"the notation stands for {used[0]!r}, which the header {shadows[used[0]]}"
    for name in names.terms:
        if used:
            shadows[name] = f"defines {name!r} with {used[0]!r}, which it {shadows[used[0]]}"
        owner = _reachable(_locate(top, name, timeout), modules=False)
        if owner is not None:
            hidden[name] = owner
    for name in names.modules:
        if name in LIBRARY_MODULES:
            return f"module {name!r} is a name the standard library gives a module (loaded or not)"
        if owner := _reachable(_locate(top, name, timeout), modules=True):
            return f"module {name!r} already names {owner}"
    for terminal in names.terminals:
        if (problem := _terminal_problem(top, terminal, timeout)) is not None:
            return problem
    return None


def _drawn_like(top: CoqTop, name: str, timeout: float) -> str | None:
    """Why ``name`` may not be declared: it is drawn like a well-known name that the environment reaches
    by that short name (``FaIse`` with a capital ``I`` reads as ``False``), or ``None``. Ordinary names
    drawn like obscure ones (``x0`` beside ``BinNums.xO``) are fine."""
    for variant in ascii_variants(name):
        if variant not in WELL_KNOWN_NAMES:
            continue
        try:
            owner = _reachable(_locate(top, variant, timeout), modules=False)
        except _QueryFailed:  # not a name Coq can look up (a keyword): nothing it could be read as
            continue
        if owner is not None:
            return (f"{name!r} is drawn like {variant!r}, which names {owner}: header names may not be read "
                    "as the library's")
    return None


def _terminal_problem(top: CoqTop, terminal: str, timeout: float) -> str | None:
    """Why a notation may not make ``terminal`` a token. Coq's lexer reads the longest token it knows, so
    a new symbol glued from old ones (``=0``, ``->False``, ``+++``) re-reads text that meant something
    before (``n=0``); a symbol drawn like another (``＝``, ``−``) or one of the standard Unicode notations
    (``∧``, ``≠``) reads as what it is not."""
    if terminal in CORE_TOKENS or '"' in terminal:
        return f"the notation reuses Coq's own token {terminal!r}"
    if _NUMERAL.match(terminal):
        return f"the notation makes the number {terminal!r} a token: numbers would not mean what they say"
    if _QUALIFIED.fullmatch(terminal):
        if (problem := name_problem(terminal)) is not None:
            return problem
        if not _locate(top, terminal, timeout).strip().startswith("No object"):
            return f"the notation makes {terminal!r}, which already names something, a keyword"
        return None
    if not terminal.isascii():
        return f"the notation's symbol {terminal!r} is not ASCII: it may read as another symbol"
    if any(char.isalnum() or char == "_" for char in terminal):
        return (f"the notation's symbol {terminal!r} glues letters or digits to symbols: it would re-read "
                "text such as n=0")
    for length in range(len(terminal), 0, -1):
        for start in range(len(terminal) - length + 1):
            part = terminal[start:start + length]
            if part in CORE_TOKENS or _known_symbol(top, part, timeout):
                what = "is" if part == terminal else "contains"
                return f"the notation's symbol {terminal!r} {what} the existing token {part!r}"
    return None


def _known_symbol(top: CoqTop, symbol: str, timeout: float) -> bool:
    return strip_tags(_ask(top, f'Locate "{symbol}".', timeout).output).strip() != "Unknown notation"


def _mentioned(text: str) -> set[str]:
    """The names ``text`` mentions, a qualified one by its last part: ``Top.False`` or ``M.False`` reach
    a header's ``False`` whatever the top module is called (a library path such as ``Logic.False`` counts
    too: refusing it under a header that shadows ``False`` is the safe side)."""
    return {token.rsplit(".", 1)[-1] for token in tokens(text)}


def _same_object(top: CoqTop, name: str, owner: str, timeout: float) -> bool:
    """Whether the header's ``name`` is convertible with ``owner`` (a ``Locate`` entry such as ``Constant
    Coq.Arith.Factorial.fact``), the object it hides: then it means the same and hides nothing."""
    parts = owner.split()
    if len(parts) < 2 or not re.fullmatch(r"[\w'.]+", parts[1]):
        return False
    before = top.state_id
    reply = top.command(f"Check (eq_refl : @{name} = @{parts[1]}).", timeout)
    return reply.state_id != before and reply.error is None


def _locate(top: CoqTop, name: str, timeout: float) -> str:
    return strip_tags(_ask(top, f"Locate {name}.", timeout).output)


def _ask(top: CoqTop, command: str, timeout: float) -> Reply:
    before = top.state_id
    reply = top.command(command, timeout)
    if reply.state_id == before or reply.error is not None:
        raise _QueryFailed(f"{command} failed in coqtop: {reply.error}")
    return reply


def _reachable(located: str, *, modules: bool) -> str | None:
    """The first object in ``Locate``'s answer that its short name reaches (no "shorter name" note),
    among modules or among terms; ``None`` when there is none."""
    text = located.strip()
    if text.startswith("No object of basename"):
        return None
    starts = list(_ENTRY.finditer(text))
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        entry = " ".join(text[match.start():end].split())
        kind = match["kind"]
        if (kind == "Module") != modules or kind in ("Module Type", "Ltac", "Ltac2"):
            continue
        if _NOTE not in entry:
            return entry
    return None
