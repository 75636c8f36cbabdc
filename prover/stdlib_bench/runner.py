"""The stdlib re-proving benchmark: each selected lemma of the chosen split attempted in its own file's
prefix by the retrieval policy (index: train files only) and, beside it on the same lemma in the same
environment, by CoqHammer's ``sauto`` alone, each within the same per-lemma budget.

Lemma selection is fixed. A lemma of a file of the split is eligible when ``prover trace`` traced its
proof (tactics ending in ``Qed``/``Defined``: not a proof term, an admitted, aborted or failed proof), it
is stated with ``Theorem``/``Lemma``/``Fact``/``Remark``/``Corollary``/``Proposition``/``Example``, the
statement safety filter accepts it, and it is a constant of the compiled file, so its proof can be
audited by name: not inside a functor, a module type or a module sealed by ``: T`` (``lemmas.py``). Of a
file's eligible lemmas at most ``per_file`` are selected, spread evenly over the file (positions
``i * n // per_file``). The summary counts the traced lemmas left out per reason (``left_out``, over the
files up to the last one selected by name) and the lemmas selected (``selected_lemmas``).

Files run in parallel on Ray (one CPU each, a file's lemmas in order so its prefix is replayed once);
results are appended per file to ``results.jsonl`` (one write, flushed and fsynced, per file) and a
rerun skips finished files. A file whose task failed (coqtop could not start, a worker died) is not
written: the summary lists it in ``missing_files`` and a rerun retries it. A lemma whose environment
cannot be built (its file's prefix had a failed sentence, or coqtop died on it) is an environment error,
counted by neither method.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prover.atomic_files import write_text_atomic
from prover.jsonl_repair import TornLine, find_torn_line, repair_torn_tail, whole_lines
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


@dataclass(frozen=True)
class Selection:
    """The lemmas attempted per file (file order), and how many traced lemmas were left out, per reason."""

    lemmas: dict[str, list[StdlibLemma]]
    left_out: dict[str, int]


NOT_CHECKABLE = "inside a functor, a module type or a sealed module (no constant to audit)"
SPREAD = "beyond per_file (the even spread over the file)"
OTHER_KEYWORD = "not stated with Theorem/Lemma/Fact/Remark/Corollary/Proposition/Example"


def select_lemmas(config: StdlibBenchConfig) -> dict[str, list[StdlibLemma]]:
    """The lemmas of the split's traced files, per file (file order), ``per_file`` at most each (the
    module docstring's rule)."""
    return selection(config).lemmas


