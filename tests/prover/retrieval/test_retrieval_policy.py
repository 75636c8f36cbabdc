"""The retrieval policy: parsing states, mapping names, nearest states by TF-IDF, scores as log-probs,
mixtures with the tactic list."""

from __future__ import annotations

import math

import pytest

from prover.retrieval import (
    MixturePolicy,
    RetrievalConfig,
    RetrievalIndex,
    RetrievalPolicy,
    map_tactic,
    parse_goal,
)
from search import FixedTacticPolicy

COQ_STATE = """1 goal
  A : Type
  l : list A
  IHl : rev (rev l) = l
  a : A
  ============================
  rev (rev l ++ a :: nil) = a :: l"""

COQ_TARGET = """1 goal
  B : Type
  x : B
  xs : list B
  IHxs : rev (rev xs) = xs
  ============================
  rev (rev xs ++ x :: nil) = x :: xs"""

LEAN_STATE = "case succ\nk : ℕ\nih : k + 0 = k\n⊢ k + 1 + 0 = k + 1"


def test_goals_of_both_assistants_are_read() -> None:
    coq = parse_goal(COQ_STATE)
    assert coq.names == ("A", "l", "IHl", "a") and coq.conclusion == "rev (rev l ++ a :: nil) = a :: l"
    lean = parse_goal(LEAN_STATE)
    assert lean.hypotheses == (("k", "ℕ"), ("ih", "k + 0 = k")) and lean.conclusion == "k + 1 + 0 = k + 1"
    assert parse_goal("x y : ℕ\n⊢ x = y").names == ("x", "y")


def test_local_names_of_a_retrieved_tactic_are_mapped_onto_the_current_state() -> None:
    source, target = parse_goal(COQ_STATE), parse_goal(COQ_TARGET)
    assert map_tactic("rewrite IHl", source, target) == "rewrite IHxs"
    assert map_tactic("simpl; rewrite <- IHl; destruct l as [|b l]", source, target) == \
        "simpl; rewrite <- IHxs; destruct xs as [|b l]"  # the name the pattern introduces stays
    assert map_tactic("apply app_nil_r", source, target) == "apply app_nil_r"  # a global stays
    assert map_tactic("induction a", source, parse_goal("1 goal\n  ============================\n  True")) \
        is None  # nothing to map a local onto: dropped
    lean = parse_goal(LEAN_STATE)
    assert map_tactic("rw [ih]", lean, parse_goal("m : ℕ\nhm : m + 0 = m\n⊢ m + 1 + 0 = m + 1")) == "rw [hm]"


def test_local_definitions_are_locals_too() -> None:
    """``a' := S a : nat`` is a local of the state: read with its type (a value wrapped onto the next
    line stays its own), and renamed like any hypothesis."""
    source = parse_goal("1 goal\n  a, b : nat\n  a' := S a : nat\n  H : b mod a' = 0\n"
                        "  ============================\n  a' <= b")
    target = parse_goal("1 goal\n  n, m : nat\n  k := S n : nat\n  Hk : m mod k = 0\n"
                        "  ============================\n  k <= m")
    assert source.hypotheses == (("a", "nat"), ("b", "nat"), ("a'", "nat"), ("H", "b mod a' = 0"))
    assert map_tactic("rewrite (Nat.div_mod b a') in H", source, target) == "rewrite (Nat.div_mod m k) in Hk"
    wrapped = parse_goal("1 goal\n  x : nat\n  y := aaaa +\n       cccc : nat\n"
                         "  f := fun n : nat => n : nat -> nat\n  ============================\n  y = y")
    assert wrapped.hypotheses == (("x", "nat"), ("y", "nat"), ("f", "nat -> nat"))


def index() -> RetrievalIndex:
    pairs = [(COQ_STATE, "rewrite IHl"), (COQ_STATE, "rewrite IHl"), (COQ_STATE, "simpl"),
             ("1 goal\n  n : nat\n  ============================\n  n + 0 = n", "lia"),
             ("1 goal\n  ============================\n  True", "exact I"),
             ("1 goal\n  ============================\n  True", "admit")]
    return RetrievalIndex.from_pairs(pairs, keep=lambda t: t != "admit")


