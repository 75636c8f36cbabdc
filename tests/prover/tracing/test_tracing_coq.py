"""Tracing Coq files through real coqtop: the rows hold exactly the backend's state text, real-file
constructs are handled, skipped proofs are counted with their reason, and traces resume per file."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest
from source_files import write_source as write

from prover.cli.main import main
from prover.tracing.coq_files import TraceInputError, find_jobs
from prover.tracing.coq_trace import trace_coq_file
from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob
from prover.tracing.dataset import Dataset
from prover.tracing.runner import RunCounts, run_trace
from search.backends.coq import CoqSession
from search.types import ProofFinished, TacticState, Theorem

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")

FIDELITY = """Require Import Arith.
Lemma add_0_r' : forall n : nat, n + 0 = n /\\ True.
Proof. intros n. split. induction n as [|k IH]. reflexivity. simpl. rewrite IH. reflexivity. exact I. Qed.
"""

FEATURES = """(* A file with what real developments hold. (* nested *) "*)" *)
Require Import List.
Import ListNotations.
Notation "x .+1" := (S x) (at level 2).
Section Sec.
  Variable A : Type.
  Lemma app_nil (l : list A) : l ++ [] = l /\\ True.
  Proof using.
    split.
    - rewrite app_nil_r. reflexivity.
    - { exact I. }
  Qed.
End Sec.
Module M.
  Ltac finish := reflexivity.
  Definition two : nat.
  Proof. exact 2. Defined.
  Lemma succ : forall n, n .+1 = S n.
  Proof. intros n. finish. Qed.
End M.
Lemma admitted_one : 1 = 2.
Proof. idtac. Admitted.
Lemma broken_proof : 1 = 1.
Proof. exact (eq_refl 2). Qed.
Lemma broken_statement : undefined_thing = 1.
Proof. reflexivity. Qed.
Lemma after_all : True.
Proof. exact I. Qed.
"""


def trace(path: Path, **config) -> tuple:
    return trace_coq_file(TraceJob(str(path), path.name, "test", "t1"), CoqTraceConfig(**config))


def test_rows_hold_exactly_the_state_text_a_search_session_shows(tmp_path: Path) -> None:
    record, rows = trace(write(tmp_path, "fidelity.v", FIDELITY))
    assert [p.status for p in record.proofs] == ["traced"]
    assert [r.tactic for r in rows] == ["intros n", "split", "induction n as [|k IH]", "reflexivity",
                                        "simpl", "rewrite IH", "reflexivity", "exact I"]
    assert [r.step for r in rows] == list(range(8))
    theorem = Theorem("add_0_r'", "Lemma add_0_r' : forall n : nat, n + 0 = n /\\ True.",
                      "Require Import Arith.")
    with CoqSession(theorem) as session:
        state = session.initial_state()
        for row in rows:
            assert row.state_before == state.pp, row.tactic
            result = session.run_tactic(state, row.tactic)
            if isinstance(result, ProofFinished):
                assert row.closed and row.state_after == ""
                break
            assert isinstance(result, TacticState), result
            assert row.state_after == result.pp, row.tactic
            state = result
    # the induction leaves two goals: the second one is printed in full (Show 2), with its hypothesis
    assert "goal 2 is:" in rows[2].state_after and "IH : k + 0 = k" in rows[2].state_after
    assert not any(r.closed for r in rows[:3])


def test_real_file_constructs_and_skipped_proofs_are_counted(tmp_path: Path) -> None:
    record, rows = trace(write(tmp_path, "features.v", FEATURES))
    statuses = {p.theorem: p.status for p in record.proofs}
    assert statuses == {"app_nil": "traced", "two": "traced", "succ": "traced", "admitted_one": "admitted",
                        "broken_proof": "failed", "broken_statement": "failed", "after_all": "traced"}
    by_proof: dict[str, list] = {}
    for row in rows:
        by_proof.setdefault(row.theorem, []).append(row)
    assert [r.tactic for r in by_proof["app_nil"]] == ["split", "rewrite app_nil_r", "reflexivity",
                                                      "exact I"]
    assert [r.tactic for r in by_proof["succ"]] == ["intros n", "finish"]
    assert "admitted_one" not in by_proof and "broken_proof" not in by_proof
    app = by_proof["app_nil"]
    assert (app[1].line, app[1].column) == (10, 7)
    assert "A : Type" in app[0].state_before and "l ++ [] = l /\\ True" in app[0].state_before
    assert app[2].closed and app[2].state_after == ""  # closes the first bullet's goal
    assert app[1].state_before.startswith("1 goal\n")  # the bullet focused one goal
    failed = {p.theorem: p.detail for p in record.proofs if p.status == "failed"}
    assert "eq_refl" in failed["broken_proof"]
    assert "statement failed" in failed["broken_statement"]
    assert record.rows == len(rows) and not record.error


NESTED_AND_DOTTED = """Require Import Arith.
Notation "x .+. y" := (x + y) (at level 50).
Lemma a_plus : forall n m : nat, n .+. m = m .+. n.
Proof. intros n m. apply PeanoNat.Nat.add_comm. Qed.
Set Nested Proofs Allowed.
Lemma outer : True /\\ True.
Proof.
  Lemma inner : True.
  Proof. exact I. Qed.
  Lemma inner2 : True.
  Proof. exact I. Qed.
  split; [exact inner | exact inner2].
