"""A traced file is replayed under its own logical name; a file is never traced twice into one dataset under
two names; a coqtop that cannot start, files that stop early and skip reasons are reported by name; failed
obligations and nested lemmas get records of their own."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import fields
from pathlib import Path

import pytest
from rich.console import Console
from source_files import write_source as write

from prover.cli.main import main
from prover.tracing.cli import print_summary
from prover.tracing.coq_files import find_jobs, stdlib_root, topfile_args
from prover.tracing.coq_trace import trace_coq_file
from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob
from prover.tracing.dataset import Dataset, DatasetError, ProofRecord, UnitRecord
from prover.tracing.runner import (
    MAX_LISTED,
    RunCounts,
    TraceSummary,
    _reason,
    check_paths,
    run_counts,
    run_trace,
    summarize,
)
from prover.tracing.schema import UNIT_FIELDS

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")

# ``unfold foo.c`` names the file's own constant by its qualified name: it works only when the toplevel
# is named ``foo`` (as coqc names foo.v), not ``Top``
OWN_NAME = "Definition c := 1.\nLemma l : c = 1.\nProof. unfold foo.c. reflexivity. Qed.\n"


def statuses(record: UnitRecord) -> dict[str, str]:
    return {p.theorem: p.status for p in record.proofs}


def test_a_file_is_replayed_under_its_own_logical_name(tmp_path: Path) -> None:
    file = write(tmp_path / "plain", "foo.v", OWN_NAME)
    [job] = find_jobs([file], trace="t")
    assert job.extra_args[-2:] == ("-topfile", str(file.resolve()))
    record, rows = trace_coq_file(job, CoqTraceConfig())
    assert statuses(record) == {"l": "traced"} and [r.tactic for r in rows] == ["unfold foo.c", "reflexivity"]
    # what the fix changes: under Top the same proof fails
    record, _ = trace_coq_file(TraceJob(str(file), "foo.v", "plain", "t"), CoqTraceConfig())
    assert statuses(record) == {"l": "failed"} and "foo.c" in record.proofs[0].detail


def test_a_development_file_gets_its_load_path_name_and_an_odd_file_name_stays_top(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    write(dev, "_CoqProject", "-R . Dev\n")
    write(dev, "foo.v", OWN_NAME.replace("foo.c", "Dev.foo.c"))
    [job] = find_jobs([dev / "foo.v"], trace="t")
    assert job.extra_args == ("-R", str(dev.resolve()), "Dev", "-topfile", str((dev / "foo.v").resolve()))
    record, _ = trace_coq_file(job, CoqTraceConfig())
    assert statuses(record) == {"l": "traced"}
    # coqtop refuses to start with ``-topfile my-file.v`` (no module name): such a file is replayed as Top
    odd = write(tmp_path / "odd", "my-file.v", "Lemma t : True.\nProof. exact I. Qed.\n")
    assert topfile_args(odd) == ()
    assert topfile_args(tmp_path / "x'1.v") == ("-topfile", str(tmp_path / "x'1.v"))
    [job] = find_jobs([odd], trace="t")
    record, _ = trace_coq_file(job, CoqTraceConfig())
    assert statuses(record) == {"t": "traced"} and not record.error


@pytest.mark.slow
def test_the_stdlib_morphisms_file_traces_every_proof() -> None:
    """The audit's case: 5 of Morphisms.v's 51 proofs failed with "Setoid library not loaded" under Top."""
    file = stdlib_root() / "Classes" / "Morphisms.v"
    [job] = find_jobs([file], trace="t")
    assert (job.source, job.unit) == ("coq-stdlib", "Classes/Morphisms.v")
    record, _ = trace_coq_file(job, CoqTraceConfig())
    assert set(statuses(record).values()) == {"traced"} and len(record.proofs) == 51, [
        (p.theorem, p.detail) for p in record.proofs if p.status != "traced"]


def _trace_into(dataset: Dataset, jobs: list[TraceJob]) -> None:
    """What run_trace writes, without Ray."""
    for job in jobs:
        dataset.add_unit(*trace_coq_file(job, CoqTraceConfig()))


def test_a_file_traced_under_another_unit_is_refused_and_resuming_works(tmp_path: Path) -> None:
    std = tmp_path / "std"
    write(std, "Bool/B.v", "Lemma b : true = true.\nProof. reflexivity. Qed.\n")
    write(std, "Top.v", "Lemma t : True.\nProof. exact I. Qed.\n")
    dataset = Dataset(tmp_path / "D")
    first = find_jobs([std], trace="t1")
    _trace_into(dataset, first)
    assert {r.path for r in dataset.records()} == {str((std / "Bool/B.v").resolve()),
                                                   str((std / "Top.v").resolve())}
    again = find_jobs([std / "Bool"], trace="t2")
    assert [(j.source, j.unit) for j in again] == [("Bool", "B.v")]
    with pytest.raises(DatasetError) as caught:
        run_trace(again, dataset, CoqTraceConfig())  # refused before Ray is used
    message = str(caught.value)
    assert str((std / "Bool/B.v").resolve()) in message and "unit 'Bool/B.v' of corpus 'std'" in message
    assert "trace the same folder" in message and "another --out" in message
    assert len(list(dataset.records())) == 2
    check_paths(find_jobs([std], trace="t3"), dataset)  # the same folder again: a resume, not refused
    # through the command: exit 2 and the same message, nothing traced
    assert main(["trace", str(std / "Bool"), "--out", str(tmp_path / "D")]) == 2
    assert len(list(dataset.records())) == 2


def test_unit_records_document_their_fields_and_old_records_load(tmp_path: Path) -> None:
    assert [name for name, _ in UNIT_FIELDS] == [f.name for f in fields(UnitRecord)]
    dataset = Dataset(tmp_path / "D")
    documented = json.loads((dataset.path / "schema.json").read_text())["unit_record"]
    assert "path" in [entry["name"] for entry in documented]
    old = {"source": "s", "unit": "a.v", "trace": "t", "shard": None, "rows": 0, "proofs": [], "error": "",
           "seconds": 1.0, "extra": {}}  # a record written before paths were kept
    (dataset.units / "a.v-old.json").write_text(json.dumps(old))
    [record] = dataset.records()
    assert record.path == "" and dataset.units_by_path() == {}
    check_paths([TraceJob("/x/a.v", "other.v", "s", "t")], dataset)  # nothing known of its path: allowed


def test_a_coqtop_that_cannot_start_is_one_error_before_tracing(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    dev = write(tmp_path / "v", "a1.v", "Lemma a : True.\nProof. exact I. Qed.\n").parent
    code = main(["trace", str(dev), "--out", str(tmp_path / "dsB"), "--coq-coqtop", "/nonexistent/coqtop"])
    assert code == 3  # as ``prover prove --coq-coqtop /nonexistent/coqtop``
    assert "coqtop not found ('/nonexistent/coqtop')" in " ".join(capsys.readouterr().err.split())
    assert not list(Dataset(tmp_path / "dsB").records())


def test_a_trace_in_which_every_file_stopped_early_names_them_and_exits_1(
        ray_cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog) -> None:
    bad = tmp_path / "bad"
    write(bad, "e1.v", "Lemma u : True.\nProof. (* unterminated\n exact I. Qed.\n")
    (bad / "latin1.v").write_bytes("(* caf\xe9 *)\nLemma v : True.\nProof. exact I. Qed.\n".encode("latin-1"))
    with caplog.at_level(logging.WARNING):
        assert main(["trace", str(bad), "--out", str(tmp_path / "dsA")]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "e1.v:2: unterminated comment" in out and "latin1.v" in out and "utf-8" in out
    warned = [r.getMessage() for r in caplog.records if "stopped early" in r.getMessage()]
    assert len(warned) == 2 and any(str((bad / "e1.v").resolve()) in w for w in warned)
    # with one file traced the trace succeeds, and still names the file that stopped early
    write(bad, "good.v", "Lemma g : True.\nProof. exact I. Qed.\n")
    assert main(["trace", str(bad), "--out", str(tmp_path / "dsA"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["proofs"]["traced"] == 1 and summary["file_errors"] == 2
    assert [entry["unit"] for entry in summary["stopped_early"]] == ["e1.v", "latin1.v"]
    # this run replayed all three (the two that stopped early are not done, so they are traced again)
    run = summary["this_run"]
    wanted = {"files": 3, "files_traced": 1, "files_already_traced": 0, "files_stopped_early": 2,
              "proofs_traced": 1}
    assert {k: run[k] for k in wanted} == wanted


def test_what_a_run_did_is_counted_from_the_records_it_wrote(capsys: pytest.CaptureFixture[str]) -> None:
    done = UnitRecord("s", "ok.v", "t", None, 3,
                      (ProofRecord("ok", 1, "traced", 3), ProofRecord("a", 5, "admitted")))
    stopped = UnitRecord("s", "bad.v", "t", None, 0, error="line 2: unterminated comment")
    loads = UnitRecord("s", "req.v", "t", None, 1, (ProofRecord("r", 2, "traced", 1),),
                       extra={"failed_loads": 1})
    run = run_counts(6, [done, stopped, loads], lost=1)
    assert run == RunCounts(files=6, skipped=2, traced=2, stopped_early=1, failed_loads=1, lost=1,
                            proofs_traced=2, rows=4)
    assert run.line() == ("this run: 2 files traced (2 proofs, 4 rows), 2 already traced (skipped), "
                          "1 stopped early, 1 whose Require/Load failed, "
                          "1 not written (the task died; a rerun traces them)")
    # the dataset's totals stay under their keys; what this run did is apart, and printed first
    summary = summarize([done, stopped, loads], run)
    assert summary.as_dict()["files"] == 3 and summary.as_dict()["this_run"]["files_already_traced"] == 2
    assert summarize([done]).run == RunCounts()
    print_summary(Console(), summary, Path("ds"))
    out = capsys.readouterr().out
    assert out.index("this run: 2 files traced") < out.index("dataset totals: ds")


def test_the_summary_lists_the_first_files_that_stopped_early_then_a_count(
        capsys: pytest.CaptureFixture[str]) -> None:
    records = [UnitRecord("s", f"f{i:02}.v", "t", None, 0, error=f"unreadable: f{i:02}.v:1: bad")
               for i in range(MAX_LISTED + 3)]
    summary = summarize(records)
    assert summary.file_errors == MAX_LISTED + 3 and len(summary.stopped) == MAX_LISTED
    traced = UnitRecord("s", "ok.v", "t", None, 1, (ProofRecord("ok", 1, "traced", 1),))
    assert summary.nothing_traced and not summarize([records[0], traced]).nothing_traced
    print_summary(Console(), summary, Path("ds"))
    out = capsys.readouterr().out
    assert "f00.v:1: bad" in out and f"f{MAX_LISTED - 1:02}.v:1: bad" in out
    assert f"f{MAX_LISTED:02}.v" not in out and "... and 3 more" in out


def test_skip_reasons_group_across_files_and_print_verbatim(capsys: pytest.CaptureFixture[str]) -> None:
    a1 = "coqtop did not start: coqtop[a1.v] died (exit code 127)"
    a2 = "line 4: coqtop stopped: coqtop[sub/a2.v] died (exit code 127)"
    assert _reason(a1) == "coqtop did not start: coqtop died"
    assert _reason(a2) == "coqtop stopped: coqtop died (exit code"
    assert _reason("line 3: a nested proof (inner) inside it: not traced") == _reason(
        "line 9: a nested proof (other) inside it: not traced")
    records = [UnitRecord("s", unit, "t", None, 0, tuple(
        ProofRecord(name, 1, "not-reached", detail=a1.replace("a1.v", unit)) for name in ("x", "y")),
        error=a1.replace("a1.v", unit)) for unit in ("a1.v", "a2.v", "a3.v")]
    summary = summarize(records)
    assert summary.skipped_reasons == {"coqtop did not start: coqtop died": 6}
    # a reason or an error with brackets is text, not rich markup
    shown = TraceSummary(files=1, file_errors=1, proofs={"failed": 1},
                         skipped_reasons={"coqtop[a2.v] died": 1}, stopped=(("a2.v", "coqtop[a2.v] died"),))
    print_summary(Console(), shown, Path("ds"))
    out = capsys.readouterr().out
    assert out.count("coqtop[a2.v] died") == 2


OBLIGATIONS_AND_NESTED = """Require Import Program.
Program Definition g (n : nat) : {m : nat | m > n} := undefined_x.
Next Obligation.
exact I.
Qed.
Program Definition k (n : nat) : {m : nat | m > n} := n.
Obligation 1 of k.
exact I.
Qed.
Obligation 2 of k.
exact I.
Qed.
Set Nested Proofs Allowed.
Lemma outer : True.
Proof. exact 1.
  Lemma inner : True.
  Proof. exact I. Qed.
