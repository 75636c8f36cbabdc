"""What a resumed retrieval loop must keep as it began (``run.json``: the data searches' budget, the sweeps'
attempts, shared cache and driver sessions), and how its stdlib lemmas resume: a file is done only when
every sampled lemma of it has a record, and library premises reach the lemmas' searches."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from prover.backends import BackendSettings
from prover.expert import stdlib_rounds
from prover.expert.config import ExpertConfig
from prover.expert.corpus_rounds import CorpusRounds
from prover.expert.loop_config import RetrievalLoopConfig
from prover.expert.retrieval_run import RetrievalRun
from prover.expert.run_manifest import RunMismatchError, check_run
from prover.expert.stdlib_rounds import cut_torn_line, pending_lemmas, read_lemma_records, run_lemmas
from prover.policies.spec import PolicySpec
from prover.retrieval.policy import RetrievalConfig
from prover.run_spec import DriverConfig, RunSpec
from prover.stdlib_bench.lemmas import StdlibLemma
from prover.sweep import SweepConfig
from prover.tracing.coq_files import STDLIB_SOURCE
from search import SearchConfig
from search.backends.coq.config import CoqBackendConfig

BUDGET = SearchConfig(max_expansions=16, time_limit=10.0)


def rounds(*, loop: RetrievalLoopConfig | None = None, sweep: SweepConfig | None = None, sessions: int = 1,
           retrieval: RetrievalConfig | None = None) -> CorpusRounds:
    policy = PolicySpec("retrieval", "coq", retrieval=retrieval or RetrievalConfig(corpus="corpus"))
    spec = RunSpec(backend=BackendSettings("coq", CoqBackendConfig()), policy=policy, search=BUDGET,
                   driver=DriverConfig(sessions=sessions))
    run = RetrievalRun(benchmark="bench.jsonl", spec=spec, sweep=sweep or SweepConfig(),
                       loop=loop or RetrievalLoopConfig())
    return CorpusRounds(ExpertConfig(out="unused"), run, None)


def manifest(**kwargs: Any) -> dict[str, Any]:
    return rounds(**kwargs).manifest(Path("bench.jsonl"))


@pytest.mark.parametrize("larger", [RetrievalLoopConfig(data_budget_factor=2.0),
                                    RetrievalLoopConfig(data_tactics_per_node=48)])
def test_a_data_budget_given_to_one_run_and_not_the_other_is_refused_both_ways(tmp_path: Path,
                                                                               larger: RetrievalLoopConfig
                                                                               ) -> None:
    one, more = manifest(), manifest(loop=larger)
    assert "data_budget" not in one and "data_budget" in more
    check_run(tmp_path / "a", more)
    check_run(tmp_path / "a", manifest(loop=larger))  # the same run: resumed
    with pytest.raises(RunMismatchError, match="another data_budget"):
        check_run(tmp_path / "a", one)  # started with the larger budget, resumed without it
    check_run(tmp_path / "b", one)
    check_run(tmp_path / "b", manifest())
    with pytest.raises(RunMismatchError, match="another data_budget"):
        check_run(tmp_path / "b", more)


def test_a_key_of_the_old_run_the_new_one_lacks_is_refused_but_added_keys_stay_optional(
        tmp_path: Path) -> None:
    base = {"loop": "retrieval", "benchmark": "b.jsonl"}
    check_run(tmp_path, base | {"data_budget": {"max_expansions": 32}})
    with pytest.raises(RunMismatchError, match=r"data_budget: \{'max_expansions': 32\} there, None now"):
        check_run(tmp_path, base)
    (tmp_path / "run.json").unlink()
    check_run(tmp_path, base)  # a run written before the sweep and driver keys
    check_run(tmp_path, base | {"sweep": {"attempts": 4, "shared_cache": False}, "driver": {"sessions": 2}})


@pytest.mark.parametrize(("changed", "message"), [
    ({"sweep": SweepConfig(attempts=2)}, r"sweep\.attempts: 1 there, 2 now"),
    ({"sweep": SweepConfig(shared_cache=False)}, r"sweep\.shared_cache: True there, False now"),
    ({"sessions": 4}, r"driver\.sessions: 1 there, 4 now"),
])
def test_the_sweeps_attempts_shared_cache_and_driver_are_part_of_the_run(tmp_path: Path,
                                                                         changed: dict[str, Any],
                                                                         message: str) -> None:
    first = manifest()
    assert first["sweep"] == {"attempts": 1, "shared_cache": True} and first["driver"] == {"sessions": 1}
    check_run(tmp_path, first)
    check_run(tmp_path, manifest(sweep=SweepConfig(workers=8)))  # the worker count may change
    with pytest.raises(RunMismatchError, match=message):
        check_run(tmp_path, manifest(**changed))


# --- the stdlib lemmas' resume ---------------------------------------------------------------------------
UNIT = "Dev/B0.v"


def lemma(name: str, line: int) -> StdlibLemma:
    return StdlibLemma(UNIT, name, line, line, f"Lemma {name} : True.", name, ())


A, B = lemma("a", 1), lemma("b", 3)


def record(item: StdlibLemma, status: str = "proved") -> dict[str, Any]:
    return {"theorem": item.name, "attempt": 1, "status": status, "key": item.key, "unit": UNIT,
            "line": item.line}


def fake_ray() -> SimpleNamespace:
    """Ray's calls as ``run_lemmas`` makes them, run at once in this process."""

    class Future:  # hashable, as Ray's object references are
        def __init__(self, value: Any) -> None:
            self.value = value

    class Task:
        def __init__(self, function: Any) -> None:
            self.function = function

        def remote(self, *args: Any) -> Future:
            return Future(self.function(*args))

    return SimpleNamespace(remote=lambda **_: Task, get=lambda future: future.value,
                           wait=lambda futures, num_returns: (futures[:1], futures[1:]),
                           exceptions=SimpleNamespace(RayError=RuntimeError))


