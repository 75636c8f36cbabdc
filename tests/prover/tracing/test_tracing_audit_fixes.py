"""What an audit of ``prover trace`` found: two folders whose files share a (corpus, unit) name, a notation
in a comment that glued sentences (and replies read out of step), sentences too long for coqtop's line,
damaged shards on resume, symbolic links, ``-arg`` lines of a ``_CoqProject``, ``t...`` without
``Proof with``, and ``Unshelve`` when only shelved goals are left."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from source_files import write_source as write

from prover.cli.main import main
from prover.tracing.coq_files import find_jobs, load_path_args
from prover.tracing.coq_sentence_kinds import expand_ellipsis
from prover.tracing.coq_source import declared_dotted, inner_ends, split_source
from prover.tracing.coq_trace import trace_coq_file
from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob
from prover.tracing.dataset import Dataset, DatasetError, ProofRecord, UnitRecord
from prover.tracing.runner import RunCounts, check_paths, run_trace, summarize

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")


def statuses(record: UnitRecord) -> dict[str, str]:
    return {p.theorem: p.status for p in record.proofs}


def _trace_into(dataset: Dataset, jobs: list[TraceJob]) -> None:
    """What run_trace writes, without Ray."""
    for job in jobs:
        dataset.add_unit(*trace_coq_file(job, CoqTraceConfig()))


SPLIT_A = "Lemma a : True /\\ True.\nProof. split. exact I. exact I. Qed.\n"


def _two_file_dev(tmp_path: Path, a_text: str) -> tuple[Path, list[TraceJob], Dataset]:
    """A development of A.v (``a_text``) and B.v, traced into a dataset: its folder, jobs and dataset."""
    dev = tmp_path / "dev"
    write(dev, "A.v", a_text)
    write(dev, "B.v", "Lemma b : 1 = 1.\nProof. reflexivity. Qed.\n")
    jobs = find_jobs([dev], trace="t")
    dataset = Dataset(tmp_path / "ds")
    _trace_into(dataset, jobs)
    return dev, jobs, dataset


# 1. a second folder whose files are the same (corpus, unit) is refused, not skipped as already traced

def test_a_folder_whose_files_have_the_names_of_another_folders_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path / "A" / "theories", "X.v", "Lemma ax : True. Proof. exact I. Qed.\n")
    b = write(tmp_path / "B" / "theories", "X.v", "Lemma bx : 1 = 1. Proof. reflexivity. Qed.\n")
    dataset = Dataset(tmp_path / "ds")
    _trace_into(dataset, find_jobs([a.parent], trace="t"))
    jobs = find_jobs([b.parent], trace="t")
    assert [(j.source, j.unit) for j in jobs] == [("theories", "X.v")]  # the same names as A's file
    with pytest.raises(DatasetError) as caught:
        check_paths(jobs, dataset)
    message = str(caught.value)
    assert str(a.resolve()) in message and str(b.resolve()) in message and "--source" in message
    with pytest.raises(DatasetError):
        run_trace(jobs, dataset, CoqTraceConfig())  # refused before Ray is used
    assert main(["trace", str(b.parent), "--out", str(tmp_path / "ds")]) == 2
    assert str(b.resolve()) in " ".join(capsys.readouterr().err.split())
    check_paths(find_jobs([a.parent], trace="t2"), dataset)  # the same folder again: a resume
    # a record that keeps no path (an older dataset) refuses nothing
    dataset.add_unit(UnitRecord("theories", "Y.v", "t", None, 0), [])
    check_paths([TraceJob(str(tmp_path / "Y.v"), "Y.v", "theories", "t")], dataset)


# 2. a notation in a comment declares nothing; a line coqtop reads as two sentences is never misread

def test_notations_in_comments_or_strings_and_dots_alone_are_no_dotted_symbols() -> None:
    text = ('(* Notation " #[# \'indt\' x y ... z #]#" := (indt x y ... z). *)\n'
            'Definition s := "Notation ""a .-. b"" := 1".\n'
            'Notation "x .+. y" := (x + y) (at level 50).\n'
            'Local Infix "+." := plus (at level 50).\n'
            'Notation "[ x ; .. ; y ]" := (cons x .. (cons y nil) ..).\n')
    assert declared_dotted(text) == {".+.", "+."}
    # the ssreflect.v comment that glued ``split ... exact I.`` into one sentence
    ssreflect = Path("/usr/lib/ocaml/coq/theories/ssr/ssreflect.v")
    if ssreflect.is_file():
        assert declared_dotted(ssreflect.read_text()) == set()
    # a file's own dots-only words in a notation do not glue its sentences either
    source = 'Notation "[ x ; .. ; y ]" := (cons x .. (cons y nil) ..).\nGoal True. auto... Qed.\n'
    assert [s.text for s in split_source(source, known_dotted={"...", ".."})][1:] == [
        "Goal True.", "auto...", "Qed."]
    assert inner_ends("split ... exact I.") and inner_ends("a .+. b = c.")
    assert not inner_ends('idtac "a. b".') and not inner_ends("cons x .. y.") and not inner_ends("auto...")


def test_a_notation_in_a_sibling_files_comment_does_not_glue_sentences(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    write(dev, "A.v", "(* Notation \" #[# 'indt' x y ... z #]#\" := (indt x y ... z). *)\n"
                      "Definition a := 0.\n")
    write(dev, "B.v", "Lemma t1 : True /\\ (True /\\ True).\nProof with idtac.\n  split ...\n  exact I.\n"
                      "  split.\n  exact I.\n  exact I.\nQed.\nLemma t2 : 1 = 1 /\\ True.\n"
                      "Proof.\n  split.\n  reflexivity.\n  exact I.\nQed.\n")
    jobs = {job.unit: job for job in find_jobs([dev], trace="t")}
    assert jobs["B.v"].dotted == ()
    record, rows = trace_coq_file(jobs["B.v"], CoqTraceConfig(sentence_timeout=20))
    assert statuses(record) == {"t1": "traced", "t2": "traced"}
    assert [r.tactic for r in rows] == ["split; idtac", "exact I", "split", "exact I", "exact I",
                                        "split", "reflexivity", "exact I"]
    assert "1 = 1 /\\ True" in rows[5].state_before
    assert "1 = 1" in rows[6].state_before and "/\\" not in rows[6].state_before


def test_a_line_coqtop_reads_as_two_sentences_fails_its_proof_and_later_replies_stay_in_step(
        tmp_path: Path) -> None:
    """``.+.`` is declared by a sibling the file does not load: the splitter keeps ``split .+. exact I.``
    whole, coqtop answers it twice. Before, every later reply was read one behind."""
    dev = tmp_path / "dev"
    write(dev, "A.v", "Notation \"x .+. y\" := (x + y) (at level 50).\n")
    write(dev, "B.v", "Lemma b1 : True /\\ True.\nProof.\n  split .+. exact I.\n  exact I.\nQed.\n"
                      "Lemma b2 : 1 = 1 /\\ True.\nProof. split. reflexivity. exact I. Qed.\n"
                      "Definition d := 1 .+. 2.\nLemma b3 : 2 = 2.\nProof. reflexivity. Qed.\n")
    jobs = {job.unit: job for job in find_jobs([dev], trace="t")}
    assert jobs["B.v"].dotted == (".+.",)
    record, rows = trace_coq_file(jobs["B.v"], CoqTraceConfig(sentence_timeout=20))
    assert not record.error
    assert statuses(record) == {"b1": "failed", "b2": "traced", "b3": "traced"}
    assert "coqtop read it as 2 sentences" in record.proofs[0].detail
    assert [(r.theorem, r.tactic) for r in rows] == [
        ("b2", "split"), ("b2", "reflexivity"), ("b2", "exact I"), ("b3", "reflexivity")]
    assert rows[0].state_before.endswith("1 = 1 /\\ True")
    assert "1 = 1" in rows[1].state_before and "/\\" not in rows[1].state_before
    assert rows[3].state_before.endswith("2 = 2") and rows[3].closed
    assert any("line 8: Definition d := 1 .+. 2." in c and "2 sentences" in c
               for c in record.extra["failed_commands"])


# 3. a sentence over coqtop's line limit fails (inside a proof: the proof), with its reason

def test_a_sentence_too_long_for_coqtops_line_fails_with_its_reason(tmp_path: Path) -> None:
    long_term = "(" + " + ".join(["0"] * 6000) + ")"
    file = write(tmp_path, "Long.v",
                 f"Definition big := {long_term}.\nLemma after1 : True.\nProof. exact I. Qed.\n"
                 f"Lemma inside : True.\nProof. pose (x := {long_term}). exact I. Qed.\n"
                 "Lemma after2 : True.\nProof. exact I. Qed.\n")
    record, rows = trace_coq_file(TraceJob(str(file), "Long.v", "s", "t"), CoqTraceConfig())
    assert not record.error
    assert statuses(record) == {"after1": "traced", "inside": "failed", "after2": "traced"}
    assert "line 5: not sent:" in record.proofs[1].detail and "bytes a line" in record.proofs[1].detail
    assert record.extra["failed_command_count"] == 1
    assert record.extra["failed_commands"][0].startswith("line 1: Definition big")
    assert "not sent" in record.extra["failed_commands"][0]
    assert [r.theorem for r in rows] == ["after1", "after2"]


def test_the_exit_status_is_what_this_run_did() -> None:
    traced = UnitRecord("s", "ok.v", "t", None, 1, (ProofRecord("ok", 1, "traced", 1),))
    # this run's only file was lost (its task died): nothing it tried was traced, whatever the dataset holds
    assert summarize([traced], RunCounts(files=2, skipped=1, lost=1)).nothing_traced
    stopped = UnitRecord("s", "bad.v", "t", None, 0, error="unreadable")
    assert summarize([traced, stopped], RunCounts(files=2, skipped=1, stopped_early=1)).nothing_traced
    assert not summarize([traced], RunCounts(files=1, skipped=1)).nothing_traced  # a rerun: all done
    assert not summarize([traced, stopped], RunCounts(files=2, traced=1, stopped_early=1)).nothing_traced


# 4. a damaged shard is found on resume and its unit traced again

def test_shard_problems_name_damaged_and_missing_shards(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    write(dev, "A.v", "Lemma a : True.\nProof. exact I. Qed.\n")
    write(dev, "B.v", "Lemma b : 1 = 1.\nProof. reflexivity. Qed.\n")
    dataset = Dataset(tmp_path / "ds")
    _trace_into(dataset, find_jobs([dev], trace="t"))
    assert dataset.shard_problems() == {}
    shards = {r.unit: dataset.shards / str(r.shard) for r in dataset.records()}
    shards["A.v"].write_bytes(shards["A.v"].read_bytes()[:30])
    shards["B.v"].unlink()
    problems = dataset.shard_problems()
    assert set(problems) == {("dev", "A.v"), ("dev", "B.v")}
    assert problems[("dev", "A.v")].startswith(f"{shards['A.v']}: unreadable shard")
    assert set(dataset.shard_problems({("dev", "B.v")})) == {("dev", "B.v")}
    with pytest.raises(DatasetError, match="unreadable shard"):
        dataset.check_shards()


def test_a_damaged_shard_is_traced_again_on_resume(ray_cluster, tmp_path: Path, caplog) -> None:
    _, jobs, dataset = _two_file_dev(tmp_path, SPLIT_A)
    shard = next(dataset.shards / str(r.shard) for r in dataset.records() if r.unit == "A.v")
    shard.write_bytes(shard.read_bytes()[:40])  # truncated
    with caplog.at_level(logging.WARNING):
        summary = run_trace(jobs, dataset, CoqTraceConfig())
    assert summary.run == RunCounts(files=2, skipped=1, traced=1, damaged=1, proofs_traced=1, rows=3)
    assert "1 traced again (their shard was damaged)" in summary.run.line()
    assert any(str(shard) in r.getMessage() and "traced again" in r.getMessage() for r in caplog.records)
    dataset.check_shards()
    assert dataset.read().num_rows == 4
    again = run_trace(jobs, dataset, CoqTraceConfig())
    assert again.run == RunCounts(files=2, skipped=2)


# 5. symbolic links in the folder

def test_a_symlinked_file_is_named_by_its_link_and_a_dangling_link_stops_early(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    write(dev, "A.v", "Lemma a : True.\nProof. exact I. Qed.\n")
    target = write(tmp_path / "elsewhere", "E.v", "Lemma e : True.\nProof. exact I. Qed.\n")
    (dev / "sub").mkdir()
    (dev / "sub" / "L.v").symlink_to(target)
    (dev / "D.v").symlink_to(tmp_path / "missing.v")
    jobs = {job.unit: job for job in find_jobs([dev], trace="t")}
    assert set(jobs) == {"A.v", "sub/L.v", "D.v"} and {j.source for j in jobs.values()} == {"dev"}
    assert jobs["sub/L.v"].path == str(target.resolve())
    record, rows = trace_coq_file(jobs["sub/L.v"], CoqTraceConfig())
    assert statuses(record) == {"e": "traced"} and len(rows) == 1
    record, rows = trace_coq_file(jobs["D.v"], CoqTraceConfig())
    assert record.error.startswith("unreadable:") and "missing.v" in record.error and rows == []


# 6. the -arg lines of a _CoqProject reach coqtop

def test_the_arg_lines_of_a_coqproject_are_passed_to_coqtop(tmp_path: Path) -> None:
    dev = tmp_path / "imp"
    write(dev, "I.v", "Definition id_set : Set := forall A : Set, A -> A.\n"
                      "Lemma uses : id_set.\nProof. intros A a. exact a. Qed.\n")
    write(dev, "_CoqProject", "-R . Imp\n-arg -impredicative-set\n-arg \"-w -notation-overridden\"\nI.v\n")
    [job] = find_jobs([dev], trace="t")
    assert job.extra_args[:6] == ("-R", str(dev.resolve()), "Imp", "-impredicative-set", "-w",
                                  "-notation-overridden")
    assert load_path_args(dev / "I.v", None) == ("-R", str(dev.resolve()), "Imp")  # load path alone
    record, rows = trace_coq_file(job, CoqTraceConfig())
    assert statuses(record) == {"uses": "traced"} and len(rows) == 2
    assert not record.extra.get("failed_commands")


# 7. ``t...`` without ``Proof with`` is ``t``

def test_an_ellipsis_without_proof_with_is_recorded_as_the_tactic_alone(tmp_path: Path) -> None:
    assert expand_ellipsis("auto...", "") == "auto" and expand_ellipsis("split ...", "") == "split"
    assert expand_ellipsis("split...", "auto") == "split; auto"
    assert expand_ellipsis("exact I", "") == "exact I"
    file = write(tmp_path, "E.v", "Lemma e1 : True /\\ True.\nProof. split... exact I. exact I. Qed.\n"
                                  "Lemma e2 : True /\\ True.\nProof with auto. split... Qed.\n")
    record, rows = trace_coq_file(TraceJob(str(file), "E.v", "s", "t"), CoqTraceConfig())
    assert statuses(record) == {"e1": "traced", "e2": "traced"}
    assert [r.tactic for r in rows] == ["split", "exact I", "exact I", "split; auto"]


# 8. Unshelve when only shelved goals are left

def test_a_tactic_where_no_goal_is_shown_is_no_row_and_closed_matches_an_empty_after_state(
        tmp_path: Path) -> None:
    file = write(tmp_path, "U.v", "Lemma x : exists n : nat, n = n.\n"
                                  "Proof. eexists. reflexivity. Unshelve. exact 0. Qed.\n")
    record, rows = trace_coq_file(TraceJob(str(file), "U.v", "s", "t"), CoqTraceConfig())
    assert statuses(record) == {"x": "traced"} and record.proofs[0].steps == 3
    assert [r.tactic for r in rows] == ["eexists", "reflexivity", "exact 0"]
    assert [r.step for r in rows] == [0, 1, 2]
    assert all(r.state_before for r in rows)
    assert [(r.state_after == "", r.closed) for r in rows] == [(False, False), (True, True), (True, True)]
    assert rows[2].state_before.endswith("nat")
    assert record.extra["steps_without_goals"] == 1 and "failed_commands" not in record.extra


def test_coq_s_caches_never_land_in_the_caller_s_directory(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """lia writes .lia.cache into coqtop's working directory: a trace's coqtop works in its own."""
    caller = tmp_path / "caller"
    caller.mkdir()
    monkeypatch.chdir(caller)
    file = tmp_path / "L.v"
    file.write_text("Require Import Lia ZArith.\nOpen Scope Z_scope.\n"
                    "Lemma l (x y : Z) : 2*x + 3*y >= 7 -> x <= 1 -> y >= 2.\nProof. lia. Qed.\n")
    record, rows = trace_coq_file(TraceJob(str(file), "L.v", "s", "t"), CoqTraceConfig())
    assert [p.status for p in record.proofs] == ["traced"] and [r.tactic for r in rows] == ["lia"]
    assert list(caller.iterdir()) == []


def test_a_file_edited_since_its_trace_is_traced_again(ray_cluster, tmp_path: Path, caplog) -> None:
    """The record keeps the file's digest: an edited file replaces its rows instead of being skipped as
    already traced (the old proofs and counts stayed)."""
    dev, jobs, dataset = _two_file_dev(tmp_path, "Lemma a : True.\nProof. exact I. Qed.\n")
    write(dev, "A.v", SPLIT_A)
    with caplog.at_level(logging.WARNING):
        summary = run_trace(jobs, dataset, CoqTraceConfig())
    assert summary.run == RunCounts(files=2, skipped=1, traced=1, changed=1, proofs_traced=1, rows=3)
    assert "1 traced again (the file changed since)" in summary.run.line()
    assert any("A.v (dev) changed since it was traced" in r.getMessage() for r in caplog.records)
    assert sorted(dataset.read(columns=["tactic"]).column("tactic").to_pylist()) == \
        ["exact I", "exact I", "reflexivity", "split"]
    assert run_trace(jobs, dataset, CoqTraceConfig()).run == RunCounts(files=2, skipped=2)