Qed.
"""


def test_a_dotted_notation_and_a_nested_proof_are_traced(tmp_path: Path) -> None:
    """Two constructs of the audit that hung the tracer: ``n .+. m`` read as a sentence end, and the
    prompt of a nested proof (``|inner|outer|``) that the reader did not know."""
    record, rows = trace(write(tmp_path, "nested.v", NESTED_AND_DOTTED + "Lemma after : True.\n"
                               "Proof. exact I. Qed.\n"), sentence_timeout=20)
    assert [(p.theorem, p.status) for p in record.proofs] == [
        ("a_plus", "traced"), ("outer", "failed"), ("inner", "failed"), ("inner2", "failed"),
        ("after", "traced")]
    assert "a nested proof (inner) inside it: not traced" in record.proofs[1].detail
    # each nested lemma has its own record (the coverage counts it), naming the proof it stands in
    assert [(p.line, "stated inside the proof of outer" in p.detail) for p in record.proofs[2:4]] == [
        (8, True), (10, True)]
    assert not record.extra.get("failed_commands")  # nothing of outer's proof ran at top level
    assert [r.tactic for r in rows if r.theorem == "a_plus"] == ["intros n m", "apply PeanoNat.Nat.add_comm"]
    assert not record.error


def test_a_sentence_past_its_limit_stops_the_file_and_says_which_proofs_were_not_reached(
        tmp_path: Path) -> None:
    text = ("Lemma first : True.\nProof. exact I. Qed.\nLemma slow : True.\nProof. do 100000000 idtac. "
            "exact I. Qed.\nLemma later : True.\nProof. exact I. Qed.\n")
    record, rows = trace(write(tmp_path, "slow.v", text), sentence_timeout=1.0)
    assert [(p.theorem, p.status) for p in record.proofs] == [
        ("first", "traced"), ("slow", "not-reached"), ("later", "not-reached")]
    assert "line 4" in record.error and [r.theorem for r in rows] == ["first"]


def test_traces_run_on_ray_append_to_the_dataset_and_resume_per_file(ray_cluster, tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    write(dev, "A.v", FIDELITY)
    write(dev, "sub/B.v", "Lemma b : True.\nProof. exact I. Qed.\n")
    jobs = find_jobs([dev], trace="run1")
    assert sorted(j.unit for j in jobs) == ["A.v", "sub/B.v"] and {j.source for j in jobs} == {"dev"}
    dataset = Dataset(tmp_path / "out")
    summary = run_trace(jobs, dataset, CoqTraceConfig())
    assert summary.files == 2 and summary.proofs == {"traced": 2} and summary.rows == 9
    assert summary.run == RunCounts(files=2, traced=2, proofs_traced=2, rows=9)
    table = dataset.read()
    assert table.num_rows == 9 and set(table.column("file").to_pylist()) == {"A.v", "sub/B.v"}
    shards = sorted(p.name for p in dataset.shards.iterdir())
    # a rerun traces nothing again; a unit whose record is lost (a crash before it was written) is
    # traced again into a new shard, and the orphan shard is never read
    again = run_trace(jobs, dataset, CoqTraceConfig())
    assert again.rows == 9 and again.run == RunCounts(files=2, skipped=2)  # the totals stay the dataset's
    assert sorted(p.name for p in dataset.shards.iterdir()) == shards
    next(p for p in dataset.units.iterdir() if p.name.startswith("A.v")).unlink()
    again = run_trace(jobs, dataset, CoqTraceConfig())
    assert again.rows == 9 and again.run == RunCounts(files=2, skipped=1, traced=1, proofs_traced=1, rows=8)
    assert len(list(dataset.shards.iterdir())) == 3 and dataset.read().num_rows == 9


def test_prover_trace_command_prints_a_summary_and_refuses_bad_input(
        ray_cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dev = write(tmp_path / "dev", "F.v", FEATURES).parent
    assert main(["trace", str(dev), "--out", str(tmp_path / "ds"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["proofs"] == {"traced": 4, "admitted": 1, "failed": 2}
    assert summary["files"] == 1 and summary["coverage"] == pytest.approx(4 / 6, abs=1e-3)
    assert summary["this_run"] == {
        "files": 1, "files_traced": 1, "files_already_traced": 0, "files_stopped_early": 0,
        "files_failed_loads": 0, "files_not_written": 0, "files_retraced_damaged": 0,
        "files_retraced_changed": 0, "proofs_traced": 4, "rows": summary["rows"]}
    # a rerun traces nothing and says so; the dataset's totals are kept, labelled as such
    assert main(["trace", str(dev), "--out", str(tmp_path / "ds"), "--json"]) == 0
    rerun = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rerun["this_run"]["files_traced"] == 0 and rerun["this_run"]["files_already_traced"] == 1
    assert rerun["this_run"]["proofs_traced"] == rerun["this_run"]["rows"] == 0
    assert {k: v for k, v in rerun.items() if k != "this_run"} == {
        k: v for k, v in summary.items() if k != "this_run"}
    assert main(["trace", str(dev), "--out", str(tmp_path / "ds")]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "this run: 0 files traced (0 proofs, 0 rows), 1 already traced (skipped)" in out
    assert "dataset totals:" in out and "every trace into the dataset, earlier runs too" in out
    assert (tmp_path / "ds" / "schema.json").is_file()
    assert main(["trace", str(tmp_path / "missing"), "--out", str(tmp_path / "ds2")]) == 2
    assert "missing: no such file or folder" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "ds2").exists()
    (tmp_path / "notds").mkdir()
    (tmp_path / "notds" / "x.txt").write_text("x")
    assert main(["trace", str(dev), "--out", str(tmp_path / "notds")]) == 2
    assert "not a traced dataset" in " ".join(capsys.readouterr().err.split())


def test_a_development_is_replayed_with_the_load_path_of_its_coqproject(tmp_path: Path, caplog) -> None:
    """A sibling ``Require`` resolves through the ``_CoqProject``'s ``-R``; without one it fails, and the
    unit's record, the summary and a warning say which command failed instead of blaming the proofs."""
    import subprocess

    dev = tmp_path / "dev"
    write(dev, "Base.v", "Definition two := 2.\n")
    subprocess.run(["coqc", "-R", str(dev), "Dev", str(dev / "Base.v")], check=True, capture_output=True)
    write(dev, "Use.v",
          "Require Import Base.\nLemma two_is : two = 2.\nProof. unfold two. reflexivity. Qed.\n")
    [job] = find_jobs([dev / "Use.v"], trace="t")
    assert job.extra_args == ("-topfile", str((dev / "Use.v").resolve()))  # no load path: only its name
    with caplog.at_level("WARNING"):
        record, rows = trace_coq_file(job, CoqTraceConfig())
    assert [p.status for p in record.proofs] == ["failed"] and rows == []
    assert record.extra["failed_commands"][0].startswith("line 1: Require Import Base.:")
    assert "Require Import Base." in caplog.text and "load path" in caplog.text
    from prover.tracing.runner import summarize
    assert summarize([record]).failed_loads == 1

    write(dev, "_CoqProject", "# the build's load path\n-R . Dev\nBase.v Use.v\n")
    [job] = find_jobs([dev / "Use.v"], trace="t")
    assert job.extra_args == ("-R", str(dev.resolve()), "Dev", "-topfile", str((dev / "Use.v").resolve()))
    record, rows = trace_coq_file(job, CoqTraceConfig())
    assert [p.status for p in record.proofs] == ["traced"] and len(rows) == 2
    assert "failed_commands" not in record.extra
    write(dev, "_CoqProject", "-R .\n")
    with pytest.raises(TraceInputError, match="-R needs 2 operand"):
        find_jobs([dev / "Use.v"], trace="t")


