"""Expert iteration with the retrieval policy as the learned model: the corpus grows round by round.

Corpus r is the traced corpus's train files (``RetrievalConfig.corpus_split = "train"``) plus the pairs
rounds 0 .. r-1 added (``RetrievalConfig.extra``). Round r (0-based), with corpus r and the run's one fixed
search budget (the spec's ``SearchConfig``):

1. evaluates: the benchmark's held-out rows (a sweep; ``prover.expert.heldout``) and the fixed sample of
   standard-library test lemmas (``prover.expert.stdlib_rounds``). No round searches these for data;
2. unless it is the last round: searches the benchmark's data rows (a sweep; with ``minimise_proofs`` its
   proofs are then made 1-minimal, ``prover.expert.minimised_records``) and the sample of stdlib train
   lemmas (searched with corpus r less the rows of every sampled train file, so that no lemma replays its
   own file's human proof); collects the kernel-checked proofs' pairs and preferences (``data/``, the SFT
   and DPO files of ``prover.expert.trajectories``); and grows the corpus (``growth/added.jsonl``, by the
   rule of ``prover.expert.corpus_growth``);
3. with ``RetrievalLoopConfig.tactic_model`` only (off by default): trains a small transformer on the data
   corpus r holds and evaluates it on held-out pairs (``prover.expert.tactic_rounds``), last round too.

So ``rounds = N`` evaluates corpora 0 .. N and grows N times. Run folder (``ExpertConfig.out``)::

    run.json                          what the run is: benchmark, parts, samples, corpus, budget, rules,
                                      the sweeps' attempts, shared cache and driver sessions
    benchmark/data.jsonl, heldout.jsonl   the benchmark's two parts
    round-00/heldout/  round-00/search/   sweeps (held-out rows; data rows)
    round-00/stdlib-test/  round-00/stdlib-train/   results.jsonl of the stdlib lemmas
    round-00/minimised/               the data sweep's records, proofs minimised (with minimise_proofs)
    round-00/data/  round-00/growth/      the round's pairs and preferences; what corpus 1 adds
    round-00/<stage>.done.json            each stage's summary, written after its outputs
    tactic-model/  round-00/tactic-model/   the tactic model's plan and models (with --tactic-model)
    report.md, report.json, report.png

Every stage is skipped when its marker exists, so a rerun after a crash redoes only what did not finish,
and a rerun with a larger ``rounds`` continues; a rerun whose run would differ (``run.json``) is refused.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from prover.expert.config import ExpertConfig
from prover.expert.corpus_check import check_corpus, check_train_lemma_index
from prover.expert.corpus_growth import GROWTH_RULE, grow, index_pairs, score_pairs, trivial_pairs
from prover.expert.heldout import BenchmarkParts, split_rows, write_part
from prover.expert.loop_config import RetrievalLoopConfig
from prover.expert.minimised_records import MINIMISE_RULE, MINIMISED_DIR, minimise_folder
from prover.expert.retrieval_report import RetrievalReport, write_retrieval_report
from prover.expert.run_manifest import RUN_MANIFEST, check_run
from prover.expert.stages import require_stage, round_dir, run_stage, write_json, write_jsonl
from prover.expert.stdlib_rounds import SAMPLE_RULE, Lemmas, lemma_keys, run_lemmas, sample_lemmas
from prover.expert.tactic_rounds import TacticRounds
from prover.expert.trajectories import (
    MANIFEST_FILE,
    PAIRS_FILE,
    collect_trajectories,
    load_rows,
    read_records,
    write_trajectories,
)
from prover.retrieval.index import RetrievalIndex
from prover.retrieval.policy import (
    RetrievalConfig,
    config_index,
    corpus_units,
    load_index,
    tactic_list_policy,
)
from prover.retrieval.shared_index import SharedIndexPolicy, share_library
from prover.run_spec import RunSpec, config_table
from prover.sweep import SweepConfig, resolve_benchmark, run_sweep
from prover.sweep.benchmark import load_benchmark
from prover.sweep.errors import require_no_errors
from prover.sweep.freshness import benchmark_digest
from prover.sweep.manifest import RESUMABLE, refuse_foreign_folder
from prover.sweep.memory_budget import apply_memory_budget
from prover.theorem_input import InputError
from prover.tracing.coq_files import STDLIB_SOURCE
from search import SearchConfig, Theorem
from search.backends.coq.config import CoqBackendConfig

logger = logging.getLogger(__name__)

ADDED_FILE = "added.jsonl"
TRAIN_INDEX_RULE = "corpus r less the rows of every sampled stdlib train file"
FRESH_RULE = ("round r samples, by the sample rule, the train files that rounds 0 .. r-1 did not sample, and "
              "searches them with corpus r less those files' rows; round-NN/stdlib_train.done.json lists "
              "the round's lemmas")


@dataclass(frozen=True, kw_only=True)
class RetrievalRun:
    """What the loop works on besides the expert settings: the benchmark, the run's spec (its policy the
    retrieval policy: corpus and settings of every round, its search the fixed budget), the sweeps'
    settings (``split`` and ``limit`` select the benchmark's rows before they are split; ``out`` is each
    sweep's folder) and the loop's own settings."""

    benchmark: str
    spec: RunSpec
    sweep: SweepConfig
    loop: RetrievalLoopConfig = field(default_factory=RetrievalLoopConfig)

    @property
    def retrieval(self) -> RetrievalConfig:
        """The policy's settings as every round uses them: the corpus's train files (no held-out stdlib
        file in any index) and, from round 1, the pairs the rounds added. Raises ``InputError`` for a
        setting the loop cannot honour, rather than ignoring it."""
        given = self.spec.policy.retrieval
        if given is None:
            raise InputError("expert iteration with the retrieval policy needs --policy retrieval "
                             "--corpus DIR")
        if given.corpus_split not in ("all", "train"):
            raise InputError(f"--retrieval-corpus-split {given.corpus_split}: expert iteration indexes the "
                             "corpus's train files (the held-out stdlib files stay out), so only train "
                             "(or the default, all) applies")
        if given.extra:
            raise InputError("--retrieval-extra: expert iteration's corpus is the traced train files, then "
                             "each round adds the pairs of the rounds before it (round-NN/growth); trace "
                             "more files into the corpus instead")
        return replace(given, corpus_split="train", extra=())


class CorpusRounds:
    """One run folder's rounds: the fixed plan (parts, samples) and each round's index, built once."""

    def __init__(self, config: ExpertConfig, run: RetrievalRun, console: Console | None) -> None:
        self.config, self.run, self.console = config, run, console
        self.out = Path(config.out).resolve()
        self.assistant = run.spec.policy.assistant
        self.parts: BenchmarkParts = BenchmarkParts((), (), ())
        self.test_lemmas: Lemmas = {}
        self._train_samples: list[Lemmas] = []  # round r's train lemmas (only [0] without fresh samples)
        self.root = Path()
        self.tactic: TacticRounds | None = None  # with --tactic-model
        self._index: tuple[int, RetrievalIndex, Any] | None = None  # (round, index, its Ray reference)
        self._libraries: dict[str, tuple[frozenset[str], Any]] = {}  # test/train: (files, Ray reference)
        self._shared_library: tuple[tuple[Any, ...], Any] | None = None  # (its settings, Ray reference)
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

    def label(self, round_number: int) -> str:
        return f"{self.run.spec.policy.label}+corpus-{round_number:02d}"

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


def run_retrieval_iteration(config: ExpertConfig, run: RetrievalRun, *,
                            console: Console | None = None) -> RetrievalReport:
    """Run (or resume) rounds 0 .. ``config.rounds`` (the last evaluates only); write the report.

    Raises ``RunMismatchError`` for a run folder of another run, ``InputError`` for a bad benchmark or a
    corpus with no usable row, ``BackendUnavailableError`` from the searches."""
    from prover.sweep.runner import connect_ray

    rounds = CorpusRounds(config, run, console)
    rounds.plan()
    connect_ray(run.sweep.address)
    for round_number in range(config.rounds + 1):
        rounds.run_round(round_number, last=round_number == config.rounds)
    return write_retrieval_report(rounds.out, Path(run.benchmark).stem)

