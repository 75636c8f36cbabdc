"""The stdlib benchmark's runs stay honest: a lemma whose file prefix did not replay as its source is an
environment error (not a failure of either method), a coqtop that could not start fails the file (retried
by a rerun) rather than being stored, the replay's coqtops never leak, and ``results.jsonl`` survives a
kill while appending; the summary says what was selected, left out and is missing."""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from prover.stdlib_bench import runner
from prover.stdlib_bench.attempts import attempt_lemma
from prover.stdlib_bench.backend import StdlibBackend
from prover.stdlib_bench.environment import PrefixFailedError, PrefixPool, PrefixReplay
from prover.stdlib_bench.lemmas import StdlibLemma, file_lemmas
from prover.stdlib_bench.runner import (
    NOT_CHECKABLE,
    SPREAD,
    StdlibBenchConfig,
    read_results,
    run_benchmark,
    summarize,
)
from prover.theorem_input import InputError
from prover.tracing.coq_files import STDLIB_SOURCE
from prover.tracing.coq_source import split_source
from prover.tracing.coq_trace import trace_coq_file
from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob
from prover.tracing.dataset import Dataset
from search.backends.coq import CoqBackendConfig
from search.backends.coq.coqtop import CoqTop, Reply
from search.errors import BackendUnavailableError
from search.types import Theorem

needs_coq = pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")
ROOT = Path(__file__).resolve().parents[3]


def theories() -> Path:
    where = subprocess.run(["coqc", "-where"], capture_output=True, text=True, check=True).stdout.strip()
    return Path(where) / "theories"


def traced(root: Path, unit: str, text: str) -> tuple[list, Any, list]:
    path = root / unit
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    record, rows = trace_coq_file(TraceJob(str(path), unit, STDLIB_SOURCE, "t"), CoqTraceConfig())
    return split_source(text, unit), record, rows


# --- 1. a failed prefix sentence makes the later lemmas environment errors -----------------------------

@needs_coq
def test_a_lemma_after_a_sentence_that_fails_with_the_preamble_is_an_environment_error() -> None:
    """``Reals/ROrderedType.v``: with CoqHammer's preamble ``auto with *`` closes one more goal of
    ``Reqb_eq``, so its next sentence fails (line 27); the replay used to drop the proof, then
    ``eqb_eq`` and ``End R_as_UBE.``, leaving the module open under every later lemma, which then failed
    its check for both methods. Now the later lemmas are environment errors naming line 27; the lemmas
    before it are attempted as before."""
    unit = "Reals/ROrderedType.v"
    text = (theories() / unit).read_text()
    record, _ = trace_coq_file(TraceJob(str(theories() / unit), unit, STDLIB_SOURCE, "t"), CoqTraceConfig())
    sentences = split_source(text, unit)
    lemmas = {lm.name: lm for lm in file_lemmas(unit, sentences, record.proofs)[0]}
    config = StdlibBenchConfig(corpus="unused", root="unused", out="unused", methods=("sauto",), budget=2.0)
    backend = StdlibBackend(CoqBackendConfig(), sentences)
    try:
        with backend.open(backend.at(lemmas["Reqb_eq"])):
            pass  # its prefix (up to line 24) replays
        with pytest.raises(PrefixFailedError, match="line 27"):
            backend.open(backend.at(lemmas["Rcompare_spec"]))
        results = [attempt_lemma(backend, lemmas[name], config, None)
                   for name in ("Rcompare_spec", "le_lteq")]
    finally:
        backend.close()
    for result in results:
        assert "sauto" not in result  # attempted by neither method
        assert result["prefix_failed_line"] == 27
        assert "line 27: 'split; try discriminate.' failed: No such goal" in result["environment_error"]
    summary = summarize(results, config)
    assert (summary["lemmas"], summary["environment_errors"], summary["prefix_failed"]) == (0, 2, 2)