def test_identical_states_are_one_entry_and_the_nearest_state_comes_first() -> None:
    built = index()
    assert len(built) == 3
    entry = next(e for e in built.entries if e.state == COQ_STATE)
    assert entry.tactics == (("rewrite IHl", 2), ("simpl", 1))
    (found,) = built.query([COQ_TARGET], 1)
    assert found[0].entry.state == COQ_STATE and 0.3 < found[0].similarity <= 1.0
    (same,) = built.query([COQ_STATE], 3)
    assert same[0].similarity == pytest.approx(1.0, abs=1e-5)
    similarities = [n.similarity for n in same]
    assert similarities == sorted(similarities, reverse=True) and all(x > 0 for x in similarities)
    assert "True" not in [n.entry.state.split()[-1] for n in same]  # shares no feature: left out


def test_candidates_are_mapped_ranked_and_scored_as_log_probabilities() -> None:
    policy = RetrievalPolicy(index(), RetrievalConfig(neighbours=3, min_similarity=0.0))
    (candidates,) = policy.propose([COQ_TARGET], 10)
    tactics = [c.tactic for c in candidates]
    assert tactics[:2] == ["rewrite IHxs", "simpl"]  # two recordings against one, names mapped
    assert "admit" not in tactics
    assert all(c.logprob <= 0 for c in candidates)
    assert [c.logprob for c in candidates] == sorted((c.logprob for c in candidates), reverse=True)
    assert sum(math.exp(c.logprob) for c in candidates) == pytest.approx(1.0)
    assert policy.propose([COQ_TARGET, COQ_STATE], 1)[1][0].tactic == "rewrite IHl"
    assert policy.propose([], 3) == []


def test_a_mixture_adds_the_parts_probabilities() -> None:
    retrieval = RetrievalPolicy(index(), RetrievalConfig(neighbours=3, min_similarity=0.0))
    fixed = FixedTacticPolicy(("simpl", "lia"))
    (mixed,) = MixturePolicy([(retrieval, 0.5), (fixed, 0.5)]).propose([COQ_TARGET], 10)
    (alone,) = retrieval.propose([COQ_TARGET], 10)
    (listed,) = fixed.propose([COQ_TARGET], 10)
    p = {c.tactic: math.exp(c.logprob) for c in alone}
    q = {c.tactic: math.exp(c.logprob) for c in listed}
    expected = {t: 0.5 * p.get(t, 0) + 0.5 * q.get(t, 0) for t in {*p, *q}}
    assert {c.tactic: math.exp(c.logprob) for c in mixed} == pytest.approx(expected)
    assert mixed[0].tactic == "simpl"  # proposed by both parts
    with pytest.raises(ValueError, match="weight"):
        MixturePolicy([(fixed, 0.0)])


def test_a_mixture_specialises_its_parts_to_the_theorem() -> None:
    class Specialisable(FixedTacticPolicy):
        def for_theorem(self, theorem: object) -> FixedTacticPolicy:
            return FixedTacticPolicy((f"unfold {theorem}",))

    mixture = MixturePolicy([(Specialisable(("simpl",)), 1.0), (FixedTacticPolicy(("lia",)), 1.0)], width=3)
    special = mixture.for_theorem("double")
    assert [c.tactic for c in special.propose(["x"], 5)[0]] == ["unfold double", "lia"]
    assert special.width == 3 and [c.tactic for c in mixture.propose(["x"], 5)[0]] == ["simpl", "lia"]


def test_bad_settings_and_empty_corpora_are_refused() -> None:
    with pytest.raises(ValueError, match="neighbours"):
        RetrievalConfig(neighbours=0)
    with pytest.raises(ValueError, match="tactic_list_weight"):
        RetrievalConfig(tactic_list_weight=1.5)
    with pytest.raises(ValueError, match="no traced steps"):
        RetrievalIndex.from_pairs([("1 goal\n  ============================\n  True", "admit")],
                                  keep=lambda t: t != "admit")
