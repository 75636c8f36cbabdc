"""The stdlib benchmark's protocol pieces against real Coq: the fixed split, a lemma's environment is its
own file up to it (never the lemma, nothing after it), proofs are checked whole, ``sauto`` runs beside
the retrieval search on the same lemmas."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from prover.stdlib_bench.backend import StdlibBackend
from prover.stdlib_bench.environment import trusted_source
from prover.stdlib_bench.lemmas import file_lemmas
from prover.stdlib_bench.runner import StdlibBenchConfig, run_benchmark, select_lemmas
from prover.stdlib_bench.split import split_of
from prover.tracing.coq_files import STDLIB_SOURCE
from prover.tracing.coq_source import split_source
from prover.tracing.coq_trace import trace_coq_file
from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob
from prover.tracing.dataset import Dataset
from search.backends.coq import CoqBackendConfig
from search.types import ProofFinished, TacticError, TacticState, Theorem, Verdict

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")

FILE = """Require Import Arith.
Section S.
  Variable n : nat.
  Lemma early : n + 0 = n.
  Proof. apply Nat.add_0_r. Qed.
  Lemma cheat : n + 0 + 0 = n.
  Admitted.
  Lemma target : n + 0 + 0 = n.
  Proof. rewrite Nat.add_0_r. apply early. Qed.
  Lemma later : n + 0 + 0 + 0 = n.
  Proof. rewrite !Nat.add_0_r. reflexivity. Qed.
End S.
Module M.
  Lemma in_module (b : bool) : b = true \\/ b = false.
  Proof. destruct b; [left|right]; reflexivity. Qed.
End M.
Module Type T. Parameter x : nat. End T.
Module F (X : T) (Y : T with Definition x := X.x).
  Lemma in_functor : X.x = Y.x.
  Proof. reflexivity. Qed.
End F.
"""


def test_the_split_is_the_documented_fixed_rule() -> None:
    assert [split_of(u) for u in ("Lists/List.v", "Bool/Bool.v", "Arith/Min.v", "Init/Logic.v")] == \
        ["train", "valid", "test", "train"]
    assert [split_of(f"Dev/F{i}.v") for i in range(5)] == ["train", "test", "train", "train", "test"]


def traced(tmp_path: Path, unit: str, text: str = FILE) -> tuple[list, object]:
    path = tmp_path / unit
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    record, rows = trace_coq_file(TraceJob(str(path), unit, STDLIB_SOURCE, "t"), CoqTraceConfig())
    return split_source(text, unit), (record, rows)


def test_a_lemma_is_attempted_in_its_file_prefix_only_and_checked_whole(tmp_path: Path) -> None:
    sentences, (record, _) = traced(tmp_path, "Dev/F1.v")
    lemmas, left_out = file_lemmas("Dev/F1.v", sentences, record.proofs)
    assert [(lm.name, lm.qualified, lm.closers, lm.checkable) for lm in lemmas] == [
        ("early", "early", ("End S.",), True), ("target", "target", ("End S.",), True),
        ("later", "later", ("End S.",), True), ("in_module", "M.in_module", ("End M.",), True),
        ("in_functor", "F.in_functor", ("End F.",), False)]  # no constant to audit: not selected
    assert left_out == {}
    backend = StdlibBackend(CoqBackendConfig(), sentences)
    try:
        theorem = backend.at(lemmas[1])
        with backend.open(theorem) as session:
            start = session.initial_state()
            assert isinstance(start, TacticState) and "n : nat" in start.pp
            for own_or_later in ("apply target", "apply later"):  # not in the environment
                assert isinstance(session.run_tactic(start, own_or_later), TacticError)
            step = session.run_tactic(start, "rewrite Nat.add_0_r")
            assert isinstance(step, TacticState)
            assert isinstance(session.run_tactic(step, "apply early"), ProofFinished)
            assert isinstance(session.run_tactic(start, "apply cheat"), ProofFinished)
        good = backend.verify(theorem, ["rewrite Nat.add_0_r", "apply early"])
        assert good.ok, good.messages
        assert "Lemma target" in good.proof_text and "End S." in good.proof_text
        assert "Lemma later" not in good.proof_text  # nothing after the lemma
        cheat = backend.verify(theorem, ["apply cheat"])  # an admitted prefix lemma is an axiom
        assert not cheat.ok
        inner = backend.at(lemmas[3])  # the prefix pool moves on through the file
        with backend.open(inner) as session:
            assert isinstance(session.run_tactic(session.initial_state(), "sauto"), ProofFinished)
        assert backend.verify(inner, ["sauto"]).ok
    finally:
        backend.close()
    with pytest.raises(ValueError, match=r"not a \.v file of the installed standard library"):
        trusted_source(tmp_path / "Dev", "../../etc/passwd")


ASCRIBED = """Module Type HasTwo. Parameter one : nat. Parameter two : nat. End HasTwo.
Module Two <: HasTwo.
  Definition one := 1.
  Lemma one_is_one : one = 1.
  Proof. reflexivity. Qed.
  Definition two := 2.
