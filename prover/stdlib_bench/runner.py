"""The stdlib re-proving benchmark: each selected lemma of the chosen split attempted in its own file's
prefix by the retrieval policy (index: train files only) and, beside it on the same lemma in the same
environment, by CoqHammer's ``sauto`` alone, each within the same per-lemma budget.

Lemma selection is fixed: every traced ``Qed``/``Defined`` lemma of each file of the split, at most
``per_file`` of them spread evenly over the file (positions ``i * n // per_file``). Files run in
parallel on Ray (one CPU each, a file's lemmas in order so its prefix is replayed once); results are
appended per file to ``results.jsonl`` and a rerun skips finished files.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prover.atomic_files import write_text_atomic
from prover.retrieval.policy import RetrievalConfig
from prover.stdlib_bench.environment import read_stdlib_file
from prover.stdlib_bench.lemmas import StdlibLemma, file_lemmas
from prover.stdlib_bench.library import TrainLibrary, train_library
from prover.stdlib_bench.split import file_split
from prover.theorem_input import InputError
from prover.tracing.coq_files import STDLIB_SOURCE
from prover.tracing.coq_source import split_source
from prover.tracing.dataset import open_dataset
from search.validation import MAX_SECONDS, Validated, setting

logger = logging.getLogger(__name__)

METHODS = ("retrieval", "sauto", "tactics")
RESULTS = "results.jsonl"


def _known_methods(methods: tuple[str, ...]) -> str | None:
    unknown = [method for method in methods if method not in METHODS]
    return f"methods must be among {', '.join(METHODS)}, got {', '.join(map(repr, unknown))}" if unknown \
        else None


@dataclass(frozen=True, kw_only=True)
class StdlibBenchConfig(Validated):
    """One benchmark run: the traced stdlib (``corpus``), the installed sources (``root``), the split,
    the per-lemma budget (seconds of search, or of ``sauto``'s own time limit) and the methods."""

    config_name = "stdlib benchmark configuration"

    corpus: str = setting(nonblank=True, help="the traced standard library (a `prover trace` folder)")
    root: str = setting(nonblank=True, help="the installed standard library's `theories` folder")
    out: str = setting(nonblank=True, help="the results folder")
    split: str = setting("test", choices=("test", "valid"), help="which files' lemmas are attempted")
    budget: float = setting(
        10.0, above=0, max=MAX_SECONDS, help="seconds per lemma: of search, or sauto's own time limit")
    tactic_timeout: float = setting(2.0, above=0, max=MAX_SECONDS, help="seconds per tactic")
    alpha: float = setting(2.0, min=0, max=10, help="the search's length normalisation (SearchConfig.alpha)")
    per_file: int = setting(3, min=1, help="lemmas per file at most, spread evenly (the protocol: 3)")
    max_files: int | None = setting(None, min=1, help="files at most (the first by name); none: all")
    methods: tuple[str, ...] = setting(
        ("retrieval", "sauto"), min_items=1, check=_known_methods,
        help="what attempts each lemma: retrieval, sauto, tactics")
    retrieval: RetrievalConfig = field(
        default_factory=lambda: RetrievalConfig(tactic_list_weight=0.7, premise_weight=0.4, width=20),
        # each chosen on the valid split (BENCHMARKS.md)
        metadata={"help": "the retrieval policy's settings"})


def select_lemmas(config: StdlibBenchConfig) -> dict[str, list[StdlibLemma]]:
    """The lemmas of the split's traced files, per file (file order), ``per_file`` at most each."""
    chosen: dict[str, list[StdlibLemma]] = {}
    for record in sorted(open_dataset(config.corpus).records(), key=lambda r: r.unit):
        if file_split(record.source, record.unit) != config.split:
            continue
        text = read_stdlib_file(Path(config.root), record.unit)
        lemmas, _ = file_lemmas(record.unit, split_source(text, record.unit), record.proofs)
        lemmas = [lemma for lemma in lemmas if lemma.checkable]
        if len(lemmas) > config.per_file:
            lemmas = [lemmas[i * len(lemmas) // config.per_file] for i in range(config.per_file)]
        if lemmas:
            chosen[record.unit] = lemmas
    units = sorted(chosen)[: config.max_files]
    return {u: chosen[u] for u in units}


def train_units(corpus: str) -> set[tuple[str, str]]:
    """The (source, unit) pairs of the corpus's train files (``file_split``)."""
    return {(r.source, r.unit) for r in open_dataset(corpus).records()
            if file_split(r.source, r.unit) == "train"}


def benchmark_index(config: StdlibBenchConfig) -> Any:
    """The retrieval index the benchmark searches with: the corpus's train files only, so never a state of
    a valid or test file, and never the lemma being proved (``split.py``)."""
    from prover.retrieval.policy import load_index

    return load_index(config.corpus, assistant="coq", files=train_units(config.corpus))


def benchmark_library(config: StdlibBenchConfig) -> TrainLibrary | None:
    """The train files' lemmas for library premises (``library_premises`` > 0), else None: the same train
    files as the index, so never a lemma of a valid or test file."""
    retrieval = config.retrieval
    if "retrieval" not in config.methods or retrieval.premise_weight <= 0 or retrieval.library_premises <= 0:
        return None
    stdlib = {unit for source, unit in train_units(config.corpus) if source == STDLIB_SOURCE}
    return train_library(Path(config.root), stdlib)  # files under the installed theories/ only


def bench_file(unit: str, lemmas: list[StdlibLemma], config: StdlibBenchConfig,
               index: Any, library: TrainLibrary | None = None) -> list[dict[str, Any]]:
    """Attempt each lemma of one file with each method; one result dict per lemma."""
    from prover.stdlib_bench.attempts import attempt_lemma
    from prover.stdlib_bench.backend import StdlibBackend
    from prover.stdlib_bench.environment import trusted_source
    from search.backends.coq.config import CoqBackendConfig

    path = trusted_source(Path(config.root), unit)
    sentences = split_source(path.read_text(encoding="utf-8"), unit)
    backend = StdlibBackend(CoqBackendConfig(), sentences)
    try:
        return [attempt_lemma(backend, lemma, config, index, library) for lemma in lemmas]
    finally:
        backend.close()


def run_benchmark(config: StdlibBenchConfig) -> dict[str, Any]:
    """Run (or resume) the benchmark on the connected Ray; returns the summary (also in summary.json)."""
    import ray

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(asdict(config), indent=1, default=str) + "\n"
    if (out / "config.json").exists() and (out / RESULTS).exists():
        check_same_run(json.loads((out / "config.json").read_text(encoding="utf-8")), json.loads(text), out)
    write_text_atomic(out / "config.json", text)
    results_path = out / RESULTS
    done = {json.loads(line)["unit"] for line in _lines(results_path)}
    files = {u: ls for u, ls in select_lemmas(config).items() if u not in done}
    index = None
    if files and "retrieval" in config.methods:
        started = time.perf_counter()
        index = benchmark_index(config)
        logger.info("index: %d states in %.1f s", len(index), time.perf_counter() - started)
    if files:
        index_ref, library_ref = ray.put(index), ray.put(benchmark_library(config))
        task = ray.remote(num_cpus=1, max_retries=0)(bench_file)
        futures = {task.remote(u, ls, config, index_ref, library_ref): u for u, ls in files.items()}
        while futures:
            ready, _ = ray.wait(list(futures), num_returns=1)
            unit = futures.pop(ready[0])
            try:
                results = ray.get(ready[0])
            except ray.exceptions.RayError as exc:
                logger.error("%s: failed (a rerun retries it): %s", unit, exc)
                continue
            with results_path.open("a") as handle:
                handle.write("".join(json.dumps(r) + "\n" for r in results))
            logger.info("%s: %d lemmas done", unit, len(results))
    summary = summarize([json.loads(line) for line in _lines(results_path)], config)
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    return summary


ADDED_SETTINGS = {"alpha": 2.0}  # settings added since runs were first recorded, with the value they had


def check_same_run(old: dict[str, Any], new: dict[str, Any], out: Path) -> None:
    """Raise ``InputError`` when ``out`` holds results of a run with other settings (a resume only adds the
    files not done yet, so the summary would mix the two); the results folder's own path may differ."""
    keys = sorted(set(old) | set(new))
    added = {key for key in ADDED_SETTINGS if key not in old and new.get(key) == ADDED_SETTINGS[key]}
    differences = [key for key in keys if key != "out" and key not in added and old.get(key) != new.get(key)]
    if differences:
        shown = "; ".join(f"{key}: {old.get(key)!r} there, {new.get(key)!r} now" for key in differences)
        raise InputError(f"{out} holds a stdlib benchmark run with other settings ({shown}): use another "
                         "folder")


def summarize(results: list[dict[str, Any]], config: StdlibBenchConfig) -> dict[str, Any]:
    counted = [r for r in results if not r.get("environment_error")]
    summary: dict[str, Any] = {"lemmas": len(counted), "files": len({r["unit"] for r in counted}),
                               "environment_errors": len(results) - len(counted),
                               "budget_s": config.budget, "split": config.split}
    for method in config.methods:
        proved = sum(1 for r in counted if r.get(method, {}).get("proved"))
        summary[method] = {"proved": proved, "rate": round(proved / len(counted), 4) if counted else 0.0}
    if "retrieval" in summary and "sauto" in summary and summary["sauto"]["proved"]:
        ratio = summary["retrieval"]["proved"] / summary["sauto"]["proved"]
        summary["ratio_retrieval_to_sauto"] = round(ratio, 3)
    union = sum(1 for r in counted if any(r.get(m, {}).get("proved") for m in config.methods))
    summary["union"] = {"proved": union, "rate": round(union / len(counted), 4) if counted else 0.0}
    return summary


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
