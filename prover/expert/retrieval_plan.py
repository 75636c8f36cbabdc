"""The fixed plan of a retrieval expert-iteration run (``RetrievalPlan``, the base of ``CorpusRounds``): the
benchmark's held-out and data parts, the stdlib test and train samples, the evaluation's and data searches'
budgets, and ``run.json``, the manifest every rerun must match (``prover.expert.run_manifest``)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from prover.expert.config import ExpertConfig
from prover.expert.corpus_check import check_corpus, check_train_lemma_index
from prover.expert.corpus_growth import GROWTH_RULE
from prover.expert.heldout import BenchmarkParts, split_rows, write_part
from prover.expert.minimised_records import MINIMISE_RULE
from prover.expert.retrieval_run import RetrievalRun
from prover.expert.run_manifest import RUN_MANIFEST, check_run
from prover.expert.stdlib_rounds import SAMPLE_RULE, Lemmas, lemma_keys, sample_lemmas
from prover.expert.tactic_rounds import TacticRounds
from prover.run_spec import config_table
from prover.sweep import resolve_benchmark
from prover.sweep.benchmark import load_benchmark
from prover.sweep.freshness import benchmark_digest
from prover.sweep.manifest import RESUMABLE, refuse_foreign_folder
from prover.theorem_input import InputError
from prover.tracing.coq_files import STDLIB_SOURCE
from search import SearchConfig
from search.backends.coq.config import CoqBackendConfig

TRAIN_INDEX_RULE = "corpus r less the rows of every sampled stdlib train file"
FRESH_RULE = ("round r samples, by the sample rule, the train files that rounds 0 .. r-1 did not sample, and "
              "searches them with corpus r less those files' rows; round-NN/stdlib_train.done.json lists "
              "the round's lemmas")


class RetrievalPlan:
    """One run folder's fixed plan (parts, samples, budgets, ``run.json``), made by ``plan``."""

    def __init__(self, config: ExpertConfig, run: RetrievalRun, console: Console | None) -> None:
        self.config, self.run, self.console = config, run, console
        self.out = Path(config.out).resolve()
        self.assistant = run.spec.policy.assistant
        self.parts: BenchmarkParts = BenchmarkParts((), (), ())
        self.test_lemmas: Lemmas = {}
        self._train_samples: list[Lemmas] = []  # round r's train lemmas (only [0] without fresh samples)
        self.root = Path()
        self.tactic: TacticRounds | None = None  # with --tactic-model
        self.corpus_digest = ""  # the traced corpus as planned (``check_corpus``)
        self.benchmark_digest = ""  # the benchmark's statements as planned

    # --- the plan, fixed for the whole run -------------------------------------------------------------
    def plan(self) -> None:
        """Split the benchmark, sample the stdlib lemmas, check or write ``run.json`` and the parts."""
        loop, benchmark = self.run.loop, resolve_benchmark(self.run.benchmark)
        items = load_benchmark(benchmark, self.run.sweep.split)[: self.run.sweep.limit]
        self.parts = split_rows(items, loop.heldout_percent, data_limit=loop.data_limit,
                                heldout_limit=loop.heldout_limit)
        self.benchmark_digest = benchmark_digest([item.theorem for item in items])
        if loop.stdlib_test_files or loop.stdlib_train_files:
            from prover.tracing.coq_files import stdlib_root

            self.root = Path(loop.stdlib_root) if loop.stdlib_root else stdlib_root()
            corpus = self.run.retrieval.corpus
            self.test_lemmas = sample_lemmas(corpus, self.root, "test", loop.stdlib_test_files,
                                             loop.stdlib_test_per_file)
        self.corpus_digest = check_corpus(self.run.retrieval.corpus)
        if not self.parts.data and not self.train_lemmas_for(0):
            raise InputError(f"{self.run.benchmark}: nothing to search for data (no data rows after holding "
                             f"out {loop.heldout_percent}%, and no stdlib train lemmas)")
        check_train_lemma_index(self.run.retrieval.corpus,
                                {(STDLIB_SOURCE, unit) for unit in self.train_lemmas_for(0)},
                                option="--stdlib-train-files")
        refuse_foreign_folder(self.out, (RUN_MANIFEST,), "expert-iteration run")
        self.out.mkdir(parents=True, exist_ok=True)
        check_run(self.out, self.manifest(benchmark))
        write_part(self.part_file("data"), benchmark, self.parts.data)
        write_part(self.part_file("heldout"), benchmark, self.parts.heldout)
        if loop.tactic_model is not None:
            self.tactic = TacticRounds(self.out, loop, self.config.train)
            self.tactic.plan(self.run.retrieval.corpus)

    def manifest(self, benchmark: Path) -> dict[str, Any]:
        retrieval, train = self.run.retrieval, self.train_lemmas_for(0)
        settings = {f.name: getattr(retrieval, f.name) for f in dataclasses.fields(retrieval)
                    if f.name not in ("corpus", "extra")}
        return {"loop": "retrieval", "benchmark": str(benchmark.resolve()), "split": self.run.sweep.split,
                "limit": self.run.sweep.limit, "benchmark_digest": self.benchmark_digest,
                "sweep": {"attempts": self.run.sweep.attempts, "shared_cache": self.run.sweep.shared_cache},
                "driver": {"sessions": self.run.spec.driver.sessions},
                "corpus": str(Path(retrieval.corpus).resolve()), "corpus_digest": self.corpus_digest,
                "retrieval": settings, "backend": self.run.spec.backend.name,
                "backend_settings": self.backend_settings(),
                "budget": dataclasses.asdict(self.run.spec.search),
                "parts": self.parts.manifest(self.run.loop.heldout_percent),
                "stdlib": {"root": str(self.root) if self.test_lemmas or train else None,
                           "rule": SAMPLE_RULE, "test": lemma_keys(self.test_lemmas),
                           "train": lemma_keys(train), "train_index": TRAIN_INDEX_RULE}
                | ({"train_fresh": FRESH_RULE} if self.run.loop.stdlib_train_fresh else {}),
                "growth": {"rule": GROWTH_RULE, "drop_trivial": self.run.loop.drop_trivial,
                           "scoring_model": self.config.base_model}
                | ({"minimise": MINIMISE_RULE} if self.config.minimise_proofs else {})} | (
            {} if self.search_for(data=True) == self.run.spec.search  # one budget reads as before the option
            else {"data_budget": dataclasses.asdict(self.search_for(data=True))}) | (
            {"filter": dataclasses.asdict(self.config.filter)} if self.config.base_model else {})

    def coq_config(self) -> CoqBackendConfig | None:
        """The run's Coq settings, for the stdlib lemmas' searches (``None``: the defaults)."""
        config = self.run.spec.backend.config
        return config if isinstance(config, CoqBackendConfig) else None

    def backend_settings(self) -> dict[str, Any]:
        """The backend's settings that change results (allowed axioms, imports, limits ...): rounds
        searched one way must not continue another (``RESUMABLE``'s keys, pool sizes, may change)."""
        backend = self.run.spec.backend
        return {key: value for key, value in config_table(backend.config).items()
                if f"{backend.name}.{key}" not in RESUMABLE}

    def train_lemmas_for(self, round_number: int) -> Lemmas:
        """The stdlib train lemmas round ``round_number`` searches for data: the one sample, or with
        ``stdlib_train_fresh`` the sample rule over the train files no earlier round took."""
        loop = self.run.loop
        if not loop.stdlib_train_files:
            return {}
        wanted = round_number if loop.stdlib_train_fresh else 0
        while len(self._train_samples) <= wanted:
            taken = frozenset(unit for lemmas in self._train_samples for unit in lemmas)
            self._train_samples.append(sample_lemmas(self.run.retrieval.corpus, self.root, "train",
                                                     loop.stdlib_train_files, loop.stdlib_train_per_file,
                                                     exclude=taken))
        return self._train_samples[wanted]

    def part_file(self, part: str) -> Path:
        return self.out / "benchmark" / f"{part}.jsonl"

    def search_for(self, *, data: bool) -> SearchConfig:
        """The evaluation's budget, or the data searches' (``data_budget_factor`` times it)."""
        search, factor = self.run.spec.search, self.run.loop.data_budget_factor
        width = self.run.loop.data_tactics_per_node
        if not data:
            return search
        if width is not None:
            search = replace(search, tactics_per_node=width)
        if factor == 1:
            return search
        return replace(search, max_expansions=None if search.max_expansions is None
                       else math.ceil(search.max_expansions * factor),
                       time_limit=None if search.time_limit is None else search.time_limit * factor)