End Two.
"""


def test_a_lemma_in_a_module_with_an_interface_is_checked_without_the_later_fields(tmp_path: Path) -> None:
    """``Module Two <: HasTwo``: the checked file ends the module right after the lemma, before ``two``;
    with the ascription kept, ``End Two.`` would reject every proof (a field is missing)."""
    sentences, (record, _) = traced(tmp_path, "Dev/F1.v", ASCRIBED)
    (lemma,), _ = file_lemmas("Dev/F1.v", sentences, record.proofs)
    assert (lemma.qualified, lemma.closers, lemma.checkable) == ("Two.one_is_one", ("End Two.",), True)
    backend = StdlibBackend(CoqBackendConfig(), sentences)
    try:
        theorem = backend.at(lemma)
        with backend.open(theorem) as session:
            assert isinstance(session.run_tactic(session.initial_state(), "reflexivity"), ProofFinished)
        verdict = backend.verify(theorem, ["reflexivity"])
        assert verdict.ok, verdict.messages
        assert "Module Two." in verdict.proof_text and "<:" not in verdict.proof_text.split("End HasTwo.")[1]
        assert not backend.verify(theorem, ["exact I"]).ok  # a wrong proof is still rejected
    finally:
        backend.close()


@pytest.mark.slow
def test_the_benchmark_runs_both_methods_on_the_same_lemmas(ray_cluster, tmp_path: Path) -> None:
    root = tmp_path / "theories"
    dataset = Dataset(tmp_path / "ds")
    for unit, text in (("Dev/F1.v", FILE), ("Dev/F0.v", FILE.replace("target", "t0"))):  # test, train
        _, (record, rows) = traced(root, unit, text)
        dataset.add_unit(record, rows)
    config = StdlibBenchConfig(corpus=str(dataset.path), root=str(root), out=str(tmp_path / "out"),
                               per_file=2, budget=5.0)
    assert {u: [lm.name for lm in ls] for u, ls in select_lemmas(config).items()} == \
        {"Dev/F1.v": ["early", "later"]}
    summary = run_benchmark(config)
    assert summary["lemmas"] == 2 and summary["files"] == 1 and summary["budget_s"] == 5.0
    results = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [r["name"] for r in results] == ["early", "later"]
    assert all("retrieval" in r and "sauto" in r for r in results)
    # the train file holds the same proofs, so the retrieved tactics prove them
    assert summary["retrieval"]["proved"] == 2
    for result in results:  # each search's counters, for diagnosing where a lemma's budget went
        search = result["retrieval"]
        assert search["tactic_calls"] >= search["expansions"] >= 1
        assert 0 <= search["timeouts"] <= search["tactic_calls"] and search["tactic_seconds"] >= 0
        assert search["proofs_rejected"] >= 0  # e.g. `hauto use: cheat`, through the admitted lemma
    assert run_benchmark(config) == summary  # resumed: nothing attempted again
    from dataclasses import replace

    from prover.theorem_input import InputError

    with pytest.raises(InputError, match=r"other settings .*budget: 5\.0 there, 9\.0 now"):
        run_benchmark(replace(config, budget=9.0))  # its results would mix with the first run's


def test_the_index_holds_the_train_files_only(tmp_path: Path) -> None:
    """The lemmas searched are in test (or valid) files; their own traced proofs must never be retrieved."""
    from prover.stdlib_bench.runner import benchmark_index

    root = tmp_path / "theories"
    dataset = Dataset(tmp_path / "ds")
    train = "Lemma u : True /\\ True.\nProof. split; exact I. Qed.\n"
    for unit, text in (("Dev/F1.v", FILE), ("Dev/F0.v", train), ("Dev/F10.v", FILE)):  # test, train, valid
        assert split_of(unit) == {"Dev/F1.v": "test", "Dev/F0.v": "train", "Dev/F10.v": "valid"}[unit]
        _, (record, rows) = traced(root, unit, text)
        dataset.add_unit(record, rows)
    config = StdlibBenchConfig(corpus=str(dataset.path), root=str(root), out=str(tmp_path / "out"))
    index = benchmark_index(config)
    assert {tactic for entry in index.entries for tactic, _ in entry.tactics} == {"split; exact I"}


PREMISE_FILE = """Require Import List.
Module Rev.
  Fixpoint rev' (l : list nat) : list nat := match l with nil => nil | x :: t => rev' t ++ x :: nil end.
  Lemma rev'_app : forall a b, rev' (a ++ b) = rev' b ++ rev' a.
  Proof. induction a; intros; simpl. rewrite app_nil_r; reflexivity. rewrite IHa, app_assoc; reflexivity. Qed.
