"""Library premises: a theorem under a header names the lemmas the corpus proves (in the split's files
only), fully qualified (library, modules, name), of the libraries its header loads, ranked against its
goal; a theorem in a file keeps its file's lemmas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

import prover.retrieval.library_premises as library_premises_module
from prover.retrieval import RetrievalConfig, RetrievalIndex
from prover.retrieval.library_premises import (
    LibraryPremisePolicy,
    TracedFile,
    library_premises,
    library_premises_of,
    logical_name,
    qualified_names,
)
from prover.retrieval.mixture import MixturePolicy
from prover.retrieval.policy import corpus_units, library_policy, retrieval_policy
from prover.retrieval.premises import Premise, PremisePolicy
from prover.stdlib_bench.split import split_of
from prover.theorem_input import InputError
from prover.tracing.coq_files import STDLIB_SOURCE
from prover.tracing.coq_source import split_source
from prover.tracing.dataset import Dataset, ProofRecord, UnitRecord
from prover.tracing.schema import StepRow
from search.types import Theorem

TRAIN, OTHER_TRAIN, TEST = "Dev/F0.v", "Dev/F2.v", "Dev/F1.v"
LIB = {TRAIN: "Coq.Dev.F0", OTHER_TRAIN: "Coq.Dev.F2", TEST: "Coq.Dev.F1"}


def goal(conclusion: str, hypotheses: str = "") -> str:
    return f"1 goal\n{hypotheses}  ============================\n  {conclusion}"


GOAL = goal("sqrt (x ^ 2 + y ^ 2) = 11", "  x, y : R\n  H : x + y = 13\n")
SOURCES = {
    TRAIN: "Lemma sqrt_pow2 : forall x : R, 0 <= x -> sqrt (x ^ 2) = x.\nProof. Admitted.\n"
           "Module M.\nLemma twice : forall n, n + n = 2 * n.\nProof. Admitted.\nEnd M.\n"
           "Module F (X : Nothing).\nLemma hidden : True.\nProof. Admitted.\nEnd F.\n",
    OTHER_TRAIN: "Lemma twice : forall m, m + m = 2 * m.\nProof. Admitted.\n"
                 "Lemma Rplus_comm' : forall r1 r2 : R, r1 + r2 = r2 + r1.\nProof. Admitted.\n",
    TEST: "Lemma sqrt_square : forall x : R, 0 <= x -> sqrt (x * x) = x.\nProof. Admitted.\n",
}


def corpus(tmp_path: Path) -> Path:
    """Three stdlib files (two train, one test), kept at their traced paths; ``twice`` is proved in both
    train files, in ``F0`` inside ``Module M``; ``hidden`` sits in a functor."""
    assert (split_of(TRAIN), split_of(OTHER_TRAIN), split_of(TEST)) == ("train", "train", "test")
    proofs = {
        TRAIN: [("sqrt_pow2", goal("forall x : R, 0 <= x -> sqrt (x ^ 2) = x"), "intros"),
                ("twice", goal("n + n = 2 * n", "  n : nat\n"), "lia"),
                ("hidden", goal("True"), "exact I")],
        OTHER_TRAIN: [("twice", goal("m + m = 2 * m", "  m : nat\n"), "lia"),
                      ("Rplus_comm'", goal("forall r1 r2 : R, r1 + r2 = r2 + r1"), "intros")],
        TEST: [("sqrt_square", goal("forall x : R, 0 <= x -> sqrt (x * x) = x"), "intros")],
    }
    dataset = Dataset(tmp_path / "ds")
    for unit, theorems in proofs.items():
        source = tmp_path / "theories" / unit
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(SOURCES[unit])
        rows = [StepRow(STDLIB_SOURCE, "coq", unit, name, 1, 1, step, state, tactic, "", False, "t")
                for name, state, tactic in theorems for step in (0, 1)]
        records = tuple(ProofRecord(name, 1, "traced", 2) for name, _, _ in theorems)
        dataset.add_unit(UnitRecord(STDLIB_SOURCE, unit, "t", None, len(rows), records, path=str(source)),
                         rows)
    return dataset.path


def loads(*libraries: str) -> Callable[..., frozenset[str]]:
    """A stand-in for ``header_libraries``: header ``H`` loads ``libraries``, any other none."""
    return lambda header, config=None: frozenset(libraries) if header == "H" else frozenset()


def test_a_lemma_is_named_by_its_library_and_modules_and_unnameable_ones_are_left_out() -> None:
    text = ("Lemma top : True.\nProof. Admitted.\nModule Nat.\nLemma EvenT_0 : True.\nProof. Admitted.\n"
            "Section S.\nVariable n : nat.\nLemma sec : n = n.\nProof. Admitted.\nEnd S.\nEnd Nat.\n"
            "Module Type T.\nLemma in_type : True.\nProof. Admitted.\nEnd T.\n"
            "Module F (X : T).\nLemma in_functor : True.\nProof. Admitted.\nEnd F.\n"
            "Module A.\nLemma twice : True.\nProof. Admitted.\nEnd A.\n"
            "Module B.\nLemma twice : True.\nProof. Admitted.\nEnd B.\n")
    assert qualified_names(split_source(text, "Arith/PeanoNat.v"), "Coq.Arith.PeanoNat") == {
        "top": "Coq.Arith.PeanoNat.top", "EvenT_0": "Coq.Arith.PeanoNat.Nat.EvenT_0",
        "sec": "Coq.Arith.PeanoNat.Nat.sec"}  # twice: stated in two modules, a trace cannot tell which


def test_a_development_s_file_is_named_by_its_load_path() -> None:
    root = Path("/dev/theories")
    assert logical_name(root / "Sub/Use.v", ("-R", str(root), "MyDev")) == "MyDev.Sub.Use"
    assert logical_name(root / "Sub/Use.v", ("-I", "/x", "-Q", str(root), "A", "-R", str(root / "Sub"),
                                             "B")) == "B.Use"  # the deepest folder
    assert logical_name(root / "Use.v", ("-R", str(root), "")) == "Use"
    assert logical_name(root / "Use.v", ("-I", str(root))) is None
    assert logical_name(root / "Use.v", ()) is None


def test_a_theorem_is_one_premise_stated_as_its_first_goal() -> None:
    a, b, c = ("s", "A.v"), ("s", "B.v"), ("t", "A.v")
    files = {a: TracedFile("L.A", {"le_n_S": "L.A.le_n_S"}), b: TracedFile("L.B", {"add0": "L.B.M.add0"}),
             c: TracedFile("L.A", {"le_n_S": "L.A.le_n_S"})}  # a second corpus's copy of one library
    rows = [(a, "le_n_S", goal("forall n m : nat, n <= m -> S n <= S m")),
            (a, "le_n_S", goal("S n <= S m", "  n, m : nat\n  H : n <= m\n")),  # a later step's state
            (b, "add0", goal("n + 0 = n", "  n : nat\n")),
            (b, "hidden", goal("True")),  # not nameable
            (("s", "C.v"), "other", goal("True"))]  # no file
    library = library_premises_of(rows, files)
    assert library.lemmas == {"L.A": (Premise("L.A.le_n_S", "forall n m : nat, n <= m -> S n <= S m"),),
                              "L.B": (Premise("L.B.M.add0", "nat n + 0 = n"),)}
    twice = library_premises_of([*rows, (c, "le_n_S", goal("True"))], files)
    assert "L.A" not in twice.lemmas  # ambiguous: two files give the name


def test_the_corpus_split_keeps_held_out_files_lemmas_out(tmp_path: Path) -> None:
    ds = str(corpus(tmp_path))
    train = frozenset(corpus_units(ds, "train") or ())
    library = library_premises(ds, train)
    assert library.lemmas.keys() == {LIB[TRAIN], LIB[OTHER_TRAIN]}
    assert [p.name for p in library.premises(library.lemmas)] == [
        "Coq.Dev.F0.sqrt_pow2", "Coq.Dev.F0.M.twice", "Coq.Dev.F2.twice", "Coq.Dev.F2.Rplus_comm'"]
    assert {p.name for p in library_premises(ds, None).premises([LIB[TEST]])} == {"Coq.Dev.F1.sqrt_square"}
    assert library.lemmas[LIB[TRAIN]][0].statement == "forall x : R, 0 <= x -> sqrt (x ^ 2) = x"
    assert [p.name for p in library_policy(ds, "train", 4).premises] == [
        p.name for p in library.premises(library.lemmas)]


def test_a_file_that_cannot_be_located_gives_no_premise(tmp_path: Path) -> None:
    ds = corpus(tmp_path)
    (tmp_path / "theories" / TRAIN).unlink()
    library = library_premises(str(ds), None, stdlib=tmp_path / "elsewhere")
    assert LIB[TRAIN] not in library.lemmas and LIB[OTHER_TRAIN] in library.lemmas


def test_under_a_header_the_loaded_libraries_closest_lemmas_are_proposed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_premises_module, "header_libraries", loads(LIB[TRAIN], "Coq.Init.Prelude"))
    ds = str(corpus(tmp_path))
    index = RetrievalIndex.from_pairs([(GOAL, "intros")])
    config = RetrievalConfig(corpus=ds, corpus_split="train", premise_weight=0.5, library_premises=1)
    policy = retrieval_policy(index, config, "coq")
    assert isinstance(policy, MixturePolicy)
    premise_part = policy.parts[-1][0]
    assert premise_part is library_policy(ds, "train", 1)  # built once per process
    assert isinstance(premise_part, LibraryPremisePolicy)

    specialised = policy.for_theorem(Theorem("t", "Theorem t : True.", "H"))
    library_part = specialised.parts[-1][0]
    assert isinstance(library_part, PremisePolicy)
    assert [p.name for p, _ in library_part.ranked(GOAL)] == ["Coq.Dev.F0.sqrt_pow2"]
    tactics = [c.tactic for c in specialised.propose([GOAL], 64)[0]]
    assert {"apply Coq.Dev.F0.sqrt_pow2", "rewrite Coq.Dev.F0.sqrt_pow2", "intros"} <= set(tactics)
    assert not any("sqrt_square" in t or "Rplus_comm'" in t for t in tactics)  # test file; not loaded

    # A header that loads none of the libraries, and the policy before it knows the header: hints only.
    for unloaded in (policy.for_theorem(Theorem("t", "Theorem t : True.", "Other")), policy):
        premise_tactics = [c.tactic for c in unloaded.parts[-1][0].propose([GOAL], 64)[0]]
        assert premise_tactics and all(" with *" in t for t in premise_tactics)

    # A theorem in a file (the stdlib benchmark) names its file's lemmas, not the library's.
    in_file = retrieval_policy(index, config, "coq", [Premise("own", "sqrt (x ^ 2 + y ^ 2) = 11")])
    file_tactics = [c.tactic for c in in_file.propose([GOAL], 64)[0]]
    assert "apply own" in file_tactics and not any("sqrt_pow2" in t for t in file_tactics)
    # Without the setting a header theorem gets the hint databases only.
    hints = retrieval_policy(index, RetrievalConfig(corpus=ds, premise_weight=0.5), "coq")
    assert isinstance(hints.parts[-1][0], PremisePolicy) and not hints.parts[-1][0].premises


def test_a_given_library_policy_is_used_without_reading_the_corpus(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import prover.tracing.dataset as dataset_module

    ds = str(corpus(tmp_path))
    config = RetrievalConfig(corpus=ds, corpus_split="train", premise_weight=0.5, library_premises=2)
    built = library_policy(ds, "train", 2)
    library_policy.cache_clear()

    def no_corpus(path: object) -> NoReturn:
        raise AssertionError(f"the corpus {path} was opened")

    monkeypatch.setattr(dataset_module, "open_dataset", no_corpus)
    policy = retrieval_policy(RetrievalIndex.from_pairs([(GOAL, "intros")]), config, "coq", library=built)
    assert policy.parts[-1][0] is built


def test_a_corpus_that_is_no_dataset_is_a_clear_error(tmp_path: Path) -> None:
    config = RetrievalConfig(corpus=str(tmp_path / "nothing"), premise_weight=0.5, library_premises=4)
    with pytest.raises(InputError, match=r"retrieval corpus .*nothing"):
        retrieval_policy(RetrievalIndex.from_pairs([(GOAL, "intros")]), config, "coq")


def test_library_premises_without_a_premise_share_is_a_clear_error() -> None:
    from search.validation import ConfigError

    with pytest.raises(ConfigError, match="premise_weight > 0"):
        RetrievalConfig(library_premises=8)
