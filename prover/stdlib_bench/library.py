"""The library's lemmas as premises of a stdlib lemma: what the train files state, restricted to the
files loaded in the lemma's environment.

Human stdlib proofs name lemmas of other files as often as lemmas of their own (``apply Rlt_le``,
``rewrite app_nil_r``): what CoqHammer's premise selection and Tactician's online learning give them.
Only train files are read (``split.py``), so a valid or test file's lemma, the lemma being proved
included, is never named; only statement sentences are read, never proofs. Names are fully qualified
(``Coq.Lists.List.app_nil_r``): they resolve whenever the file is loaded, imported or not. A file's
lemmas are offered only where its library is loaded: by the preamble or by the ``Require`` sentences of
the lemma's file before the lemma, transitively (Coq's own ``Print Libraries``).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prover.retrieval.premises import Premise, PremisePolicy
from prover.stdlib_bench.lemmas import StdlibLemma, stated_before
from prover.stdlib_bench.own_library import library_of, preamble_libraries
from prover.tracing.coq_source import SourceError, SourceSentence, split_source
from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.loaded_libraries import LibrariesUnknownError
from search.backends.process import ProcessError

logger = logging.getLogger(__name__)

_REQUIRE = re.compile(r"(?:From\s+\S+\s+)?Require\b")


@dataclass(frozen=True)
class TrainLibrary:
    """The lemmas each train file states, by the file's logical name (``Coq.Lists.List``)."""

    lemmas: Mapping[str, tuple[Premise, ...]]
    _policies: dict[tuple[frozenset[str], int], PremisePolicy] = field(default_factory=dict, compare=False,
                                                                      repr=False)

    def premises(self, loaded: Iterable[str]) -> tuple[Premise, ...]:
        """The lemmas of the loaded libraries, in library name order."""
        return tuple(p for library in sorted(set(loaded) & set(self.lemmas)) for p in self.lemmas[library])

    def policy(self, loaded: frozenset[str], top: int) -> PremisePolicy:
        """The premise policy over ``premises(loaded)`` (fitted once per loaded set: the lemmas of one file
        share it)."""
        key = (loaded, top)
        if key not in self._policies:
            self._policies[key] = PremisePolicy(self.premises(loaded), top=top)
        return self._policies[key]

    def __len__(self) -> int:
        return sum(len(ps) for ps in self.lemmas.values())


def train_library(root: Path, units: Iterable[str]) -> TrainLibrary:
    """The lemmas the files ``units`` (paths under ``root``, the installed ``theories/``) state, named by
    their library. A file that cannot be split into sentences is left out with a warning."""
    lemmas: dict[str, tuple[Premise, ...]] = {}
    for unit in sorted(units):
        try:
            sentences = split_source((root / unit).read_text(encoding="utf-8-sig"), unit)
        except (OSError, UnicodeDecodeError, SourceError) as exc:
            logger.warning("library premises: %s left out: %s", unit, exc)
            continue
        found = stated_before(sentences, len(sentences), library_of(unit))
        if found:
            lemmas[library_of(unit)] = tuple(found)
    library = TrainLibrary(lemmas)
    logger.info("library premises: %d lemmas of %d train files", len(library), len(lemmas))
    return library


def environment_libraries(sentences: Sequence[SourceSentence], lemma: StdlibLemma, preamble: Sequence[str],
                          config: CoqBackendConfig) -> frozenset[str]:
    """The libraries loaded where ``lemma`` is stated: by ``preamble`` and the file's ``Require``
    sentences before it. When those do not compile on their own (a ``Require`` inside a construct that
    needs its context), the preamble's libraries alone, with a warning."""
    requires = tuple(s.text for s in sentences[: lemma.index] if _REQUIRE.match(s.text))
    return _libraries(tuple(preamble), requires, config)


@functools.lru_cache(maxsize=64)
def _libraries(preamble: tuple[str, ...], requires: tuple[str, ...],
               config: CoqBackendConfig) -> frozenset[str]:
    try:
        return preamble_libraries((*preamble, *requires), config)
    except (LibrariesUnknownError, ProcessError) as exc:
        logger.warning("library premises: the file's Require sentences do not load alone (%s); "
                       "the preamble's libraries only", str(exc)[:200])
        return preamble_libraries(preamble, config)