End Rev.
Import Rev.
Section S.
  Lemma rev'_rev' : forall l, rev' (rev' l) = l.
  Proof. induction l; simpl. reflexivity. rewrite rev'_app; simpl; rewrite IHl; reflexivity. Qed.
End S.
Module Type T. Parameter x : nat. End T.
Module F (X : T).
  Lemma in_functor : X.x = X.x.
  Proof. reflexivity. Qed.
End F.
Lemma target : forall l m, rev' (rev' l ++ rev' m) = m ++ l.
Proof. intros. rewrite Rev.rev'_app, !rev'_rev'. reflexivity. Qed.
"""


def test_the_file_s_earlier_lemmas_are_premises_that_prove_what_search_alone_does_not(tmp_path: Path) -> None:
    """``target`` needs the file's two earlier lemmas (each an induction of its own): with premise tactics
    the search proves it, naming them; without, at the same budget, it does not."""
    from prover.retrieval import RetrievalConfig, RetrievalIndex
    from prover.stdlib_bench.attempts import attempt_lemma
    from prover.stdlib_bench.lemmas import prefix_premises

    sentences, (record, _) = traced(tmp_path, "Dev/F1.v", PREMISE_FILE)
    lemmas, _ = file_lemmas("Dev/F1.v", sentences, record.proofs)
    target = next(lm for lm in lemmas if lm.name == "target")
    premises = prefix_premises(sentences, target)
    assert [p.name for p in premises] == ["Rev.rev'_app", "rev'_rev'"]  # qualified; the functor's is not
    index = RetrievalIndex.from_pairs([("1 goal\n  ============================\n  True", "exact I")])
    results = {}
    for weight in (0.0, 0.3):
        config = StdlibBenchConfig(corpus="unused", root="unused", out="unused", budget=6.0,
                                   methods=("retrieval",),
                                   retrieval=RetrievalConfig(tactic_list_weight=0.7, premise_weight=weight))
        backend = StdlibBackend(CoqBackendConfig(), sentences)
        try:
            results[weight] = attempt_lemma(backend, target, config, index)["retrieval"]
        finally:
            backend.close()
    assert not results[0.0]["proved"]
    assert results[0.3]["proved"], results[0.3]
    assert any("rev'_" in tactic for tactic in results[0.3]["tactics"])


def test_the_expert_loop_s_stdlib_searches_get_their_file_s_premises(tmp_path: Path) -> None:
    """``prover train``'s stdlib lemmas are searched through the same ``lemma_policy``: with premise
    tactics on, ``target`` is proved naming the file's earlier lemmas."""
    from prover.expert.stdlib_rounds import search_file
    from prover.retrieval import RetrievalConfig, RetrievalIndex
    from search import SearchConfig

    root = tmp_path / "theories"
    sentences, (record, _) = traced(root, "Dev/F1.v", PREMISE_FILE)
    lemmas, _ = file_lemmas("Dev/F1.v", sentences, record.proofs)
    target = [lm for lm in lemmas if lm.name == "target"]
    index = RetrievalIndex.from_pairs([("1 goal\n  ============================\n  True", "exact I")])
    retrieval = RetrievalConfig(tactic_list_weight=0.7, premise_weight=0.3)
    search = SearchConfig(time_limit=6.0, tactics_per_node=16)
    (found,) = search_file("Dev/F1.v", target, str(root), index, retrieval, search, "retrieval", "test")
    assert found["status"] == "proved", found.get("message")
    assert any("rev'_" in tactic for tactic in found["proof"])


