"""The lemmas of a stdlib file that the benchmark attempts: traced ``Qed``/``Defined`` proofs stated with
``Theorem``/``Lemma``/..., located in the file's sentences, with the module path that qualifies their name
and the ``End`` sentences that close the sections and modules open around them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from prover.retrieval.premises import Premise, statement_name
from prover.tracing.coq_source import SourceSentence
from prover.tracing.dataset import ProofRecord
from search.backends.coq.safety import check_coq_statement

_OPENER = re.compile(r"(Section|Module(?:\s+Type)?)\s+(?:(?:Import|Export)\s+)?([A-Za-z_][\w']*)")
_WITH = re.compile(r"with\s+(?:Definition|Module)\s+[\w.']+\s*:=\s*[\w.']+")
_END = re.compile(r"End\s+([A-Za-z_][\w']*)\s*\.$")


@dataclass(frozen=True)
class StdlibLemma:
    """A lemma to re-prove: its file, name, statement sentence (index among the file's sentences, line),
    its name qualified by the modules around it, and the sentences that close what is open there."""

    unit: str
    name: str
    line: int
    index: int
    statement: str
    qualified: str
    closers: tuple[str, ...]
    checkable: bool = True  # False inside a functor, a module type or a sealed module: the compiled
    # file has no constant to audit under ``qualified`` (see ``_track``)

    @property
    def key(self) -> str:
        return f"{self.unit}:{self.name}:{self.line}"


def file_lemmas(unit: str, sentences: Sequence[SourceSentence],
                proofs: Sequence[ProofRecord]) -> tuple[list[StdlibLemma], dict[str, str]]:
    """The file's attemptable lemmas in file order, and why each other traced proof was left out."""
    traced = {(p.line, p.theorem) for p in proofs if p.status == "traced"}
    lemmas: list[StdlibLemma] = []
    left_out: dict[str, str] = {}
    stack: list[tuple[str, str]] = []  # (kind, name) of the open sections and modules
    for index, sentence in enumerate(sentences):
        name = _statement_name(sentence.text)
        if name is not None and (sentence.line, name) in traced:
            reason = check_coq_statement(name, sentence.text)
            if reason is not None:
                left_out[f"{unit}:{name}"] = reason
            else:
                modules = [n for kind, n in stack if kind != "Section"]
                lemmas.append(StdlibLemma(unit, name, sentence.line, index, sentence.text,
                                          ".".join([*modules, name]),
                                          tuple(f"End {n}." for _, n in reversed(stack)),
                                          all(kind in ("Section", "Module") for kind, _ in stack)))
        _track(sentence.text, stack)
    return lemmas, left_out


def prefix_premises(sentences: Sequence[SourceSentence], lemma: StdlibLemma) -> list[Premise]:
    """The lemmas stated in the file before ``lemma``, named as a proof of ``lemma`` must write them: a
    lemma of a module closed since is ``M.name``; one of a closed functor, module type or sealed module
    is not reachable by name and left out. Statement sentences only: no proof is read."""
    return stated_before(sentences, lemma.index)


def stated_before(sentences: Sequence[SourceSentence], end: int, qualifier: str = "") -> list[Premise]:
    """The lemmas stated in ``sentences[:end]`` that can be named right after them (``prefix_premises``'
    rule), each name prefixed with ``qualifier.`` when one is given (a library's logical name)."""
    stack: list[tuple[str, str]] = []
    found: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
    for sentence in sentences[:end]:
        name = statement_name(sentence.text)
        if name is not None:
            found.append((name, sentence.text, tuple(stack)))
        _track(sentence.text, stack)
    premises = []
    for name, text, where in found:
        common = 0
        while common < min(len(where), len(stack)) and where[common] == stack[common]:
            common += 1
        closed = where[common:]
        if any(kind not in ("Section", "Module") for kind, _ in closed):
            continue
        path = [n for kind, n in closed if kind == "Module"]
        premises.append(Premise(".".join([*([qualifier] if qualifier else []), *path, name]), text))
    return premises


_DECLARATION = re.compile(
    r"(?:(?:Local|Global|Polymorphic|Program|#\[[^\]]*\])\s+)*"
    r"(?:Theorem|Lemma|Fact|Remark|Corollary|Proposition|Example|Definition|Fixpoint|CoFixpoint|Instance)"
    r"\s+([A-Za-z_][\w']*)")


def declared_paths(sentences: Sequence[SourceSentence], end: int) -> frozenset[str]:
    """The paths inside the compiled file (``M.name``: modules, not sections) of the lemmas, definitions
    and instances stated in ``sentences[:end]``: constants a proof of the lemma at ``end`` may use from the
    compiled copy of its file, since none of them can depend on that lemma or anything after it."""
    return _declared(sentences, end, _DECLARATION, global_only=False)


_AXIOM = re.compile(r"(?:(?:Local|Global|Polymorphic|#\[[^\]]*\])\s+)*(?:Axiom|Parameter)\s+"
                    r"([A-Za-z_][\w']*)")


def declared_axioms(sentences: Sequence[SourceSentence], end: int) -> frozenset[str]:
    """The paths inside the compiled file (``M.name``: modules, not sections) of the axioms
    ``sentences[:end]`` declare outside functors, module types and sealed modules (whose ``Axiom``s
    declare nothing global): what the file's replayed prefix re-declares under the check file's name."""
    return _declared(sentences, end, _AXIOM, global_only=True)


def _declared(sentences: Sequence[SourceSentence], end: int, pattern: re.Pattern[str], *,
              global_only: bool) -> frozenset[str]:
    """The in-file paths of the names ``pattern`` declares in ``sentences[:end]`` (``global_only``: only
    those inside nothing but modules and sections)."""
    stack: list[tuple[str, str]] = []
    paths = set()
    for sentence in sentences[:end]:
        match = pattern.match(sentence.text.lstrip())
        if match is not None and (not global_only or all(k in ("Module", "Section") for k, _ in stack)):
            paths.add(".".join([*(n for kind, n in stack if kind != "Section"), match.group(1)]))
        _track(sentence.text, stack)
    return frozenset(paths)


def _statement_name(text: str) -> str | None:
    # The benchmark's lemma selection keeps its own fixed rule (bare keywords, ``Example`` included), so
    # that the sample stays what the published runs attempted; premises use ``statement_name``.
    match = re.match(r"(?:Theorem|Lemma|Fact|Remark|Corollary|Proposition|Example)\s+([A-Za-z_][\w']*)",
                     text)
    return match.group(1) if match else None


def _track(text: str, stack: list[tuple[str, str]]) -> None:
    """Follow ``Section``/``Module`` openings (a module with ``:=`` opens nothing) and ``End``s. A module
    with parameters is a ``Functor``, one sealed by ``: T`` is ``Sealed``: their lemmas are not constants
    of the compiled file (``<: T`` keeps them and is a plain ``Module``)."""
    end = _END.match(text)
    if end is not None:
        if stack and stack[-1][1] == end.group(1):
            stack.pop()
        return
    opener = _OPENER.match(text)
    if opener is None or ":=" in _WITH.sub("", text):  # ``:=`` outside ``with Definition x := y``
        return
    kind, rest = opener.group(1), text[opener.end():].lstrip()
    if kind == "Module":
        if rest.startswith(("(", "[")):
            kind = "Functor"
        elif rest.startswith(":") and not rest.startswith(":="):
            kind = "Sealed"
    stack.append((" ".join(kind.split()), opener.group(2)))
