"""The corpus each round of a retrieval expert-iteration run searches with (``RoundCorpora``, between
``RetrievalPlan`` and ``CorpusRounds``): corpus r is the traced corpus's train files plus the pairs rounds
0 .. r-1 added (``growth/added.jsonl``); its index, the stdlib train lemmas' index without their own files,
the library premises, all put in Ray once; and the check that the traced corpus stays as planned."""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from rich.console import Console

from prover.expert.config import ExpertConfig
from prover.expert.corpus_check import check_corpus
from prover.expert.retrieval_plan import RetrievalPlan
from prover.expert.retrieval_run import RetrievalRun
from prover.expert.stages import require_stage, round_dir
from prover.retrieval.index import RetrievalIndex
from prover.retrieval.policy import RetrievalConfig, config_index, corpus_units, load_index
from prover.retrieval.shared_index import share_library
from prover.run_spec import RunSpec
from prover.theorem_input import InputError
from prover.tracing.coq_files import STDLIB_SOURCE

ADDED_FILE = "added.jsonl"


class RoundCorpora(RetrievalPlan):
    """The plan plus each round's retrieval settings and indexes, each built once."""

    def __init__(self, config: ExpertConfig, run: RetrievalRun, console: Console | None) -> None:
        super().__init__(config, run, console)
        self._index: tuple[int, RetrievalIndex, Any] | None = None  # (round, index, its Ray reference)
        self._libraries: dict[str, tuple[frozenset[str], Any]] = {}  # test/train: (files, Ray reference)
        self._shared_library: tuple[tuple[Any, ...], Any] | None = None  # (its settings, Ray reference)

    # --- corpora --------------------------------------------------------------------------------------
    def retrieval_for(self, round_number: int) -> RetrievalConfig:
        """The retrieval settings of round ``round_number``: corpus 0 plus every earlier round's pairs."""
        extra = []
        for earlier in range(round_number):
            folder = round_dir(self.out, earlier)
            require_stage(folder, "grow", f"round {round_number}")
            extra.append(str(folder / "growth" / ADDED_FILE))
        return replace(self.run.retrieval, extra=tuple(extra))

    def index(self, round_number: int) -> tuple[RetrievalIndex, Any]:
        """Corpus ``round_number``'s index and its Ray reference, built once (raises ``InputError`` for a
        corpus with no usable row)."""
        import ray

        if self._index is None or self._index[0] != round_number:
            self._index = None  # the previous round's may be freed first
            self.check_corpus_unchanged()
            index = config_index(self.retrieval_for(round_number), self.assistant)
            self._index = (round_number, index, ray.put(index))
        return self._index[1], self._index[2]

    def check_corpus_unchanged(self) -> None:
        """Raise ``InputError`` when the traced corpus changed since the run was planned (a trace still
        writing to it, a file traced again): every round must search with corpus 0 plus the rounds' pairs,
        or round r's gains would be the trace's."""
        digest = check_corpus(self.run.retrieval.corpus)
        self.corpus_digest = self.corpus_digest or digest  # pinned by ``plan``, or here at first use
        if digest != self.corpus_digest:
            raise InputError(f"retrieval corpus {self.run.retrieval.corpus} changed since this run was "
                             f"planned (digest {self.corpus_digest}, now {digest}): rounds would not share "
                             "corpus 0; let the trace finish and start a new --out")

    def train_lemma_index(self, round_number: int) -> Any:
        """Corpus ``round_number`` less the round's sampled train files' rows, in Ray
        (``TRAIN_INDEX_RULE``)."""
        import ray

        self.check_corpus_unchanged()
        retrieval = self.retrieval_for(round_number)
        units = self.train_units
        sampled = {(STDLIB_SOURCE, unit) for unit in self.train_lemmas_for(round_number)}
        try:
            index = load_index(retrieval.corpus, assistant=self.assistant, extra=retrieval.extra,
                               files=units - sampled)
        except InputError:
            raise
        except ValueError as exc:  # a later fresh sample that took every train file with rows
            names = ", ".join(sorted(unit for _, unit in sampled))
            raise InputError(f"retrieval corpus {retrieval.corpus} less the round-{round_number} sampled "
                             f"stdlib train files ({names}): {exc}") from exc
        return ray.put(index)

    @functools.cached_property
    def train_units(self) -> set[tuple[str, str]]:
        """The (source, unit) pairs of the traced corpus's train files: the corpus is pinned for the run
        (``check_corpus_unchanged``), so they are read once."""
        return corpus_units(self.run.retrieval.corpus, "train") or set()

    def shared_library(self, retrieval: RetrievalConfig) -> Any:
        """The Ray reference of the sweeps' library premise policy (``share_library``), put once for the
        run's settings (they do not change between rounds), not once per sweep."""
        key = (retrieval.corpus, retrieval.corpus_split, retrieval.library_premises, retrieval.premise_weight)
        if self._shared_library is None or self._shared_library[0] != key:
            self._shared_library = (key, share_library(retrieval, self.assistant))
        return self._shared_library[1]

    def library_files(self, round_number: int, which: str) -> frozenset[str] | None:
        """The stdlib train files whose lemmas are the library premises of the ``which`` (test or train)
        lemmas of round ``round_number``, or ``None`` without library premises (``library_premises`` and
        ``premise_weight`` both set): the corpus's stdlib train files, as the stdlib benchmark's library
        (``prover.stdlib_bench.runner.benchmark_library``), less, for train lemmas, the round's sampled train
        files (``TRAIN_INDEX_RULE``: a lemma is never offered its own file's lemmas, nor itself)."""
        retrieval = self.run.retrieval
        if retrieval.premise_weight <= 0 or retrieval.library_premises <= 0:
            return None
        units = {unit for source, unit in self.train_units if source == STDLIB_SOURCE}
        if which == "train":
            units -= set(self.train_lemmas_for(round_number))
        return frozenset(units)

    def library_ref(self, round_number: int, which: str) -> Any:
        """The Ray reference of the library premises' ``TrainLibrary`` over ``library_files`` (built once per
        set of files and kind of lemma), or ``None`` without library premises."""
        import ray

        from prover.stdlib_bench.library import train_library

        files = self.library_files(round_number, which)
        if files is None:
            return None
        if which not in self._libraries or self._libraries[which][0] != files:
            self._libraries.pop(which, None)  # the previous sample's may be freed first
            self._libraries[which] = (files, ray.put(train_library(self.root, files)))
        return self._libraries[which][1]

    def spec_for(self, round_number: int, *, data: bool = False) -> RunSpec:
        policy = replace(self.run.spec.policy, retrieval=self.retrieval_for(round_number))
        return replace(self.run.spec, policy=policy, search=self.search_for(data=data))

    def label(self, round_number: int) -> str:
        return f"{self.run.spec.policy.label}+corpus-{round_number:02d}"
