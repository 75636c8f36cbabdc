"""Standard-library lemmas in the retrieval expert-iteration loop: a fixed sample of train lemmas searched
for data every round, a fixed sample of test lemmas evaluated every round.

A lemma is attempted as the stdlib benchmark attempts it (``prover.stdlib_bench``): in its own file's
prefix, the whole file checked by the kernel before a proof counts. The sample is fixed by ``SAMPLE_RULE``
from the traced corpus and the installed sources, so every round attempts the same lemmas.

Which index a lemma is searched with is the loop's business (``prover.expert.retrieval_loop``): test lemmas
get the round's index (train files only: a test file's proofs are never in it); train lemmas get it without
the rows of every sampled train file, so no lemma can replay its own file's human proofs.

With ``library_premises`` (and a premise weight) a lemma's premises are also the lemmas of the train
files loaded where it is stated (``prover.stdlib_bench.library``), as the stdlib benchmark offers them; the
loop builds that library once and passes it, like the index, through Ray's object store.

Files run as Ray tasks (one CPU each; a file's lemmas in order, so its prefix is replayed once). Each
lemma's result is a record in the sweep's format (``prover.sweep.worker.make_record``, with its
trajectory), appended per file to ``results.jsonl``. A rerun searches only the sampled lemmas without a
record (or whose record is an error): a file is done when every one of its sampled lemmas has a record, so
a run killed while appending a file's records (a torn last line, cut off the file by the rerun) loses
none of them.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prover.atomic_files import write_text_atomic
from prover.expert.trajectories import read_records
from prover.jsonl_repair import repair_torn_tail
from prover.policies.spec import for_theorem
from prover.retrieval.policy import RetrievalConfig
from prover.stdlib_bench.environment import read_stdlib_file
from prover.stdlib_bench.lemmas import StdlibLemma, file_lemmas
from prover.stdlib_bench.library import TrainLibrary
from prover.stdlib_bench.split import split_of
from prover.sweep.store import RESULTS_FILE
from prover.sweep.worker import Task, make_record
from prover.theorem_input import InputError
from prover.tracing.coq_files import STDLIB_SOURCE
from prover.tracing.coq_source import split_source
from prover.tracing.dataset import open_dataset
from search import SearchConfig, prove
from search.backends.coq.config import CoqBackendConfig
from search.errors import ProverError

logger = logging.getLogger(__name__)

SAMPLE_RULE = ("the split's files with a traced proof, sorted by path; for i < files, the first file at or "
               "after position i * n // files that has an attemptable lemma (a traced Qed/Defined proof "
               "outside functors and sealed modules) and was not taken; in each, its attemptable lemmas at "
               "positions i * m // per_file")

Lemmas = dict[str, list[StdlibLemma]]
REPORT_FILE = "report.md"


def spread(items: Sequence[Any], count: int) -> list[Any]:
    """``count`` of ``items`` evenly spread (positions ``i * n // count``), or all of them if fewer."""
    if len(items) <= count:
        return list(items)
    return [items[i * len(items) // count] for i in range(count)]


def sample_lemmas(corpus: str, root: Path, split: str, files: int, per_file: int, *,
                  exclude: frozenset[str] = frozenset()) -> Lemmas:
    """The fixed sample of ``split``'s lemmas (``SAMPLE_RULE``), per file; empty when ``files`` is 0. The
    files in ``exclude`` are left out before the rule applies (a later round's fresh sample)."""
    records = sorted((r for r in open_dataset(corpus).records()
                      if r.source == STDLIB_SOURCE and split_of(r.unit) == split and r.unit not in exclude
                      and any(p.status == "traced" for p in r.proofs)),
                     key=lambda r: r.unit)
    if files and not records and not exclude:
        raise InputError(f"{corpus} holds no traced {split} file of the standard library (corpus "
                         f"{STDLIB_SOURCE!r}): the stdlib lemmas need a corpus traced from the installed "
                         "standard library (`prover trace --out DIR`), or set their count to 0")
    chosen: Lemmas = {}
    for i in range(min(files, len(records))):
        for record in records[i * len(records) // files:]:
            if record.unit in chosen:
                continue
            text = read_stdlib_file(root, record.unit)
            lemmas, _ = file_lemmas(record.unit, split_source(text, record.unit), record.proofs)
            picked = spread([lemma for lemma in lemmas if lemma.checkable], per_file)
            if picked:
                chosen[record.unit] = picked
                break
    return dict(sorted(chosen.items()))


def lemma_keys(lemmas: Lemmas) -> list[str]:
    return [lemma.key for unit in sorted(lemmas) for lemma in lemmas[unit]]


def search_file(unit: str, lemmas: Sequence[StdlibLemma], root: str, index: Any, retrieval: RetrievalConfig,
                search: SearchConfig, label: str, split: str, coq: CoqBackendConfig | None = None,
                library: TrainLibrary | None = None) -> list[dict[str, Any]]:
    """Search each lemma of one file with the retrieval policy over ``index``; one record per lemma
    (``status`` proved, unproved, invalid, or error when its environment could not be built). ``coq``:
    the run's Coq settings (allowed axioms, limits, coqtop), the defaults when ``None``; ``library``: the
    train files' lemmas offered as library premises (with ``library_premises``), as the stdlib benchmark
    offers them (``prover.stdlib_bench.attempts.lemma_policy``)."""
    from prover.stdlib_bench.attempts import lemma_policy
    from prover.stdlib_bench.backend import StdlibBackend
    from prover.stdlib_bench.environment import trusted_source
    from search.errors import InvalidTheoremError

    sentences = split_source(trusted_source(Path(root), unit).read_text(encoding="utf-8"), unit)
    backend = StdlibBackend(coq or CoqBackendConfig(), sentences)
    records = []
    try:
        for lemma in lemmas:
            task = Task(backend.at(lemma), split, 1)
            start = time.perf_counter()
            try:
                policy = for_theorem(lemma_policy(index, retrieval, sentences, lemma, library=library,
                                                  backend=backend), task.theorem)
                result = prove(task.theorem, backend=backend, policy=policy, config=search)
                record = make_record(task, "proved" if result.proved else "unproved", result=result,
                                     policy=label, worker="stdlib", seconds=time.perf_counter() - start)
            except InvalidTheoremError as exc:
                record = make_record(task, "invalid", message=exc.reason, policy=label, worker="stdlib",
                                     seconds=time.perf_counter() - start)
            except ProverError as exc:  # the lemma's environment could not be built: not counted
                logger.warning("%s: %s", lemma.key, exc)
                record = make_record(task, "error", message=str(exc), policy=label, worker="stdlib",
                                     seconds=time.perf_counter() - start)
            records.append(record | {"key": lemma.key, "unit": unit, "line": lemma.line})
    finally:
        backend.close()
    return records


def run_lemmas(folder: Path, lemmas: Lemmas, *, root: Path, index_ref: Any, retrieval: RetrievalConfig,
               search: SearchConfig, label: str, split: str, coq: CoqBackendConfig | None = None,
               library_ref: Any = None) -> dict[str, Any]:
    """Search (or resume) every sampled lemma on the connected Ray with the index behind ``index_ref``
    (and the library premises behind ``library_ref``, ``None`` for none); returns the summary of
    ``folder``'s results (``summarise_lemmas``). A rerun searches the lemmas ``pending_lemmas`` names: those
    without a record (a run killed while appending them) and those with an error record (a crashed
    worker, an environment that could not be built); while an error stands the stage is not done
    (``ProverError``): every round must count the same lemmas."""
    import ray

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RESULTS_FILE
    cut_torn_line(path)
    pending = pending_lemmas(read_lemma_records(folder), lemmas)
    task = ray.remote(num_cpus=1, max_retries=0)(search_file)
    futures = {task.remote(unit, todo, str(root), index_ref, retrieval, search, label, split, coq,
                           library_ref): (unit, todo) for unit, todo in pending.items()}
    while futures:
        ready, _ = ray.wait(list(futures), num_returns=1)
        unit, todo = futures.pop(ready[0])
        try:
            records = ray.get(ready[0])
        except ray.exceptions.RayError as exc:
            logger.error("%s: failed (its lemmas are recorded as errors; a rerun tries them again): %s",
                         unit, exc)
            records = [make_record(Task(_statement_theorem(lemma), split, 1), "error", message=str(exc),
                                   policy=label, worker="stdlib") | {"key": lemma.key, "unit": unit,
                                                                     "line": lemma.line, "crashed": True}
                       for lemma in todo]
        _append(path, records)
    records = read_lemma_records(folder)
    write_text_atomic(folder / REPORT_FILE, lemma_report(records, f"{split} lemmas ({label})"))
    missing = [lemma.key for todo in pending_lemmas(records, lemmas).values() for lemma in todo]
    errors = [r for r in records if r["status"] == "error"]
    if errors:  # the stage must not be marked done: a rerun searches these files again
        units = sorted({r["unit"] for r in errors})
        raise ProverError(f"{len(errors)} stdlib lemma(s) in {len(units)} file(s) ended in an error "
                          f"({', '.join(units[:3])}{' ...' if len(units) > 3 else ''}; last: "
                          f"{errors[-1].get('message', '')[:200]}): rerun to search them again")
    if missing:  # a search returned no record for them: not done, a rerun searches them
        raise ProverError(f"{path}: no record of {len(missing)} sampled stdlib lemma(s) "
                          f"({', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}): rerun to search "
                          "them")
    return summarise_lemmas(records)


def pending_lemmas(records: Sequence[Mapping[str, Any]], lemmas: Lemmas) -> Lemmas:
    """Of each file's sampled lemmas, those still to search: no record of them (by key) or only an error
    record. A file is done only when none is left, whatever others of its lemmas were recorded."""
    recorded = {record.get("key"): record.get("status") for record in records}
    pending = {unit: [lemma for lemma in lemmas_of_unit if recorded.get(lemma.key, "error") == "error"]
               for unit, lemmas_of_unit in lemmas.items()}
    return {unit: todo for unit, todo in pending.items() if todo}


def cut_torn_line(path: Path) -> None:
    """Make ``path`` safe to append to (``prover.jsonl_repair.repair_torn_tail``): a torn last line (no
    newline after it, not JSON: a run killed while appending) is cut off with a warning, its lemma then
    has no record and is searched again; a whole last line missing only its newline gets it; a damaged
    line before the last is an ``InputError`` naming it. The benchmark's rule
    (``prover.stdlib_bench.runner.read_results``) drops a whole file's batch instead: here each lemma's
    record stands by its key, so the whole records before the torn one are kept."""
    repair_torn_tail(path, consequence="its lemma is searched again")


def _append(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    """Append one line per record, flushed and fsynced (``cut_torn_line`` ran first: the file ends with a
    newline)."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        handle.flush()
        os.fsync(handle.fileno())


def _statement_theorem(lemma: StdlibLemma) -> Any:
    from search.types import Theorem

    return Theorem(lemma.name, lemma.statement)


def read_lemma_records(folder: Path) -> list[dict[str, Any]]:
    """The latest record of each lemma in ``folder``'s results file (none when it does not exist; a torn
    line is skipped): a file whose worker crashed is recorded as ``crashed`` errors and searched again by
    a rerun, whose records then stand."""
    latest: dict[str, dict[str, Any]] = {}
    for record in read_records(folder) if (folder / RESULTS_FILE).exists() else []:
        latest.pop(record.get("key", ""), None)
        latest[record.get("key", "")] = record
    return list(latest.values())


def summarise_lemmas(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Lemmas attempted, counted (without environment errors), proved, and the pass rate of the counted."""
    counted = [r for r in records if r["status"] in ("proved", "unproved")]
    proved = sum(r["status"] == "proved" for r in counted)
    return {"lemmas": len(records), "valid": len(counted), "proved": proved,
            "errors": len(records) - len(counted),
            "pass_rate": round(proved / len(counted), 4) if counted else 0.0}


def _outcome(record: Mapping[str, Any]) -> str:
    status, reason = record.get("status", "?"), record.get("stop_reason")
    return f"{status} ({reason})" if reason and status != "proved" else str(status)


def _seconds(record: Mapping[str, Any]) -> float:
    """The attempt's seconds; a record written before they were measured: its search's wall time."""
    return float(record.get("seconds") or (record.get("stats") or {}).get("wall_seconds") or 0.0)


def lemma_report(records: Sequence[Mapping[str, Any]], title: str) -> str:
    """report.md of a stdlib stage: the summary, then per lemma its file, outcome (status and the search's
    stop reason), expansions and seconds, by file and line."""
    summary = summarise_lemmas(records)
    lines = [f"# Stdlib {title}", "",
             f"Proved {summary['proved']} of {summary['valid']} counted lemmas ({summary['pass_rate']:.1%}); "
             f"{summary['errors']} not counted (invalid or an error).", "",
             "| lemma | file | line | outcome | expansions | seconds |", "| --- " * 6 + "|"]
    for r in sorted(records, key=lambda r: (str(r.get("unit", "")), r.get("line") or 0)):
        expansions = (r.get("stats") or {}).get("expansions")
        lines.append(f"| {r.get('theorem', '?')} | {r.get('unit', '?')} | {r.get('line', '-')} "
                     f"| {_outcome(r)} | {'-' if expansions is None else expansions} | {_seconds(r):.1f} |")
    return "\n".join(lines) + "\n"
