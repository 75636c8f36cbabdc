"""The stages of a retrieval expert-iteration round (``CorpusRounds``, on ``RoundCorpora``'s corpora and
``RetrievalPlan``'s plan): the held-out and data sweeps, the stdlib lemmas' searches, the minimised
proofs, the pairs and preferences collected, the corpus grown, and the tactic model trained; each stage
skipped when its marker exists (``prover.expert.stages``)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from prover.expert.corpus_growth import grow, index_pairs, score_pairs, trivial_pairs
from prover.expert.minimised_records import MINIMISED_DIR, minimise_folder
from prover.expert.round_corpora import ADDED_FILE, RoundCorpora
from prover.expert.stages import require_stage, round_dir, run_stage, write_json, write_jsonl
from prover.expert.stdlib_rounds import lemma_keys, run_lemmas
from prover.expert.trajectories import (
    MANIFEST_FILE,
    PAIRS_FILE,
    collect_trajectories,
    load_rows,
    read_records,
    write_trajectories,
)
from prover.retrieval.policy import tactic_list_policy
from prover.retrieval.shared_index import SharedIndexPolicy
from prover.sweep import run_sweep
from prover.sweep.benchmark import load_benchmark
from prover.sweep.errors import require_no_errors
from prover.sweep.memory_budget import apply_memory_budget
from search import Theorem

logger = logging.getLogger(__name__)


class CorpusRounds(RoundCorpora):
    """One run folder's rounds: the fixed plan (parts, samples; ``RetrievalPlan``), each round's index, built
    once (``RoundCorpora``), and the stages that search, collect and grow."""

    # --- stages ---------------------------------------------------------------------------------------
    def sweep(self, round_number: int, part: str, folder: Path) -> dict[str, Any]:
        """Sweep one part of the benchmark with corpus ``round_number``; return its summary."""
        spec = self.spec_for(round_number, data=part == "data")
        index, ref = self.index(round_number)
        retrieval = spec.policy.retrieval or self.run.retrieval
        library = self.shared_library(retrieval)
        factory = SharedIndexPolicy(ref, retrieval, self.assistant, self.label(round_number), library)
        sweep = replace(self.run.sweep, out=str(folder), split=None, limit=None)
        sweep, budget = apply_memory_budget(sweep, spec.backend.name, spec.backend.config,
                                            spec.driver.sessions)
        if budget.lowered:
            logger.warning("memory: %s", budget.message())
        summary, _ = run_sweep(sweep, spec, benchmark=str(self.part_file(part)), policy_factory=factory,
                               console=self.console)
        require_no_errors(summary.errors, str(folder))  # not done: a rerun runs the errored attempts again
        return {"policy": factory.label, "folder": str(folder), "theorems": summary.total,
                "valid": summary.total - summary.invalid, "proved": summary.proved,
                "pass_rate": summary.pass_rate, "errors": summary.errors, "index_states": len(index),
                "extra_files": len(factory.config.extra)}

    def lemmas(self, round_number: int, which: str, folder: Path) -> dict[str, Any]:
        """Search the stdlib test (evaluation) or train (data) sample with corpus ``round_number``."""
        retrieval = self.retrieval_for(round_number)
        lemmas = self.test_lemmas if which == "test" else self.train_lemmas_for(round_number)
        ref = self.index(round_number)[1] if which == "test" else self.train_lemma_index(round_number)
        summary = run_lemmas(folder, lemmas, root=self.root, index_ref=ref, retrieval=retrieval,
                             search=self.search_for(data=which == "train"), label=self.label(round_number),
                             split=f"stdlib-{which}", coq=self.coq_config(),
                             library_ref=self.library_ref(round_number, which))
        fresh = which == "train" and self.run.loop.stdlib_train_fresh
        return summary | {"policy": self.label(round_number), "folder": str(folder)} | (
            {"lemma_keys": lemma_keys(lemmas)} if fresh else {})

    def sources(self, round_number: int) -> list[Path]:
        folder = round_dir(self.out, round_number)
        searched = folder / (MINIMISED_DIR if self.config.minimise_proofs else "search")
        return ([searched] if self.parts.data else []) + (
            [folder / "stdlib-train"] if self.train_lemmas_for(round_number) else [])

    def minimise(self, round_number: int) -> dict[str, Any]:
        """The data sweep's records with their proofs made 1-minimal (``MINIMISE_RULE``), written as a
        results file that ``collect`` and ``grow`` read instead of the sweep's; returns the counts."""
        folder = round_dir(self.out, round_number)
        return minimise_folder(folder / "search", folder / MINIMISED_DIR, self.data_theorems(),
                               self.run.spec.backend(),
                               timeout=self.run.spec.search.tactic_timeout)

    def data_theorems(self) -> dict[str, Theorem]:
        """The data rows' theorems by name, read from the data part for the backend's proof assistant as
        the sweep read them (a Coq statement without its comments): what the data search proved, which
        ``minimise`` opens again and ``grow`` specialises the tactic list to. (``self.parts`` holds the
        rows as the plan read them, for the run's digest.)"""
        if not self.parts.data:
            return {}
        items = load_benchmark(self.part_file("data"), None, self.run.spec.backend.spec.assistant)
        return {item.theorem.name: item.theorem for item in items}

    def collect(self, round_number: int) -> dict[str, Any]:
        sources = self.sources(round_number)
        data = collect_trajectories(sources, round_number=round_number)
        return write_trajectories(data, round_dir(self.out, round_number) / "data",
                                  round_number=round_number, sources=sources)

    def grow(self, round_number: int) -> dict[str, Any]:
        """The round's pairs less duplicates and trivial proofs (and what a scoring model drops) into
        ``growth/added.jsonl``; returns the counts."""
        folder = round_dir(self.out, round_number)
        pairs = load_rows(folder / "data" / PAIRS_FILE)
        records = [record for source in self.sources(round_number) for record in read_records(source)]
        trivial = trivial_pairs(records, tactic_list_policy(self.assistant), self.data_theorems())
        model = self.config.base_model
        scores = None if model is None else score_pairs(model, pairs, self.config.filter)
        growth = grow(pairs, known=index_pairs(self.index(round_number)[0]), trivial=trivial,
                      drop_trivial=self.run.loop.drop_trivial, scores=scores,
                      filter_config=self.config.filter if scores is not None else None)
        write_jsonl(folder / "growth" / ADDED_FILE, growth.added)
        before = sum(require_stage(round_dir(self.out, earlier), "grow", "grow")["added"]
                     for earlier in range(round_number))
        summary = growth.summary() | {"round": round_number, "corpus_pairs": before + len(growth.added),
                                      "scoring_model": self.config.base_model}
        write_json(folder / "growth" / MANIFEST_FILE, summary)
        return {key: summary[key] for key in ("collected", "added", "dropped", "corpus_pairs")}

    def run_round(self, round_number: int, *, last: bool) -> None:
        """The round's stages, each skipped if already done."""
        folder = round_dir(self.out, round_number)
        if self.parts.heldout:
            run_stage(folder, "heldout", lambda: self.sweep(round_number, "heldout", folder / "heldout"))
        if self.test_lemmas:
            run_stage(folder, "stdlib_test",
                      lambda: self.lemmas(round_number, "test", folder / "stdlib-test"))
        if last:
            self.train_tactic_model(round_number)
            return
        if self.parts.data:
            run_stage(folder, "search", lambda: self.sweep(round_number, "data", folder / "search"))
        if self.parts.data and self.config.minimise_proofs:
            run_stage(folder, "minimise", lambda: self.minimise(round_number))
        if self.train_lemmas_for(round_number):
            run_stage(folder, "stdlib_train",
                      lambda: self.lemmas(round_number, "train", folder / "stdlib-train"))
        run_stage(folder, "collect", lambda: self.collect(round_number))
        run_stage(folder, "grow", lambda: self.grow(round_number))
        self.train_tactic_model(round_number)

    def train_tactic_model(self, round_number: int) -> None:
        """With a tactic model: train it on what corpus ``round_number`` holds beyond corpus r-1
        (``prover.expert.tactic_rounds``); nothing otherwise."""
        if self.tactic is None:
            return
        added = []
        if round_number > 0:
            earlier = round_dir(self.out, round_number - 1)
            require_stage(earlier, "grow", "tactic_model")
            added.append(earlier / "growth" / ADDED_FILE)
        self.tactic.run_round(round_number, added)