def test_a_notation_with_a_dot_from_a_sibling_file_does_not_cut_a_sentence(tmp_path: Path) -> None:
    """``a .+. b`` in a file that loads the notation from a sibling: one sentence (cut at ``.+.``, coqtop
    would wait for its end until the time-out and the rest of the file would be lost)."""
    import subprocess

    dev = tmp_path / "dev"
    write(dev, "_CoqProject", "-R . Dev\n")
    write(dev, "A.v", "Notation \"x .+. y\" := (x + y) (at level 50).\n")
    subprocess.run(["coqc", "-R", str(dev), "Dev", str(dev / "A.v")], check=True, capture_output=True)
    write(dev, "B.v", "Require Import Dev.A.\nLemma b_same : forall a b : nat, a .+. b = a .+. b.\n"
                      "Proof. intros. reflexivity. Qed.\nLemma b2 : 1 = 1.\nProof. reflexivity. Qed.\n")
    jobs = {job.unit: job for job in find_jobs([dev], trace="t")}
    assert jobs["B.v"].dotted == (".+.",)
    record, rows = trace_coq_file(jobs["B.v"], CoqTraceConfig(sentence_timeout=20))
    assert [p.status for p in record.proofs] == ["traced", "traced"] and len(rows) == 3


def test_an_installed_library_is_bound_to_its_logical_name(tmp_path: Path) -> None:
    from prover.tracing.coq_files import load_path_args

    where = tmp_path / "lib" / "coq"
    write(where / "user-contrib" / "Lib" / "sub", "X.v", "")
    (where / "theories").mkdir()
    file = where / "user-contrib" / "Lib" / "sub" / "X.v"
    assert load_path_args(file, where / "theories") == ("-R", str(where / "user-contrib" / "Lib"), "Lib")
    assert load_path_args(tmp_path / "elsewhere.v", where / "theories") == ()
    assert load_path_args(file, None) == ()