def replay(tmp_path: Path, text: str) -> PrefixReplay:
    top = CoqTop(CoqBackendConfig(), name="coqtop[test]", cwd=str(tmp_path))
    top.start(30)
    sentences = split_source(text, "Dev/Q.v")
    result = PrefixReplay(top, sentences, 30)
    try:
        result.advance(len(sentences))
    finally:
        top.close()
    return result


@needs_coq
def test_queries_and_no_ops_are_not_failures(tmp_path: Path) -> None:
    """Coq 8.16 gives queries a new state id like any command; one that kept the id without an error
    (a no-op) would not be a failure either."""
    text = ('Check nat.\nPrint nat.\nLocate "+".\nAbout nat.\nSearch (_ + 0 = _).\nPrint Assumptions nat.\n'
            'Lemma a : True.\nProof.\nShow.\nCheck I.\nexact I.\nQed.\nDefinition d := a.\nFail Check e.\n')
    result = replay(tmp_path, text)
    assert result.failed == []
    assert result.kept == list(range(14))
    quiet = PrefixReplay(QuietTop(), split_source("Lemma a : True.\nShow.\nexact I.\nQed.\n", "Dev/Q.v"), 1)
    quiet.advance(4)
    assert quiet.failed == [] and quiet.kept == [0, 2, 3]  # ``Show.`` changed nothing: not an abort


class QuietTop:
    """A coqtop that answers ``Show.`` by keeping its state id, without an error."""

    def __init__(self) -> None:
        self.state_id, self.proof = 1, None

    def command(self, sentence: str, timeout: float) -> Reply:
        if sentence != "Show.":
            self.state_id += 1
            self.proof = "a" if sentence.startswith("Lemma") else None if sentence == "Qed." else self.proof
        return Reply(self.state_id, self.proof, "")


@needs_coq
def test_a_failed_proof_by_term_ends_the_proof_it_opened(tmp_path: Path) -> None:
    """The tracer's rule: ``Proof <term>.`` ends its proof, so after it fails the next lemma is replayed,
    not skipped up to its ``Qed``."""
    text = ("Definition t := 0.\nLemma a : True.\nProof t.\nLemma b : True.\nProof.\nexact I.\nQed.\n"
            "Definition c := b.\n")
    result = replay(tmp_path, text)
    assert [(f.line, f.text) for f in result.failed] == [(3, "Proof t.")]
    assert "has type" in result.failed[0].error
    assert result.kept == [0, 3, 4, 5, 6, 7]  # ``a`` dropped whole; ``b`` and ``c`` stand


# --- 2. the replay's coqtops never leak -----------------------------------------------------------

FILE = """Lemma one : True.
Proof. exact I. Qed.
Lemma two : True /\\ True.
Proof. split; exact I. Qed.
"""


