"""The Coq tactic-list policy: fixed and state-dependent candidates, read from the state text alone."""

from __future__ import annotations

import math

import pytest

from search.backends.coq import DEFAULT_COQ_TACTICS, CoqTacticPolicy
from search.backends.coq.clock import without_clock
from search.backends.coq.goal_view import first_goal, is_equation, is_quantified, top_level
from search.protocols import Policy

LIST_STEP = """2 goals
  A : Type
  a : A
  l1, l2 : list A
  IHl1 : length (l1 ++ l2) =
         length l1 + length l2
  ============================
  length ((a :: l1) ++ l2) = length (a :: l1) + length l2

goal 2 is:
  A : Type
  ============================
  True"""

LOGIC = """1 goal
  P, Q : Prop
  R : nat -> Prop
  HP : P /\\ Q
  HR : forall x : nat, R x
  ============================
  Q \\/ P"""


def test_goal_view_reads_hypotheses_and_conclusion() -> None:
    view = first_goal(LIST_STEP)
    assert view is not None
    assert view.hypotheses == (
        ("A", "Type"), ("a", "A"), ("l1", "list A"), ("l2", "list A"),
        ("IHl1", "length (l1 ++ l2) = length l1 + length l2"),
    )
    assert view.conclusion == "length ((a :: l1) ++ l2) = length (a :: l1) + length l2"
    assert first_goal("No more goals.") is None


def test_shape_predicates() -> None:
    assert is_quantified("forall n : nat, n = n") and is_quantified("P -> Q") and is_quantified("~ P")
    assert not is_quantified("(P -> Q) /\\ R")
    assert is_equation("forall n, n + 0 = n") and is_equation("x < 3 -> f x = 0")
    assert not is_equation("f (x = y)")
    assert top_level("A /\\ (B \\/ C)", "/\\") and not top_level("A /\\ (B \\/ C)", "\\/")


def test_candidates_are_sorted_scored_and_deterministic() -> None:
    policy = CoqTacticPolicy()
    assert isinstance(policy, Policy)
    first = policy.candidates(LIST_STEP)
    assert first == policy.candidates(LIST_STEP)
    scores = [c.logprob for c in first]
    assert scores == sorted(scores, reverse=True) and all(s <= 0 for s in scores)
    assert math.isclose(sum(math.exp(s) for s in scores), 1.0)
    assert len({c.tactic for c in first}) == len(first)


def test_state_dependent_candidates_for_an_induction_step() -> None:
    tactics = [without_clock(c.tactic) for c in CoqTacticPolicy().candidates(LIST_STEP)]
    assert {"rewrite IHl1", "rewrite <- IHl1", "induction l1", "destruct l2", "simpl"} <= set(tactics)
    assert "induction A" not in tactics and "induction a" not in tactics  # a type and its value
    assert tactics.index("simpl") < tactics.index("induction l1")  # inside a step: unfold first
    assert tactics.index("rewrite IHl1") < tactics.index("rewrite <- IHl1")


def test_state_dependent_candidates_for_logic() -> None:
    tactics = [without_clock(c.tactic) for c in CoqTacticPolicy().candidates(LOGIC)]
    assert {"destruct HP", "apply HR", "left", "right", "firstorder"} <= set(tactics)
    assert "apply P" not in tactics and "induction HP" not in tactics


def test_induction_prefers_the_variable_that_occurs_first() -> None:
    pp = "1 goal\n  n, m : nat\n  ============================\n  add m n = n + m"
    tactics = [without_clock(c.tactic) for c in CoqTacticPolicy().candidates(pp)]
    assert tactics.index("induction m") < tactics.index("induction n")


def test_quantified_goal_puts_intros_first() -> None:
    pp = "1 goal\n  ============================\n  forall n : nat, n + 0 = n"
    assert CoqTacticPolicy().propose([pp], 1) == [[CoqTacticPolicy().candidates(pp)[0]]]
    assert CoqTacticPolicy().candidates(pp)[0].tactic == "intros"


def test_propose_is_batched_and_truncated() -> None:
    out = CoqTacticPolicy().propose([LIST_STEP, LOGIC, "garbage"], 3)
    assert [len(c) for c in out] == [3, 3, 3]
    fixed = [t for t, _ in sorted(DEFAULT_COQ_TACTICS, key=lambda tw: -tw[1])]
    assert [c.tactic for c in out[2]] == fixed[:3]


@pytest.mark.parametrize("kwargs", [{"fixed": ()}, {"fixed": (("lia", 1.0), ("lia", 2.0))},
                                    {"fixed": (("lia", 0.0),)}, {"max_names": -1}])
def test_policy_is_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CoqTacticPolicy(**kwargs)  # type: ignore[arg-type]


def test_the_fingerprint_names_the_settings_the_header_and_the_rules() -> None:
    """A proof cache reuses the policy's failures only under an equal fingerprint: equal settings and the
    same header definitions (``for_theorem``) give one; any setting that changes a proposal, another
    header's definitions, or another version of the candidate rules gives another."""
    from search import Theorem
    from search.backends.coq.policy import CANDIDATE_MODULES
    from search.policy_identity import code_digest

    base = CoqTacticPolicy()
    assert base.fingerprint == CoqTacticPolicy().fingerprint == CoqTacticPolicy(width=5).fingerprint
    for change in ({"fixed": (("lia", 1.0),)}, {"max_names": 2}, {"imports": ()}, {"slow_limit": None},
                   {"definitions": ("double",)}):
        assert CoqTacticPolicy(**change).fingerprint != base.fingerprint, change  # type: ignore[arg-type]
    header = "Definition double (n : nat) := n + n."
    one = base.for_theorem(Theorem("t", "Theorem t : double 1 = 2.", header))
    two = base.for_theorem(Theorem("u", "Theorem u : double 2 = 4.", header))
    other = base.for_theorem(Theorem("v", "Theorem v : True.", "Definition half (n : nat) := n."))
    assert one.fingerprint == two.fingerprint != base.fingerprint and other.fingerprint != one.fingerprint
    digest = code_digest(*CANDIDATE_MODULES)
    assert len(digest) == 16 and digest == code_digest(*CANDIDATE_MODULES)
    assert digest != code_digest(*CANDIDATE_MODULES[:-1])  # every rules module counts
    with pytest.raises(ValueError, match="no source file"):
        code_digest("no.such.module_here")