def test_a_file_that_starts_with_a_byte_order_mark_is_traced(tmp_path: Path) -> None:
    path = tmp_path / "bom.v"
    path.write_bytes("\ufeffLemma t : True.\nProof. exact I. Qed.\n".encode())
    record, rows = trace(path)
    assert [(p.theorem, p.status) for p in record.proofs] == [("t", "traced")] and not record.error
    assert [r.tactic for r in rows] == ["exact I"]


TERM_AND_CAPITALISED = """Require Import ZArith Arith.
Lemma t0 : 0 = 0.
Proof. reflexivity. Qed.
Lemma by_term : True.
Proof I.
Lemma t1 : forall a b : Z, (a <= b)%Z -> (a <= b)%Z.
Proof. intros a b H. Z.le_elim H. - apply Z.lt_le_incl. exact H. - rewrite H. apply Z.le_refl. Qed.
Ltac Finish := reflexivity.
Lemma t2 : forall n : nat, n + 0 = n.
Proof. intros n. Time rewrite <- plus_n_O. Finish. Qed.
Lemma t3 : forall n m : nat, n + m = m + n /\\ n = n.
Proof with auto with arith.
  intros n m. split...
Qed.
"""


def test_a_term_proof_ends_its_proof_and_capitalised_tactics_are_steps(tmp_path: Path) -> None:
    """``Proof I.`` closes its lemma (no ``Qed`` follows; status ``term``): every later proof is still
    traced; tactics named with a capital or a module path (``Z.le_elim H``, a user's ``Finish``,
    ``Time t``) are steps, so each step's state after is the next one's state before; ``t...`` under
    ``Proof with w`` is recorded as the tactic it runs, ``t; w``."""
    record, rows = trace(write(tmp_path, "Term.v", TERM_AND_CAPITALISED))
    status = {p.theorem: p.status for p in record.proofs}
    assert status == {"t0": "traced", "by_term": "term", "t1": "traced", "t2": "traced",
                      "t3": "traced"}
    tactics = {t: [r.tactic for r in rows if r.theorem == t] for t in ("t1", "t2", "t3")}
    assert tactics["t1"][:2] == ["intros a b H", "Z.le_elim H"]
    assert tactics["t2"] == ["intros n", "rewrite <- plus_n_O", "Finish"]  # Time: not part of it
    assert tactics["t3"] == ["intros n m", "split; auto with arith"]
    t1 = [r for r in rows if r.theorem == "t1"]
    assert t1[0].state_after == t1[1].state_before  # the step between them is recorded
    t2 = [r for r in rows if r.theorem == "t2"]
    assert all(a.state_after == b.state_before for a, b in itertools.pairwise(t2))


def test_the_dataset_digest_changes_when_a_unit_is_traced_into_it(tmp_path: Path) -> None:
    """Expert iteration pins its corpus by this digest: equal for the same units, new after another."""
    dataset = Dataset(tmp_path / "ds")
    empty = dataset.digest()
    record, rows = trace(write(tmp_path, "fidelity.v", FIDELITY))
    dataset.add_unit(record, rows)
    once = dataset.digest()
    assert once != empty and Dataset(tmp_path / "ds").digest() == once
    other, other_rows = trace(write(tmp_path, "term.v", TERM_AND_CAPITALISED))
    dataset.add_unit(other, other_rows)
    assert dataset.digest() not in (empty, once)