def selection(config: StdlibBenchConfig) -> Selection:
    """``select_lemmas`` with the count of the traced proofs left out per reason: over the split's files
    up to the last one selected (by name; all of them without ``max_files``)."""
    chosen: dict[str, list[StdlibLemma]] = {}
    reasons: dict[str, Counter[str]] = {}
    for record in sorted(open_dataset(config.corpus).records(), key=lambda r: r.unit):
        if file_split(record.source, record.unit) != config.split:
            continue
        text = read_stdlib_file(Path(config.root), record.unit)
        lemmas, refused = file_lemmas(record.unit, split_source(text, record.unit), record.proofs)
        counts = reasons.setdefault(record.unit, Counter())
        for proof in record.proofs:
            if proof.status != "traced":
                counts[f"proof not traced: {proof.status}"] += 1
        traced = len({(p.line, p.theorem) for p in record.proofs if p.status == "traced"})
        counts[OTHER_KEYWORD] += max(traced - len(lemmas) - len(refused), 0)
        for reason in refused.values():
            counts[f"statement refused: {reason}"] += 1
        counts[NOT_CHECKABLE] += sum(1 for lemma in lemmas if not lemma.checkable)
        lemmas = [lemma for lemma in lemmas if lemma.checkable]
        if len(lemmas) > config.per_file:
            counts[SPREAD] += len(lemmas) - config.per_file
            lemmas = [lemmas[i * len(lemmas) // config.per_file] for i in range(config.per_file)]
        if lemmas:
            chosen[record.unit] = lemmas
    units = sorted(chosen)[: config.max_files]
    last = units[-1] if units and config.max_files is not None else None
    total: Counter[str] = Counter()
    for unit, counts in reasons.items():
        if last is None or unit <= last:
            total.update(counts)
    return Selection({u: chosen[u] for u in units},
                     {reason: n for reason, n in sorted(total.items()) if n})


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
    """Run (or resume) the benchmark on the connected Ray; returns the summary (also in summary.json).

    Raises ``InputError`` when ``out`` cannot be the results folder (a file, unwritable), holds another
    run's results (other settings, or results without their ``config.json``) or a damaged
    ``results.jsonl``."""
    out = Path(config.out)
    results_path = out / RESULTS
    _prepare_folder(out, json.dumps(recorded_config(config), indent=1, default=str) + "\n")
    chosen = selection(config)
    recorded = read_results(results_path, repair=True)
    done = complete_files(recorded, chosen.lemmas)
    for unit in sorted({r["unit"] for r in recorded} - done):
        logger.warning("%s: not every lemma has a result (its batch was cut short): the file is redone", unit)
    files = {u: ls for u, ls in chosen.lemmas.items() if u not in done}
    for unit, results in run_files(files, config):
        if results is not None:
            append_results(results_path, results)
            recorded.extend(results)  # the file's lines, in its order: no second read
            logger.info("%s: %d lemmas done", unit, len(results))
    summary = summarize(recorded, config, chosen)
    try:
        write_text_atomic(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    except OSError as exc:
        raise InputError(f"{out / 'summary.json'}: cannot write the summary: {exc}") from exc
    return summary


def complete_files(results: list[dict[str, Any]], lemmas: dict[str, list[StdlibLemma]]) -> set[str]:
    """The files whose every selected lemma has a result. A file's batch is appended at once, but a kill
    or a full disk can stop it right after a whole line, where nothing looks torn: such a file is redone
    (with a warning), and ``summarize`` counts each lemma's last result."""
    recorded: dict[str, set[str]] = {}
    for result in results:
        recorded.setdefault(result["unit"], set()).add(str(result.get("key")))
    return {unit for unit, keys in recorded.items() if {lemma.key for lemma in lemmas.get(unit, ())} <= keys}


def recorded_config(config: StdlibBenchConfig) -> dict[str, Any]:
    """The run's settings as ``config.json`` records them, with what the retrieval index holds: it is built
    by the benchmark (``benchmark_index``), not from ``retrieval``'s own corpus settings (left empty)."""
    recorded = asdict(config)
    if "retrieval" in config.methods:
        recorded["retrieval_index"] = {"corpus": config.corpus,
                                       "files": "the train files of prover/stdlib_bench/split.py only"}
    return recorded


def run_files(files: dict[str, list[StdlibLemma]],
              config: StdlibBenchConfig) -> Iterator[tuple[str, list[dict[str, Any]] | None]]:
    """Run ``bench_file`` for each file on Ray, yielding ``(unit, results)`` as each finishes, ``(unit,
    None)`` for a file whose task failed (logged; not written, so a rerun retries it)."""
    if not files:
        return
    import ray

    index = None
    if "retrieval" in config.methods:
        started = time.perf_counter()
        index = benchmark_index(config)
        logger.info("index: %d states in %.1f s", len(index), time.perf_counter() - started)
    index_ref, library_ref = ray.put(index), ray.put(benchmark_library(config))
    task = ray.remote(num_cpus=1, max_retries=0)(bench_file)
    futures = {task.remote(u, ls, config, index_ref, library_ref): u for u, ls in files.items()}
    while futures:
        ready, _ = ray.wait(list(futures), num_returns=1)
        unit = futures.pop(ready[0])
        try:
            yield unit, ray.get(ready[0])
        except ray.exceptions.RayError as exc:
            logger.error("%s: failed (a rerun retries it): %s", unit, exc)
            yield unit, None


def _prepare_folder(out: Path, config_text: str) -> None:
    """Create ``out`` (or check that the results there are of this run) and write ``config.json``."""
    results, saved = out / RESULTS, out / "config.json"
    try:
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: not a folder: the results folder must be a folder (or a new path)")
        out.mkdir(parents=True, exist_ok=True)
        if results.exists():
            if not saved.exists():
                raise InputError(f"{out} holds {RESULTS} but no config.json: the settings of its results are "
                                 "unknown, so a resume could mix runs: use another folder")
            try:
                old = json.loads(saved.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise InputError(f"{saved}: not a benchmark configuration ({exc}): the settings of the "
                                 "results beside it are unknown: use another folder") from None
            if not isinstance(old, dict):
                raise InputError(f"{saved}: not a benchmark configuration (a JSON object)")
            check_same_run(old, json.loads(config_text), out)
        write_text_atomic(saved, config_text)
    except OSError as exc:
        raise InputError(f"{out}: cannot use it as the results folder: {exc}") from exc


_UNIT_FIELD = re.compile(r'"unit":\s*("(?:[^"\\]|\\.)*")')
_KEY_FIELD = re.compile(r'^\{"key":\s*("(?:[^"\\]|\\.)*")')  # "UNIT:NAME:LINE", a result's first field


def read_results(path: Path, *, repair: bool = False) -> list[dict[str, Any]]:
    """The result dicts of ``results.jsonl`` (none when it does not exist). Raises ``InputError`` naming
    ``results.jsonl:N`` for a line that is not a result.

    A torn last line (``prover.jsonl_repair.find_torn_line``: no newline after it, not a whole JSON
    object: the run was killed while appending) is dropped with a warning, together with the lines of the
    same file before it (its file's batch, maybe cut short), so the file is redone; ``repair`` also cuts
    them off the file (``repair_torn_tail``), so that the next append starts a line. The torn line's file
    is read from its ``unit`` or ``key``; when it shows neither, the file of the last whole line is redone
    with it (it may be the same batch)."""
    try:
        data = path.read_bytes() if path.exists() else b""
    except OSError as exc:
        raise InputError(f"{path}: cannot read the results: {exc}") from exc
    torn = find_torn_line(data)
    results: list[tuple[int, dict[str, Any]]] = []  # (offset of the line, result)
    offset, number = 0, 0
    for raw in whole_lines(data).splitlines(keepends=True):
        number, start, offset = number + 1, offset, offset + len(raw)
        if not raw.strip():
            continue
        try:
            result = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}:{number}: not a result line ({exc}); the file is damaged: remove the "
                             "line (its file is then redone) or use another folder") from None
        if not isinstance(result, dict) or not isinstance(result.get("unit"), str):
            raise InputError(f"{path}:{number}: not a result line (a JSON object with a \"unit\"); the file "
                             "is damaged: remove the line (its file is then redone) or use another folder")
        results.append((start, result))
    cut = None if torn is None else _drop_torn(path, results, torn)
    if repair:
        repair_torn_tail(path, data=data, cut_from=cut, check_lines=False,  # every line was read above
                         consequence="with the results of its file before it, so that file is redone")
    return [result for _, result in results]


def _drop_torn(path: Path, results: list[tuple[int, dict[str, Any]]], torn: TornLine) -> int:
    """Drop the results of the torn line's file from the end of ``results`` (with a warning); returns the
    offset of the first line dropped, where the file is to be cut."""
    text = torn.text.decode("utf-8", "replace")
    unit = None
    if (named := _UNIT_FIELD.search(text)) is not None:
        with contextlib.suppress(json.JSONDecodeError):
            unit = json.loads(named.group(1))
    elif (key := _KEY_FIELD.match(text)) is not None:
        with contextlib.suppress(json.JSONDecodeError):
            unit = json.loads(key.group(1)).rsplit(":", 2)[0]
    if unit is None and results:
        unit = results[-1][1]["unit"]
    cut = torn.start
    while results and results[-1][1]["unit"] == unit:
        cut = results.pop()[0]
    logger.warning("%s:%d: the last line is cut short (a run was killed while writing it): dropped, with the "
                   "%s results before it; %s is redone", path, torn.number, unit or "(unknown file)",
                   unit or "its file")
    return cut


def append_results(path: Path, results: list[dict[str, Any]]) -> None:
    """Append one file's results: one write, flushed and fsynced, so that a kill leaves at most a torn last
    line (``read_results`` drops it)."""
    try:
        with path.open("ab") as handle:
            handle.write("".join(json.dumps(r) + "\n" for r in results).encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise InputError(f"{path}: cannot append the results: {exc}") from exc


ADDED_SETTINGS = {"alpha": 2.0}  # settings added since runs were first recorded, with the value they had


def check_same_run(old: dict[str, Any], new: dict[str, Any], out: Path) -> None:
    """Raise ``InputError`` when ``out`` holds results of a run with other settings (a resume only adds the
    files not done yet, so the summary would mix the two); the results folder's own path may differ."""
    keys = sorted(set(old) | set(new))
    added = {key for key in ADDED_SETTINGS if key not in old and new.get(key) == ADDED_SETTINGS[key]}
    derived = {"out", "retrieval_index"}  # the folder's own path; what the settings imply
    differences = [key for key in keys if key not in derived | added and old.get(key) != new.get(key)]
    if differences:
        shown = "; ".join(f"{key}: {old.get(key)!r} there, {new.get(key)!r} now" for key in differences)
        raise InputError(f"{out} holds a stdlib benchmark run with other settings ({shown}): use another "
                         "folder")


def summarize(results: list[dict[str, Any]], config: StdlibBenchConfig,
              chosen: Selection | None = None) -> dict[str, Any]:
    """The rates over the lemmas counted (those with an environment), and, given the ``chosen``
    selection, what was selected, left out and is still missing."""
    latest = list({str(r.get("key")): r for r in results}.values())  # a redone file's lemmas: the last
    counted = [r for r in latest if not r.get("environment_error")]
    summary: dict[str, Any] = {"lemmas": len(counted), "files": len({r["unit"] for r in counted}),
                               "environment_errors": len(latest) - len(counted),
                               "prefix_failed": sum(1 for r in latest if r.get("prefix_failed_line")),
                               "budget_s": config.budget, "split": config.split}
    if chosen is not None:
        done = complete_files(latest, chosen.lemmas)
        summary["selected_lemmas"] = sum(len(lemmas) for lemmas in chosen.lemmas.values())
        summary["missing_files"] = [unit for unit in chosen.lemmas if unit not in done]
        summary["left_out"] = chosen.left_out
    for method in config.methods:
        proved = sum(1 for r in counted if r.get(method, {}).get("proved"))
        summary[method] = {"proved": proved, "rate": round(proved / len(counted), 4) if counted else 0.0}
    if "retrieval" in summary and "sauto" in summary and summary["sauto"]["proved"]:
        ratio = summary["retrieval"]["proved"] / summary["sauto"]["proved"]
        summary["ratio_retrieval_to_sauto"] = round(ratio, 3)
    union = sum(1 for r in counted if any(r.get(m, {}).get("proved") for m in config.methods))
    summary["union"] = {"proved": union, "rate": round(union / len(counted), 4) if counted else 0.0}
    return summary
