"""The Coq backend of the stdlib benchmark: sessions in the lemma's own file prefix, whole-file checks.

Sessions are the Coq backend's own ``CoqSession`` (tactics filtered, states read, restarts) on coqtops
from the file's ``PrefixPool``. A proof counts only when the whole file (prefix as it stood, the lemma
with the proof, ``Qed.``, the closing ``End``s) compiles with ``coqc`` and the axiom audit of
``compile_and_check`` passes: a lemma admitted in the prefix, or the lemma itself, is an assumption the
audit refuses; the standard library's own axioms are allowed as for every Coq proof, and so are those
the file itself declares when they are among them (``FunctionalExtensionality.v`` re-declares its axiom
under the check file's name). Nor may it use the
compiled copy of the lemma's own file, which CoqHammer's preamble loads for some files, beyond what the
file states before the lemma (``own_library``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from prover.stdlib_bench.environment import PrefixPool, proof_file, read_stdlib_file
from prover.stdlib_bench.lemmas import StdlibLemma, declared_axioms, declared_paths
from prover.stdlib_bench.own_library import library_of, own_library_probe, preamble_libraries
from prover.theorem_input import InputError
from prover.tracing.coq_source import SourceError, SourceSentence, split_source
from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.safety import check_coq_statement, check_coq_tactic
from search.backends.coq.session import CoqSession
from search.backends.coq.verify import compile_and_check, installed_root
from search.errors import InvalidTheoremError
from search.types import Theorem, Verdict


class StdlibBackend:
    """The ``search.Backend`` protocol for the lemmas of one stdlib file; ``at(lemma)`` selects one."""

    name = "coq"

    def __init__(self, config: CoqBackendConfig, sentences: Sequence[SourceSentence], *,
                 sentence_timeout: float = 120.0) -> None:
        self.config = config
        self.sentences = sentences
        self.pool = PrefixPool(config, sentences, sentence_timeout=sentence_timeout)
        self.lemma: StdlibLemma | None = None

    def at(self, lemma: StdlibLemma) -> Theorem:
        """Select ``lemma``; returns the theorem to prove (no header: the environment is the prefix)."""
        self.lemma = lemma
        self.pool.at(lemma)
        return Theorem(lemma.name, lemma.statement)

    def open(self, theorem: Theorem) -> CoqSession:
        lemma = self._lemma(theorem)
        reason = check_coq_statement(lemma.name, theorem.statement)
        if reason is not None:
            raise InvalidTheoremError(theorem.name, reason)
        return CoqSession(theorem, self.config, pool=self.pool)

    def check_tactic(self, tactic: str) -> str | None:
        return check_coq_tactic(tactic)

    def render_proof(self, theorem: Theorem, tactics: Sequence[str]) -> str:
        return proof_file(self.sentences, self.pool.last_kept, self._lemma(theorem), tactics)

    def verify(self, theorem: Theorem, tactics: Sequence[str]) -> Verdict:
        lemma = self._lemma(theorem)
        for index, tactic in enumerate(tactics, start=1):
            reason = check_coq_tactic(tactic)
            if reason is not None:
                return Verdict(False, (f"tactic {index} ({tactic!r}) refused: {reason}",))
        text = self.render_proof(theorem, tactics)
        library = library_of(lemma.unit)
        allowed = set(self.config.allowed_axioms)  # the file's own library axioms, re-declared by its prefix
        own_axioms = tuple(sorted(axiom for axiom in declared_axioms(self.sentences, lemma.index)
                                  if f"{library}.{axiom}" in allowed))
        if own_axioms and not installed_prefix(self.sentences, lemma, self.config.coqc):
            own_axioms = ()  # by name alone they prove nothing: the audit then names them
        if lemma.checkable and library in preamble_libraries(self.pool.preamble, self.config):
            earlier = declared_paths(self.sentences, lemma.index)
            probe, check = own_library_probe(lemma.qualified, library, earlier)
            return compile_and_check(text + probe, lemma.qualified, self.config, output_check=check,
                                     own_axioms=own_axioms)
        return compile_and_check(text, lemma.qualified, self.config, own_axioms=own_axioms)

    def close(self) -> None:
        self.pool.close()

    def _lemma(self, theorem: Theorem) -> StdlibLemma:
        if self.lemma is None or self.lemma.name != theorem.name:
            raise InvalidTheoremError(theorem.name, "not the lemma this backend was set to (call at())")
        return self.lemma


def installed_prefix(sentences: Sequence[SourceSentence], lemma: StdlibLemma, coqc: str) -> bool:
    """Whether ``sentences`` up to ``lemma`` are those of the installed standard library's file (``coqc
    -where``), so that the axioms they declare are the library's own."""
    root = installed_root(coqc)
    if root is None:
        return False
    installed = _installed_sentences(str(root / "theories"), lemma.unit)
    return installed is not None and [s.text for s in sentences[: lemma.index]] == installed[: lemma.index]


@functools.lru_cache(maxsize=8)
def _installed_sentences(theories: str, unit: str) -> list[str] | None:
    try:
        return [s.text for s in split_source(read_stdlib_file(Path(theories), unit), unit)]
    except (InputError, SourceError):
        return None