AFTER_FAILURES = """Definition x : nat := undefined_thing.
Axiom ax : nat.
Lemma l1 : True /\\ True.
Proof. split. exact I. exact I. Time Qed.
Lemma h : forall n : nat, n = n.
Proof. intro. reflexivity. Qed.
Lemma l2 : (forall n : nat, n = n) /\\ True.
Proof with auto using h.
  split...
Qed.
"""


def test_time_admitted_and_time_abort_skip_their_proofs(tmp_path: Path) -> None:
    record, rows = trace(write(tmp_path, "TimeEnds.v", "Lemma a : True. Proof. exact I. Time Admitted.\n"
                               "Lemma b : True /\\ True. Proof. split. - exact I. - exact I. Time Abort.\n"
                               "Lemma c : True. Proof. exact I. Qed.\n"))
    assert {p.theorem: p.status for p in record.proofs} == {"a": "admitted", "b": "aborted", "c": "traced"}
    assert [r.theorem for r in rows] == ["c"]


def test_commands_outside_proofs_are_never_steps_and_time_qed_ends_a_proof(tmp_path: Path) -> None:
    """A failed definition followed by ``Axiom`` (a command, not a tactic) leaves every later proof traced;
    ``Time Qed.`` ends its proof with its steps; ``Proof with auto using h`` runs ``auto using h``."""
    record, rows = trace(write(tmp_path, "After.v", AFTER_FAILURES))
    assert {p.theorem: p.status for p in record.proofs} == {"l1": "traced", "h": "traced", "l2": "traced"}
    assert [r.tactic for r in rows if r.theorem == "l1"] == ["split", "exact I", "exact I"]
    assert [r.tactic for r in rows if r.theorem == "l2"] == ["split; auto using h"]


MISSING_PERIOD = """Lemma a : 0 = 0.
Proof. reflexivity. Qed.
Lemma b : forall n : nat, n = n.
Proof. intros n. reflexivity
Qed.
Lemma c : 1 = 1.
Proof. reflexivity. Qed.
"""


def test_a_lemma_after_a_failed_proof_is_traced(tmp_path: Path) -> None:
    """``b``'s last tactic lost its period (its ``Qed`` joins it and fails): ``b`` is failed, and ``c``,
    which the skipping used to take for a nested proof, is traced."""
    record, _ = trace(write(tmp_path, "Missing.v", MISSING_PERIOD))
    assert {p.theorem: p.status for p in record.proofs} == {"a": "traced", "b": "failed", "c": "traced"}


def test_a_unit_that_stopped_early_or_failed_to_load_is_traced_again(tmp_path: Path) -> None:
    """A time-out, a coqtop that did not start, an unreadable file or a failed Require leaves a record that
    a rerun replaces; a unit traced to its end (its own proof failures included) is done."""
    from prover.tracing.dataset import UnitRecord

    dataset = Dataset(tmp_path / "ds")
    record, rows = trace(write(tmp_path, "fidelity.v", FIDELITY))
    dataset.add_unit(record, rows)
    assert dataset.is_done(record.source, record.unit)
    for unit, extra, error in (("stopped.v", {}, "line 3: coqtop stopped: timed out"),
                               ("loads.v", {"failed_loads": 1}, "")):
        dataset.add_unit(UnitRecord("test", unit, "t1", None, 0, error=error, extra=extra), [])
        assert not dataset.is_done("test", unit)
    stopped, _ = trace(write(tmp_path, "stopped.v", FIDELITY))
    dataset.add_unit(stopped, [])
    assert dataset.is_done("test", "stopped.v")


def test_two_files_that_would_be_one_unit_are_refused(tmp_path: Path) -> None:
    for folder in ("d1", "d2"):
        write(tmp_path / folder, "same.v", FIDELITY)
    with pytest.raises(TraceInputError, match=r"would both be unit 'same\.v'"):
        find_jobs([tmp_path / "d1" / "same.v", tmp_path / "d2" / "same.v"], trace="t", source="dev")
    assert len(find_jobs([tmp_path / "d1", tmp_path / "d1" / "same.v"], trace="t", source="dev")) == 1
    write(tmp_path / "d1" / "sub", "x.v", FIDELITY)  # a file named through its folder and by itself
    jobs = find_jobs([tmp_path / "d1", tmp_path / "d1" / "sub" / "x.v"], trace="t")
    assert sorted(job.unit for job in jobs) == ["same.v", "sub/x.v"]