def installed_file(tmp_path: Path, unit: str) -> tuple[list, StdlibBackend]:
    """The traced lemmas of the installed standard library's file ``unit`` and a benchmark backend for it
    (the caller closes it)."""
    theories = Path(subprocess.run(["coqc", "-where"], capture_output=True, text=True, check=True)
                    .stdout.strip()) / "theories"
    sentences, (record, _) = traced(tmp_path, unit, trusted_source(theories, unit).read_text())
    lemmas, _ = file_lemmas(unit, sentences, record.proofs)
    return lemmas, StdlibBackend(CoqBackendConfig(), sentences)


def opened(backend: StdlibBackend, lemmas: list, name: str) -> Theorem:
    """Select lemma ``name`` and open its session once: the prefix a proof is checked in is the one the
    session replayed."""
    theorem = backend.at(next(lm for lm in lemmas if lm.name == name))
    with backend.open(theorem) as session:
        assert isinstance(session.initial_state(), TacticState)
    return theorem


def test_a_proof_through_the_compiled_copy_of_the_lemma_s_own_file_is_rejected(tmp_path: Path) -> None:
    """CoqHammer's preamble loads ``Coq.Arith.Factorial``: ``lt_O_fact`` is then in the environment under
    its library name, and ``exact (Factorial.lt_O_fact n)`` or a hint path through it re-proves nothing;
    the file's own proof still counts, and so does a proof of the next lemma from the prefix's copy or the
    compiled copy of ``lt_O_fact``, stated before it, but not one through the compiled ``fact_le``, stated
    after it."""
    from prover.stdlib_bench.own_library import library_of, preamble_libraries

    unit = "Arith/Factorial.v"
    lemmas, backend = installed_file(tmp_path, unit)
    assert library_of(unit) in preamble_libraries(backend.pool.preamble, backend.config)
    try:
        theorem = opened(backend, lemmas, "lt_O_fact")
        for cheat in (["exact (Factorial.lt_O_fact n)"], ["exact (Coq.Arith.Factorial.lt_O_fact n)"]):
            verdict = backend.verify(theorem, cheat)
            assert not verdict.ok and "compiled copy of the lemma's own file" in verdict.messages[0], verdict
        own = backend.verify(theorem, ["induction n; simpl; auto", "apply Nat.lt_lt_add_r; assumption"])
        assert own.ok, own.messages
        following = opened(backend, lemmas, "fact_neq_0")
        assert backend.verify(following, ["apply Nat.neq_0_lt_0, lt_O_fact"]).ok
        # the compiled copy of a lemma stated before it is fair (it cannot depend on this one) ...
        assert backend.verify(following, ["apply Nat.neq_0_lt_0, Factorial.lt_O_fact"]).ok
        # ... one stated after it is not
        later = backend.verify(following, [
            "intro H", "pose proof (Factorial.fact_le 0 n (Nat.le_0_l n)) as L",
            "change (Factorial.fact n) with (fact n) in L", "rewrite H in L", "inversion L"])
        assert not later.ok and "Factorial.fact_le" in later.messages[0], later
    finally:
        backend.close()