Qed.
Goal True. exact I. Qed.
"""


def test_failed_obligations_are_named_after_their_program_and_nested_lemmas_have_records(
        tmp_path: Path) -> None:
    file = write(tmp_path, "obl.v", OBLIGATIONS_AND_NESTED)
    record, rows = trace_coq_file(TraceJob(str(file), "obl.v", "s", "t"), CoqTraceConfig())
    # g's obligation: its program failed; k's first is coqtop's own proof name (its tactic fails), its
    # second does not exist
    assert [(p.theorem, p.line, p.status) for p in record.proofs] == [
        ("g_obligation", 3, "failed"), ("k_obligation_1", 7, "failed"), ("k_obligation_2", 10, "failed"),
        ("outer", 14, "failed"), ("inner", 16, "failed"), ("Unnamed_thm", 19, "traced")]
    details = {p.theorem: p.detail for p in record.proofs}
    assert details["g_obligation"] == ("the statement failed: Next Obligation (g): No obligations remaining")
    assert details["k_obligation_2"].startswith("the statement failed: Obligation 2 of k (k): ")
    assert "a nested proof: not traced (stated inside the proof of outer" in details["inner"]
    assert [r.theorem for r in rows] == ["Unnamed_thm"]
    assert summarize([record]).coverage == pytest.approx(1 / 6)


def test_a_proof_left_open_at_the_end_of_the_file_is_counted_failed(tmp_path: Path) -> None:
    write(tmp_path, "Open.v", "Lemma done_one : 1 = 1.\nProof. reflexivity. Qed.\n"
                              "Lemma last_open : 2 = 2.\nProof. reflexivity.\n")
    [job] = find_jobs([tmp_path / "Open.v"], trace="t")
    record, rows = trace_coq_file(job, CoqTraceConfig())
    assert [(p.theorem, p.status) for p in record.proofs] == [("done_one", "traced"), ("last_open", "failed")]
    assert "no Qed" in record.proofs[1].detail and len(rows) == 1


@pytest.mark.parametrize("content", ["[]", '{"source": "s"}', '{"proofs": [1]}'])
def test_a_damaged_unit_record_is_a_dataset_error(tmp_path: Path, content: str) -> None:
    dataset = Dataset(tmp_path / "ds")
    record = UnitRecord("s", "A.v", "t", None, 0)
    dataset.add_unit(record, [])
    (next((tmp_path / "ds" / "units").glob("*.json"))).write_text(content)
    with pytest.raises(DatasetError, match="damaged unit record"):
        dataset.is_done("s", "A.v")
    with pytest.raises(DatasetError, match="damaged unit record"):
        list(dataset.records())


def test_time_timeout_and_info_prefixes_are_steps_recorded_without_them(tmp_path: Path) -> None:
    write(tmp_path, "Pre.v",
          "Lemma p : True /\\ True.\nProof. Info 1 split. Time exact I. Timeout 5 exact I. Qed.\n")
    [job] = find_jobs([tmp_path / "Pre.v"], trace="t")
    record, rows = trace_coq_file(job, CoqTraceConfig())
    assert [p.status for p in record.proofs] == ["traced"]
    assert [row.tactic for row in rows] == ["split", "exact I", "exact I"]
