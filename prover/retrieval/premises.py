"""Tactics that use the theorem's own environment: the lemmas stated before it in its file and the hint
databases loaded there.

Retrieval proposes what was done at similar states of *other* developments, so it never names a lemma of
the file at hand, while human proofs lean on exactly those (``apply Acc_union``, ``rewrite jump_succ``,
``auto using Acc_union``) — what CoqHammer's premise selection supplies. This policy ranks the lemmas
stated before the theorem by the TF-IDF similarity (scikit-learn's ``TfidfVectorizer``) of their
statements to the goal and proposes, for the closest ones, ``apply``/``eapply``/``now apply`` and, for
equations, ``rewrite`` both ways, plus ``auto using``/``hauto use:``/``sauto use:`` with all of them, and
``auto with *``.
Only names are used, never the premises' proofs, so a file's later lemmas cannot leak into an earlier one.
Coq syntax only. The caller names the premises: the stdlib benchmark and the expert loop's stdlib searches
give a lemma's file prefix (``prover.stdlib_bench.lemmas.prefix_premises``); a ``prove``/``sweep`` header
cannot state lemmas (the header check refuses proofs), so there only the hint-database tactics come.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from prover.retrieval.state_text import parse_goal, tokens
from search.policy_identity import code_digest, settings_digest
from search.types import Candidate

# Statement sentences that make a lemma a later proof can name.
_STATEMENT = re.compile(
    r"(?<![\w'.])(?:(?:Local|Global|Polymorphic|#\[[^\]]*\])\s+)*"
    r"(?:Theorem|Lemma|Fact|Remark|Corollary|Proposition)\s+([A-Za-z_][\w']*)")
_EQUATION = re.compile(r"(?<![<>=:])=(?![>=])|<->")  # ``=`` or ``<->``, not ``<=``, ``=>``, ``:=``

# Tactics per premise and their relative weights; equations add the rewrites.
PER_PREMISE: tuple[tuple[str, float], ...] = (("apply {}", 1.0), ("now apply {}", 0.5), ("eapply {}", 0.3))
PER_EQUATION: tuple[tuple[str, float], ...] = (("rewrite {}", 0.8), ("rewrite <- {}", 0.4),
                                               ("now rewrite {}", 0.4))
# Tactics given all selected premises at once (weight: times the mean premise weight), and hint databases.
WITH_ALL: tuple[tuple[str, float], ...] = (("auto using {}", 1.0), ("hauto use: {}", 1.0),
                                           ("sauto use: {}", 0.8), ("eauto using {}", 0.4))
HINT_TACTICS: tuple[tuple[str, float], ...] = (("auto with *", 0.6), ("eauto with *", 0.3))


@dataclass(frozen=True)
class Premise:
    """A lemma of the environment: the name a proof writes for it here and its statement's text."""

    name: str
    statement: str


def statement_name(text: str) -> str | None:
    """The name a statement sentence (``Lemma foo : ...``) declares, or None for another sentence."""
    match = _STATEMENT.match(text.lstrip())
    return match.group(1) if match else None


class PremisePolicy:
    """The ``Policy`` protocol over a fixed list of premises; ``top`` premises are used per state."""

    width = None
    ranks_all = True  # propose computes the whole ranked list (prover.retrieval.mixture)

    def __init__(self, premises: Sequence[Premise] = (), *, top: int = 4) -> None:
        self.premises = tuple(premises)
        self.top = top
        self._vectorizer: TfidfVectorizer | None = None
        self._matrix = None
        if self.premises:
            self._vectorizer = TfidfVectorizer(analyzer=_statement_tokens, sublinear_tf=True,
                                               dtype=np.float32)
            try:
                self._matrix = self._vectorizer.fit_transform([p.statement for p in self.premises])
            except ValueError:  # statements without a single token: nothing to rank
                self._vectorizer = None

    @property
    def fingerprint(self) -> str:
        """Names the premises (names and statements), ``top`` and the candidate rules' code."""
        digest = hashlib.sha256("\n".join(f"{p.name}\t{p.statement}" for p in self.premises).encode())
        return settings_digest("premises", {"premises": digest.hexdigest(), "top": self.top,
                                            "code": code_digest("prover.retrieval.premises",
                                                                "prover.retrieval.state_text",
                                                                "search.backends.coq.goal_view")})

    def propose(self, states: Sequence[str], n: int) -> list[list[Candidate]]:
        return [self._candidates(state)[:n] for state in states]

    def ranked(self, state: str) -> list[tuple[Premise, float]]:
        """The ``top`` premises most similar to the state's first goal, with their cosine similarity;
        equal similarities favour the premise stated last (closest to the theorem)."""
        if self._vectorizer is None or self._matrix is None:
            return []
        goal = parse_goal(state)
        local = set(goal.names)  # local names say nothing about which lemma applies
        query = tuple(t for text in (goal.conclusion, *(typ for _, typ in goal.hypotheses))
                      for t in tokens(text) if t not in local)
        scores = (self._matrix @ self._vectorizer.transform([query]).T).toarray().ravel()
        order = np.lexsort((-np.arange(len(scores)), -scores))[: self.top]  # by score, then latest first
        return [(self.premises[i], float(scores[i])) for i in order if scores[i] > 0]

    def _candidates(self, state: str) -> list[Candidate]:
        weights: dict[str, float] = {}

        def add(tactic: str, weight: float) -> None:
            weights[tactic] = weights.get(tactic, 0.0) + weight

        ranked = self.ranked(state)
        for premise, similarity in ranked:
            templates = PER_PREMISE + (PER_EQUATION if _EQUATION.search(premise.statement) else ())
            for template, share in templates:
                add(template.format(premise.name), share * similarity)
        if ranked:
            names = ", ".join(p.name for p, _ in ranked)
            mean = sum(s for _, s in ranked) / len(ranked)
            for template, share in WITH_ALL:
                add(template.format(names), share * mean)
        for tactic, share in HINT_TACTICS:
            add(tactic, share * (max((s for _, s in ranked), default=0.5)))
        total = sum(weights.values())
        ordered = sorted(weights.items(), key=lambda tw: -tw[1])
        return [Candidate(tactic, math.log(weight / total)) for tactic, weight in ordered if weight > 0]


def _statement_tokens(text: str | tuple[str, ...]) -> list[str]:
    """A statement's tokens without its keyword and name (they never occur in a goal); a query comes
    already as tokens."""
    if isinstance(text, tuple):
        return list(text)
    match = _STATEMENT.match(text.lstrip())
    return tokens(text.lstrip()[match.end():] if match else text)