def test_the_own_file_check_reads_a_universe_polymorphic_file(tmp_path: Path) -> None:
    """``Classes/CRelationClasses.v`` sets ``Universe Polymorphism``, so Coq prints the check's markers
    with a universe instance (``m@{} = 0``): its lemmas' proofs are still read, the honest one accepted and
    the one through the compiled copy (which the preamble loads) rejected."""
    from prover.stdlib_bench.own_library import library_of, preamble_libraries

    unit = "Classes/CRelationClasses.v"
    lemmas, backend = installed_file(tmp_path, unit)
    assert library_of(unit) in preamble_libraries(backend.pool.preamble, backend.config)
    try:
        theorem = opened(backend, lemmas, "complement_inverse")
        honest = backend.verify(theorem, ["reflexivity"])
        assert honest.ok, honest.messages
        cheat = backend.verify(theorem, ["exact (CRelationClasses.complement_inverse R)"])
        assert not cheat.ok and "compiled copy of the lemma's own file" in cheat.messages[0], cheat
    finally:
        backend.close()


def test_a_file_s_own_library_axiom_counts_as_that_library_axiom(tmp_path: Path) -> None:
    """``Logic/FunctionalExtensionality.v`` declares ``functional_extensionality_dep``; replayed, the axiom
    is the check file's, and a proof through it is as good as one through the library's (which the audit
    allows). An axiom of a file that is no standard-library axiom stays refused."""
    lemmas, backend = installed_file(tmp_path, "Logic/FunctionalExtensionality.v")
    try:
        theorem = opened(backend, lemmas, "forall_extensionality")
        proof = ["apply functional_extensionality in H", "destruct H", "reflexivity"]
        verdict = backend.verify(theorem, proof)
        assert verdict.ok, verdict.messages
        assert any(axiom.endswith("ProverCheck.functional_extensionality_dep") for axiom in verdict.axioms)
    finally:
        backend.close()
    text = "Axiom cheat_ax : False.\nLemma target : 1 = 2.\nProof. destruct cheat_ax. Qed.\n"
    verdict = verified_in(tmp_path, "Dev/F1.v", text, "target", ["destruct cheat_ax"])
    assert not verdict.ok and "not allowed" in verdict.messages[0], verdict.messages
    # a copy of a library file (another ``theories`` folder) that declares an allowed axiom's name
    # falsely: by name alone it is not the library's axiom
    text = "Axiom classic : False.\nLemma one_is_two : 1 = 2.\nProof. destruct classic. Qed.\n"
    unit = "Logic/Classical_Prop.v"
    verdict = verified_in(tmp_path / "fake", unit, text, "one_is_two", ["destruct classic"])
    assert not verdict.ok and "not allowed" in verdict.messages[0], verdict.messages


def verified_in(tmp_path: Path, unit: str, text: str, name: str, proof: list[str]) -> Verdict:
    """The benchmark's verdict on ``proof`` of lemma ``name`` of file ``unit`` whose source is ``text``."""
    sentences, (record, _) = traced(tmp_path, unit, text)
    lemmas, _ = file_lemmas(unit, sentences, record.proofs)
    backend = StdlibBackend(CoqBackendConfig(), sentences)
    try:
        theorem = opened(backend, lemmas, name)
        return backend.verify(theorem, proof)
    finally:
        backend.close()


def test_the_own_file_check_reads_a_file_that_opens_a_scope_without_0(tmp_path: Path) -> None:
    """``setoid_ring/BinList.v`` opens ``positive_scope`` (where ``0`` means nothing) and the preamble
    loads its compiled copy: the check's markers still compile, so the file's own proof counts and one
    through the compiled copy is rejected."""
    from prover.stdlib_bench.own_library import library_of, preamble_libraries

    unit = "setoid_ring/BinList.v"
    lemmas, backend = installed_file(tmp_path, unit)
    assert library_of(unit) in preamble_libraries(backend.pool.preamble, backend.config)
    try:
        theorem = opened(backend, lemmas, "jump_tl")
        own = backend.verify(theorem, ["intro j", "induction j; simpl; intros; now rewrite ?IHj"])
        assert own.ok, own.messages
        cheat = backend.verify(theorem, ["apply BinList.jump_tl"])
        assert not cheat.ok and "compiled copy of the lemma's own file" in cheat.messages[0], cheat
    finally:
        backend.close()
