"""Plain data shared by every part of the engine: theorems, tactic states and tactic results.

Tactic results form a closed union of frozen dataclasses that compare by content (as LeanDojo's
``TacticState`` / ``ProofFinished`` / ``LeanError``): a search never inspects optional fields to learn
whether a tactic worked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from search.validation import Validated, setting


@dataclass(frozen=True)
class DojoLocator:
    """Where LeanDojo finds a theorem: a traced repository at a commit, a file in it, a declaration."""

    repo_url: str
    commit: str
    file_path: str
    full_name: str


@dataclass(frozen=True)
class Theorem(Validated):
    """A theorem to prove.

    ``statement`` is the declaration without its proof (in Lean the text up to and including ``:=``; in Coq
    the ``Theorem ... .`` sentence). ``header`` holds what must precede it: imports, ``open``s, auxiliary
    definitions.
    """

    name: str = setting(nonblank=True, help="the theorem's name (a non-empty name)")
    statement: str = setting(nonblank=True, help="the declaration without its proof")
    header: str = setting("", help="what must precede the statement: imports, opens, definitions")
    locator: DojoLocator | None = field(default=None, metadata={"help": "where LeanDojo finds it (dojo)"})

    config_name = "theorem"

    def described(self) -> str:
        named = isinstance(self.name, str) and self.name.strip()
        return f"theorem {self.name!r}" if named else "theorem"

    @property
    def environment(self) -> str:
        """What a goal's text means depends on: the header and, for a theorem LeanDojo finds, its
        repository, commit, file and declaration (the file's environment up to it). Proof-cache keys
        start with it, so that a failure found in one environment never stands for another."""
        if self.locator is None:
            return self.header
        loc = self.locator
        return "\n".join((self.header, loc.repo_url, loc.commit, loc.file_path, loc.full_name))


@dataclass(frozen=True)
class TacticState:
    """A proof state as the proof assistant pretty-prints it.

    Equality and hashing use ``pp`` alone, so two states that print the same are one search node.
    ``handle`` is the backend's own reference to the state (a proof-state id, a Coq state id, a tactic
    path); it is opaque to the search.
    """

    pp: str
    goals: tuple[str, ...] = ()
    handle: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def num_goals(self) -> int:
        return len(self.goals)


@dataclass(frozen=True)
class ProofFinished:
    """The tactic closed the last goal. The proof is not yet verified: see ``Verdict``."""

    handle: Any = field(default=None, compare=False, hash=False, repr=False)
    message: str | None = None


@dataclass(frozen=True)
class TacticError:
    """The proof assistant (or the tactic filter) rejected the tactic; ``message`` is its text.

    ``transient``: the error came from the infrastructure, not from the tactic (the proof assistant's
    process crashed or outgrew its memory limit, a state could not be restored, its output could not be
    read), so running the tactic again may well succeed. The search counts it as an error like any other,
    but never lets a search that met one record its states as failed in a proof cache.
    """

    message: str
    transient: bool = field(default=False, kw_only=True)


@dataclass(frozen=True)
class TacticTimeout:
    """The tactic ran past its time limit (seconds) and was interrupted."""

    seconds: float


TacticResult: TypeAlias = TacticState | ProofFinished | TacticError | TacticTimeout


@dataclass(frozen=True)
class Candidate:
    """A tactic proposed by a policy, scored by the mean log-probability of its tokens (<= 0)."""

    tactic: str
    logprob: float


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a whole proof in a fresh environment of the proof assistant.

    ``ok`` holds only when the kernel accepted the proof, it contains no ``sorry``/``Admitted``, and it uses
    no axiom beyond the allowed ones. ``axioms`` lists the axioms the proof depends on.
    """

    ok: bool
    messages: tuple[str, ...] = ()
    axioms: tuple[str, ...] = ()
    proof_text: str = ""
