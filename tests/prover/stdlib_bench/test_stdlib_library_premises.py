"""Library premises of the stdlib benchmark: the train files' lemmas, fully qualified, offered only where
their library is loaded, and a proof they make possible checked whole like any other."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from prover.retrieval import RetrievalConfig, RetrievalIndex
from prover.stdlib_bench.attempts import attempt_lemma, lemma_policy
from prover.stdlib_bench.backend import StdlibBackend
from prover.stdlib_bench.lemmas import file_lemmas
from prover.stdlib_bench.library import environment_libraries, train_library
from prover.stdlib_bench.runner import StdlibBenchConfig
from prover.stdlib_bench.split import split_of
from prover.tracing.coq_files import STDLIB_SOURCE
from prover.tracing.coq_source import split_source
from prover.tracing.coq_trace import trace_coq_file
from prover.tracing.coq_trace_job import CoqTraceConfig, TraceJob
from search.backends.coq import CoqBackendConfig

pytestmark = pytest.mark.skipif(shutil.which("coqtop") is None, reason="needs coqtop")

TARGET = """Require Import List ListSet.
Lemma target : forall (Aeq_dec : forall x y : nat, {x = y} + {x <> y}) (a : nat) (l : set nat),
  NoDup l -> NoDup (set_add Aeq_dec a l).
Proof. intros; apply set_add_nodup; assumption. Qed.
"""
TRIVIAL = RetrievalIndex.from_pairs([("1 goal\n  ============================\n  True", "exact I")])


def _theories() -> Path:
    where = subprocess.run(["coqc", "-where"], capture_output=True, text=True, check=True).stdout.strip()
    return Path(where) / "theories"


def _target(tmp_path: Path, text: str = TARGET):
    unit = "Dev/F1.v"
    assert split_of(unit) == "test"
    path = tmp_path / unit
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    record, _ = trace_coq_file(TraceJob(str(path), unit, STDLIB_SOURCE, "t"), CoqTraceConfig())
    sentences = split_source(text, unit)
    lemmas, _ = file_lemmas(unit, sentences, record.proofs)
    return sentences, next(lm for lm in lemmas if lm.name == "target")


def test_train_lemmas_are_named_by_their_library_and_modules(tmp_path: Path) -> None:
    root = tmp_path / "theories"
    (root / "Dev").mkdir(parents=True)
    (root / "Dev/F0.v").write_text(
        "Lemma top : True.\nProof. exact I. Qed.\nModule M.\n Lemma inner : 1 = 1.\n"
        " Proof. reflexivity. Qed.\nEnd M.\nModule Type T. Parameter x : nat. End T.\nModule F (X : T).\n"
        " Lemma hidden : X.x = X.x.\n"
        " Proof. reflexivity. Qed.\nEnd F.\nSection S.\n Variable n : nat.\n Lemma sec : n = n.\n"
        " Proof. reflexivity. Qed.\nEnd S.\n")
    (root / "Dev/Broken.v").write_text("Lemma open : True. (* never closed")
    library = train_library(root, ["Dev/F0.v", "Dev/Broken.v"])
    assert {lib: [p.name for p in ps] for lib, ps in library.lemmas.items()} == {
        "Coq.Dev.F0": ["Coq.Dev.F0.top", "Coq.Dev.F0.M.inner", "Coq.Dev.F0.sec"]}  # the functor's is not
    assert library.premises({"Coq.Other"}) == ()
    assert len(library.premises({"Coq.Dev.F0", "Coq.Other"})) == 3


def test_only_the_libraries_loaded_before_the_lemma_are_offered(tmp_path: Path) -> None:
    library = train_library(_theories(), ["Lists/ListSet.v", "Sorting/Sorted.v"])
    sentences, lemma = _target(tmp_path)
    backend = StdlibBackend(CoqBackendConfig(), sentences)
    try:
        loaded = environment_libraries(sentences, lemma, backend.pool.preamble, backend.config)
        assert "Coq.Lists.ListSet" in loaded and "Coq.Sorting.Sorted" not in loaded
        retrieval = RetrievalConfig(tactic_list_weight=0.7, premise_weight=0.4, library_premises=4)
        policy = lemma_policy(TRIVIAL, retrieval, sentences, lemma, library=library, backend=backend)
        state = ("1 goal\n  a : nat\n  l : set nat\n  ============================\n"
                 "  NoDup l -> NoDup (set_add Aeq_dec a l)")
        tactics = [c.tactic for c in policy.propose([state], 64)[0]]
        assert "apply Coq.Lists.ListSet.set_add_nodup" in tactics
        assert not any("Sorted" in t for t in tactics)
    finally:
        backend.close()


def test_a_library_premise_proves_what_the_search_alone_does_not_and_the_proof_is_checked_whole(
        tmp_path: Path) -> None:
    """``set_add_nodup`` (train file ``Lists/ListSet.v``) closes ``target`` in one step; at the same budget
    the search without library premises (tactic list, file premises, hint databases, ``sauto``) does not."""
    library = train_library(_theories(), ["Lists/ListSet.v"])
    sentences, lemma = _target(tmp_path)
    results = {}
    for count in (0, 4):
        retrieval = RetrievalConfig(tactic_list_weight=0.7, premise_weight=0.4, width=20,
                                    library_premises=count)
        config = StdlibBenchConfig(corpus="unused", root="unused", out="unused", budget=8.0,
                                   methods=("retrieval",), retrieval=retrieval)
        backend = StdlibBackend(CoqBackendConfig(), sentences)
        try:
            results[count] = attempt_lemma(backend, lemma, config, TRIVIAL, library)["retrieval"]
        finally:
            backend.close()
    assert not results[0]["proved"], results[0]
    assert results[4]["proved"], results[4]
    assert any("Coq.Lists.ListSet." in tactic for tactic in results[4]["tactics"])
