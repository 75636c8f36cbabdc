"""Library premises: a theorem under a header names the lemmas the corpus proves (in the split's files
only), ranked against its goal; a theorem in a file keeps its file's lemmas."""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.retrieval import RetrievalConfig, RetrievalIndex
from prover.retrieval.library_premises import library_premises, library_premises_of
from prover.retrieval.mixture import MixturePolicy
from prover.retrieval.policy import corpus_units, library_policy, retrieval_policy
from prover.retrieval.premises import Premise, PremisePolicy
from prover.stdlib_bench.split import split_of
from prover.theorem_input import InputError
from prover.tracing.coq_files import STDLIB_SOURCE
from prover.tracing.dataset import Dataset, ProofRecord, UnitRecord
from prover.tracing.schema import StepRow

TRAIN, OTHER_TRAIN, TEST = "Dev/F0.v", "Dev/F2.v", "Dev/F1.v"


def goal(conclusion: str, hypotheses: str = "") -> str:
    return f"1 goal\n{hypotheses}  ============================\n  {conclusion}"


GOAL = goal("sqrt (x ^ 2 + y ^ 2) = 11", "  x, y : R\n  H : x + y = 13\n")


def corpus(tmp_path: Path) -> Path:
    """Three files: two train, one test; ``twice`` is proved in both train files (a functor's instances)."""
    assert (split_of(TRAIN), split_of(OTHER_TRAIN), split_of(TEST)) == ("train", "train", "test")
    proofs = {
        TRAIN: [("sqrt_pow2", goal("forall x : R, 0 <= x -> sqrt (x ^ 2) = x"), "intros"),
                ("twice", goal("n + n = 2 * n", "  n : nat\n"), "lia")],
        OTHER_TRAIN: [("twice", goal("m + m = 2 * m", "  m : nat\n"), "lia"),
                      ("Rplus_comm'", goal("forall r1 r2 : R, r1 + r2 = r2 + r1"), "intros")],
        TEST: [("sqrt_square", goal("forall x : R, 0 <= x -> sqrt (x * x) = x"), "intros")],
    }
    dataset = Dataset(tmp_path / "ds")
    for unit, theorems in proofs.items():
        rows = [StepRow(STDLIB_SOURCE, "coq", unit, name, 1, 1, step, state, tactic, "", False, "t")
                for name, state, tactic in theorems for step in (0, 1)]
        records = tuple(ProofRecord(name, 1, "traced", 2) for name, _, _ in theorems)
        dataset.add_unit(UnitRecord(STDLIB_SOURCE, unit, "t", None, len(rows), records), rows)
    return dataset.path


def test_a_theorem_is_one_premise_stated_as_its_first_goal_and_ambiguous_names_are_left_out() -> None:
    rows = [("A.v", "le_n_S", goal("forall n m : nat, n <= m -> S n <= S m")),
            ("A.v", "le_n_S", goal("S n <= S m", "  n, m : nat\n  H : n <= m\n")),  # a later step's state
            ("B.v", "add0", goal("n + 0 = n", "  n : nat\n")),
            ("C.v", "add0", goal("m + 0 = m", "  m : nat\n")),
            ("C.v", "M.bad name", goal("True"))]
    assert library_premises_of(rows) == (Premise("le_n_S", "forall n m : nat, n <= m -> S n <= S m"),)


def test_the_corpus_split_keeps_held_out_files_lemmas_out(tmp_path: Path) -> None:
    ds = str(corpus(tmp_path))
    train = frozenset(corpus_units(ds, "train") or ())
    assert [p.name for p in library_premises(ds, train)] == ["sqrt_pow2", "Rplus_comm'"]
    assert {p.name for p in library_premises(ds, None)} == {"sqrt_pow2", "Rplus_comm'", "sqrt_square"}
    assert library_premises(ds, train)[0].statement == "forall x : R, 0 <= x -> sqrt (x ^ 2) = x"
    assert [p.name for p in library_policy(ds, "train", 4).premises] == ["sqrt_pow2", "Rplus_comm'"]


def test_under_a_header_the_library_s_closest_lemmas_are_proposed(tmp_path: Path) -> None:
    ds = str(corpus(tmp_path))
    index = RetrievalIndex.from_pairs([(GOAL, "intros")])
    config = RetrievalConfig(corpus=ds, corpus_split="train", premise_weight=0.5, library_premises=1)
    policy = retrieval_policy(index, config, "coq")
    assert isinstance(policy, MixturePolicy)
    premise_part = policy.parts[-1][0]
    assert premise_part is library_policy(ds, "train", 1)  # built once per process
    assert [p.name for p, _ in premise_part.ranked(GOAL)] == ["sqrt_pow2"]
    tactics = [c.tactic for c in policy.propose([GOAL], 64)[0]]
    assert {"apply sqrt_pow2", "rewrite sqrt_pow2", "rewrite <- sqrt_pow2", "intros"} <= set(tactics)
    assert not any("sqrt_square" in t or "Rplus_comm'" in t for t in tactics)  # test file; beyond top 1

    # A theorem in a file (the stdlib benchmark) names its file's lemmas, not the library's.
    in_file = retrieval_policy(index, config, "coq", [Premise("own", "sqrt (x ^ 2 + y ^ 2) = 11")])
    file_tactics = [c.tactic for c in in_file.propose([GOAL], 64)[0]]
    assert "apply own" in file_tactics and not any("sqrt_pow2" in t for t in file_tactics)
    # Without the setting a header theorem gets the hint databases only.
    hints = retrieval_policy(index, RetrievalConfig(corpus=ds, premise_weight=0.5), "coq")
    assert isinstance(hints.parts[-1][0], PremisePolicy) and not hints.parts[-1][0].premises


def test_a_corpus_that_is_no_dataset_is_a_clear_error(tmp_path: Path) -> None:
    config = RetrievalConfig(corpus=str(tmp_path / "nothing"), premise_weight=0.5, library_premises=4)
    with pytest.raises(InputError, match=r"retrieval corpus .*nothing"):
        retrieval_policy(RetrievalIndex.from_pairs([(GOAL, "intros")]), config, "coq")


def test_library_premises_without_a_premise_share_is_a_clear_error() -> None:
    from search.validation import ConfigError

    with pytest.raises(ConfigError, match="premise_weight > 0"):
        RetrievalConfig(library_premises=8)