@needs_coq
def test_an_interrupt_during_the_replay_closes_the_fresh_coqtop(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[CoqTop] = []

    def interrupted(self: PrefixReplay, end: int) -> None:
        seen.append(self.top)
        raise KeyboardInterrupt

    monkeypatch.setattr(PrefixReplay, "advance", interrupted)
    pool = PrefixPool(CoqBackendConfig(), split_source(FILE, "Dev/Q.v"))
    pool.target = 4  # after one's Qed
    try:
        with pytest.raises(KeyboardInterrupt):
            pool.take(Theorem("two", "Lemma two : True /\\ True."))
        (top,) = seen
        assert not top.alive and pool._replays == {}
    finally:
        pool.close()


@needs_coq
def test_the_replays_of_evicted_coqtops_are_forgotten() -> None:
    pool = PrefixPool(CoqBackendConfig(), split_source(FILE, "Dev/Q.v"))
    pool.target = 4  # after one's Qed
    theorem = Theorem("two", "Lemma two : True /\\ True.")
    try:
        first, second = pool.take(theorem), pool.take(theorem)  # two at once: two fresh coqtops
        assert len(pool._replays) == 2
        pool.give_back(first)
        pool.give_back(second)  # parks it, evicting the first (keep=1)
        assert not first.top.alive
        assert list(pool._replays) == [second.top]
    finally:
        pool.close()
    assert pool._replays == {}


# --- 4. a coqtop that cannot start fails the file instead of being stored -------------------------------

def test_a_coqtop_that_cannot_start_is_not_stored_as_an_environment_error(tmp_path: Path) -> None:
    lemma = StdlibLemma("Dev/Q.v", "two", 3, 3, "Lemma two : True /\\ True.", "two", ())
    config = StdlibBenchConfig(corpus="unused", root="unused", out="unused", methods=("sauto",), budget=1.0)
    missing = CoqBackendConfig(coqtop=str(tmp_path / "no-coqtop"), start_attempts=1)
    backend = StdlibBackend(missing, split_source(FILE, "Dev/Q.v"))
    try:
        with pytest.raises(BackendUnavailableError):
            attempt_lemma(backend, lemma, config, None)
    finally:
        backend.close()


def test_a_statement_that_never_loads_in_time_is_an_environment_error_of_its_lemma_only() -> None:
    """coqtop starts, then takes longer than its start-up limit on the statement on every try: no verdict
    on the lemma and no fault of the file (it would fail the file on every rerun), so the lemma alone is
    left out as an environment error."""
    lemma = StdlibLemma("Dev/Q.v", "slow", 1, 0, "Lemma slow : ltac:(do 3000000 idtac; exact True).", "slow",
                        ())
    config = StdlibBenchConfig(corpus="unused", root="unused", out="unused", methods=("sauto",), budget=1.0)
    quick = CoqBackendConfig(start_timeout=0.5, start_attempts=1)
    backend = StdlibBackend(quick, split_source(FILE, "Dev/Q.v"))
    try:
        result = attempt_lemma(backend, lemma, config, None)
    finally:
        backend.close()
    assert "sauto" not in result and "start-up limit" in result["environment_error"], result


# --- 3, 4, 5. the results file and the summary ------------------------------------------------------

def line(unit: str, name: str) -> str:
    return json.dumps({"key": f"{unit}:{name}:1", "unit": unit, "name": name, "line": 1}) + "\n"


def test_a_torn_last_line_is_dropped_with_its_file_s_batch(tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "results.jsonl"
    whole = line("A.v", "a1") + line("B.v", "b1") + line("B.v", "b2")
    path.write_text(whole + line("B.v", "b3")[:40])  # killed while writing B.v's batch
    with caplog.at_level(logging.WARNING):
        assert [r["name"] for r in read_results(path)] == ["a1"]
    assert "results.jsonl:4: the last line is cut short" in caplog.text
    assert path.read_text().endswith(line("B.v", "b3")[:40])  # reading alone changes nothing
    read_results(path, repair=True)
    assert path.read_text() == line("A.v", "a1")  # the next append starts a line of its own
    path.write_text(whole + '{"key": "C.v:c1:1", "un')  # named by its key: C.v is redone
    assert [r["name"] for r in read_results(path)] == ["a1", "b1", "b2"]
    path.write_text(whole + '{"ke')  # the torn line does not name its file
    assert [r["name"] for r in read_results(path)] == ["a1"]  # the last file before it is redone too


@pytest.mark.parametrize(("text", "where"), [
    (line("A.v", "a") + "{not json\n" + line("B.v", "b"), r"results\.jsonl:2: not a result line"),
    (line("A.v", "a") + '{"key": "x"}\n', r"results\.jsonl:2: not a result line \(a JSON object with a "),
    ("[1, 2]\n", r"results\.jsonl:1: not a result line"),
    (line("A.v", "a") + "{not json\n", r"results\.jsonl:2: not a result line"),  # ends with a newline
])
def test_a_damaged_results_line_is_named(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(text)
    with pytest.raises(InputError, match=where):
        read_results(path)


def test_an_unusable_results_folder_is_refused_by_name(tmp_path: Path) -> None:
    a_file = tmp_path / "out.txt"
    a_file.write_text("x")
    config = StdlibBenchConfig(corpus="unused", root="unused", out=str(a_file))
    with pytest.raises(InputError, match=r"out\.txt: not a folder"):
        run_benchmark(config)
    orphan = tmp_path / "orphan"
    orphan.mkdir()
    (orphan / "results.jsonl").write_text(line("A.v", "a"))
    with pytest.raises(InputError, match=r"holds results\.jsonl but no config\.json: the settings"):
        run_benchmark(StdlibBenchConfig(corpus="unused", root="unused", out=str(orphan)))
    assert not (orphan / "config.json").exists()


def bench_script() -> Any:
    spec = importlib.util.spec_from_file_location("bench_stdlib", ROOT / "benchmarks" / "bench_stdlib.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SIX = """Lemma l1 : True. Proof. exact I. Qed.
Lemma l2 : True. Proof. exact I. Qed.
Lemma l3 : True. Proof. exact I. Qed.
Lemma l4 : True. Proof. exact I. Qed.
Module Type T. Parameter x : nat. End T.
Module F (X : T).
  Lemma in_functor : X.x = X.x.
  Proof. reflexivity. Qed.
End F.
"""


@needs_coq
def test_files_that_failed_are_reported_missing_and_retried(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "theories"
    dataset = Dataset(tmp_path / "ds")
    for unit in ("Dev/F1.v", "Dev/F4.v"):  # both test files
        _, record, rows = traced(root, unit, SIX)
        dataset.add_unit(record, rows)
    config = StdlibBenchConfig(corpus=str(dataset.path), root=str(root), out=str(tmp_path / "out"),
                               per_file=2, methods=("sauto",))
    asked: list[list[str]] = []
    failing = {"Dev/F4.v"}

    def fake(files: dict[str, list[StdlibLemma]],
             config: StdlibBenchConfig) -> Iterator[tuple[str, list[dict[str, Any]] | None]]:
        asked.append(sorted(files))
        for unit, lemmas in files.items():
            yield unit, None if unit in failing else [
                {"key": lm.key, "unit": unit, "name": lm.name, "line": lm.line, "sauto": {"proved": True}}
                for lm in lemmas]

    monkeypatch.setattr(runner, "run_files", fake)
    summary = run_benchmark(config)
    assert (summary["selected_lemmas"], summary["lemmas"], summary["missing_files"]) == (4, 2, ["Dev/F4.v"])
    assert summary["left_out"] == {NOT_CHECKABLE: 2, SPREAD: 4}  # per file: the functor's lemma, l2 and l4
    message = bench_script().exit_message(summary, "ds", "test", config.out)
    assert "1 of the selected files failed" in message and "Dev/F4.v" in message and "rerun" in message
    failing.clear()
    results = tmp_path / "out" / "results.jsonl"
    with results.open("a") as handle:  # a kill while appending the next file's batch
        handle.write(line("Dev/F4.v", "l1")[:30])  # shows its key only
    summary = run_benchmark(config)
    assert asked == [["Dev/F1.v", "Dev/F4.v"], ["Dev/F4.v"]]  # only the missing file is retried
    assert (summary["lemmas"], summary["missing_files"]) == (4, [])
    assert bench_script().exit_message(summary, "ds", "test", config.out) is None
    assert all(json.loads(x) for x in results.read_text().splitlines())  # the torn line was cut off
    # a batch cut right after a whole line (nothing torn): its file is redone, each lemma counted once
    kept = results.read_text().splitlines(keepends=True)
    results.write_text("".join(kept[:-1]))
    summary = run_benchmark(config)
    assert asked == [["Dev/F1.v", "Dev/F4.v"], ["Dev/F4.v"], ["Dev/F4.v"]]
    assert (summary["lemmas"], summary["missing_files"]) == (4, [])