def test_a_file_with_a_torn_record_is_not_done_its_missing_lemma_is_searched_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kill while appending the file's records leaves ``a`` whole and ``b`` torn: the rerun cuts the torn
    line off, searches ``b`` alone and counts both lemmas, ``a`` once."""
    import sys

    folder = tmp_path / "stdlib-train"
    folder.mkdir()
    whole, torn = json.dumps(record(A)), json.dumps(record(B))
    (folder / "results.jsonl").write_text(whole + "\n" + torn[: len(torn) // 2])
    searched: list[list[str]] = []

    def search_file(unit: str, lemmas: list[StdlibLemma], *args: Any) -> list[dict[str, Any]]:
        searched.append([item.name for item in lemmas])
        return [record(item) for item in lemmas]

    monkeypatch.setitem(sys.modules, "ray", fake_ray())
    monkeypatch.setattr(stdlib_rounds, "search_file", search_file)
    summary = run_lemmas(folder, {UNIT: [A, B]}, root=tmp_path, index_ref=None, retrieval=RetrievalConfig(),
                         search=BUDGET, label="retrieval", split="stdlib-train")
    assert searched == [["b"]]
    assert summary["lemmas"] == 2 and summary["proved"] == 2
    lines = (folder / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["theorem"] for line in lines] == ["a", "b"]  # the torn line cut off, a once
    assert run_lemmas(folder, {UNIT: [A, B]}, root=tmp_path, index_ref=None, retrieval=RetrievalConfig(),
                      search=BUDGET, label="retrieval", split="stdlib-train")["lemmas"] == 2
    assert searched == [["b"]]  # done: nothing searched again


def test_a_stdlib_stage_writes_a_report_of_each_lemmas_outcome(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """report.md beside results.jsonl: per lemma its file, line, outcome, expansions and seconds (a record
    written before seconds were measured shows its search's wall time); written even when an error keeps
    the stage open."""
    import sys

    folder = tmp_path / "stdlib-test"

    def search_file(unit: str, lemmas: list[StdlibLemma], *args: Any) -> list[dict[str, Any]]:
        return [record(A) | {"stop_reason": "proved", "stats": {"expansions": 3, "wall_seconds": 0.4},
                             "seconds": 0.52},
                record(B, "unproved") | {"stop_reason": "expansion_budget",
                                         "stats": {"expansions": 8, "wall_seconds": 0.137}, "seconds": 0.0}]

    monkeypatch.setitem(sys.modules, "ray", fake_ray())
    monkeypatch.setattr(stdlib_rounds, "search_file", search_file)
    run_lemmas(folder, {UNIT: [A, B]}, root=tmp_path, index_ref=None, retrieval=RetrievalConfig(),
               search=BUDGET, label="retrieval", split="stdlib-test")
    text = (folder / "report.md").read_text()
    assert text.startswith("# Stdlib stdlib-test lemmas (retrieval)\n\nProved 1 of 2 counted lemmas (50.0%); "
                           "0 not counted (invalid or an error).\n")
    assert "| lemma | file | line | outcome | expansions | seconds |" in text
    assert f"| a | {UNIT} | 1 | proved | 3 | 0.5 |" in text
    assert f"| b | {UNIT} | 3 | unproved (expansion_budget) | 8 | 0.1 |" in text

    errors = tmp_path / "errors"
    monkeypatch.setattr(stdlib_rounds, "search_file",
                        lambda unit, lemmas, *args: [record(A, "error") | {"message": "no coqtop"}])
    with pytest.raises(stdlib_rounds.ProverError):
        run_lemmas(errors, {UNIT: [A]}, root=tmp_path, index_ref=None, retrieval=RetrievalConfig(),
                   search=BUDGET, label="retrieval", split="stdlib-test")
    assert f"| a | {UNIT} | 1 | error | - | 0.0 |" in (errors / "report.md").read_text()


def test_pending_lemmas_are_those_without_a_record_or_with_an_error(tmp_path: Path) -> None:
    lemmas = {UNIT: [A, B], "Dev/B1.v": [lemma("c", 5)]}
    assert pending_lemmas([], lemmas) == lemmas
    assert pending_lemmas([record(A)], lemmas) == {UNIT: [B], "Dev/B1.v": lemmas["Dev/B1.v"]}
    assert pending_lemmas([record(A, "error"), record(B, "unproved")], {UNIT: [A, B]}) == {UNIT: [A]}
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(record(A)))  # whole, only the newline missing: kept
    cut_torn_line(path)
    assert [r["key"] for r in read_lemma_records(tmp_path)] == [A.key]
    cut_torn_line(tmp_path / "absent.jsonl")  # nothing to cut


# --- library premises ------------------------------------------------------------------------------------
def test_the_library_premises_files_are_the_train_files_less_the_sampled_ones_for_train_lemmas(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from prover.expert import round_corpora

    units = {(STDLIB_SOURCE, "Dev/A0.v"), (STDLIB_SOURCE, "Dev/A1.v"), ("other", "Dev/A2.v")}
    monkeypatch.setattr(round_corpora, "corpus_units", lambda corpus, split: units)
    assert rounds().library_files(0, "test") is None  # no library premises: no library
    with_library = RetrievalConfig(corpus="corpus", premise_weight=0.4, library_premises=4)
    loop = rounds(retrieval=with_library, loop=RetrievalLoopConfig(stdlib_train_files=1))
    loop._train_samples = [{"Dev/A0.v": [lemma("a", 1)]}]
    assert loop.library_files(0, "test") == {"Dev/A0.v", "Dev/A1.v"}
    assert loop.library_files(0, "train") == {"Dev/A1.v"}


TARGET = """Require Import List ListSet.
Lemma target : forall (Aeq_dec : forall x y : nat, {x = y} + {x <> y}) (a : nat) (l : set nat),
  NoDup l -> NoDup (set_add Aeq_dec a l).
Proof. intros; apply set_add_nodup; assumption. Qed.
"""


@pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")
def test_a_stdlib_lemma_of_the_loop_gets_the_library_premises(tmp_path: Path) -> None:
    """``set_add_nodup`` (train file ``Lists/ListSet.v``) closes ``target`` in one step, which the search
    without library premises does not (``tests/prover/stdlib_bench/test_stdlib_library_premises.py``): the
    loop's lemma search offers it when given the library."""
    from prover.retrieval import RetrievalIndex
    from prover.stdlib_bench.lemmas import file_lemmas
    from prover.stdlib_bench.library import train_library
    from prover.tracing.coq_source import split_source
    from prover.tracing.coq_trace import trace_coq_file
    from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob

    where = subprocess.run(["coqc", "-where"], capture_output=True, text=True, check=True).stdout.strip()
    library = train_library(Path(where) / "theories", ["Lists/ListSet.v"])
    root, unit = tmp_path / "theories", "Dev/F1.v"
    (root / "Dev").mkdir(parents=True)
    (root / unit).write_text(TARGET)
    traced, _ = trace_coq_file(TraceJob(str(root / unit), unit, STDLIB_SOURCE, "t"), CoqTraceConfig())
    (target,) = [item for item in file_lemmas(unit, split_source(TARGET, unit), traced.proofs)[0]
                 if item.name == "target"]
    index = RetrievalIndex.from_pairs([("1 goal\n  ============================\n  True", "exact I")])
    retrieval = RetrievalConfig(tactic_list_weight=0.7, premise_weight=0.4, width=20, library_premises=4)
    search = SearchConfig(time_limit=8.0, tactic_timeout=2.0, tactics_per_node=20)
    (found,) = stdlib_rounds.search_file(unit, [target], str(root), index, retrieval, search, "retrieval",
                                         "stdlib-test", None, library)
    assert found["status"] == "proved", found
    assert any("Coq.Lists.ListSet." in tactic for tactic in found["proof"])
