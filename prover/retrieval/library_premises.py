"""The library's lemmas as premises: the theorems a traced corpus proves, named as its trace names them
and stated as their first recorded goal.

A ``prove``/``sweep`` theorem's header states no lemma of its own (the header check refuses proofs), so the
file premises of ``prover.retrieval.premises`` give it only hint databases; what its proof can name are the
libraries it imports — ``sqrt_lem_1``, ``Rsqr_incr_1``, ``Rpower_pow`` for miniF2F's real analysis. A
corpus's step-0 rows hold each traced theorem's statement as a goal, so the corpus the retrieval policy
indexes also supplies these premises (ReProver's premise retrieval, here TF-IDF over statement tokens).
Only the files of the corpus split the retrieval index uses are read, so a held-out file's lemmas are never
named. A name may not resolve in a given header (the library is not imported, the lemma sits in a module):
the tactic then fails like any wrong candidate; it cannot prove anything false, as the kernel checks it.
"""

from __future__ import annotations

import logging
import re

from prover.retrieval.premises import Premise
from prover.retrieval.state_text import parse_goal

logger = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z_][\w']*\Z")


def library_premises_of(rows: list[tuple[str, str, str]]) -> tuple[Premise, ...]:
    """Premises from (file, theorem, first state) rows: one per theorem name that a single file proves
    (a name traced in two files, as in a functor's instances, is ambiguous and left out), in row order."""
    files: dict[str, set[str]] = {}
    statements: dict[str, str] = {}
    for file, theorem, state in rows:
        if not _NAME.match(theorem):
            continue
        files.setdefault(theorem, set()).add(file)
        if theorem not in statements:
            goal = parse_goal(state)
            statements[theorem] = " ".join([*(typ for _, typ in goal.hypotheses), goal.conclusion])
    return tuple(Premise(name, text) for name, text in statements.items() if len(files[name]) == 1)


def library_premises(corpus: str, units: frozenset[tuple[str, str]] | None) -> tuple[Premise, ...]:
    """The premises of ``corpus``'s theorems in the files ``units`` ((source, unit) pairs; ``None``: every
    file); the policy
    module's ``library_policy`` reads them once per process. Raises ``DatasetError`` for a folder that is
    not a dataset."""
    from prover.tracing.dataset import open_dataset

    columns = ("assistant", "source", "file", "theorem", "step", "state_before")
    table = open_dataset(corpus).read(columns=list(columns))
    rows = [(file, theorem, state) for assistant, source, file, theorem, step, state in zip(
        *(table.column(name).to_pylist() for name in columns), strict=True)
        if assistant == "coq" and step == 0 and (units is None or (source, file) in units)]
    premises = library_premises_of(rows)
    logger.info("library premises: %d lemmas of %s (%s files)", len(premises), corpus,
                "all" if units is None else len(units))
    return premises
