"""Premise tactics: the lemmas stated before a theorem, ranked by their statements' similarity to the goal,
become ``apply``/``rewrite``/``auto using`` candidates; they mix into the retrieval policy at a share."""

from __future__ import annotations

import math

import pytest

from prover.retrieval import RetrievalConfig, RetrievalIndex
from prover.retrieval.mixture import MixturePolicy
from prover.retrieval.policy import retrieval_policy
from prover.retrieval.premises import Premise, PremisePolicy, statement_name
from prover.theorem_input import InputError

STATE = """1 goal
  l, m : list nat
  ============================
  rev' (rev' l ++ rev' m) = m ++ l"""

PREMISES = [
    Premise("len_pos", "Lemma len_pos : forall l : list nat, 0 <= length l."),
    Premise("rev'_app", "Lemma rev'_app : forall a b, rev' (a ++ b) = rev' b ++ rev' a."),
    Premise("M.odd_three", "Lemma odd_three : Nat.odd 3 = true."),
    Premise("rev'_le", "Lemma rev'_le (l : list nat) : length (rev' l) <= length l."),
]


def test_the_premises_closest_to_the_goal_come_first_with_their_tactics() -> None:
    policy = PremisePolicy(PREMISES, top=2)
    ranked = [(p.name, round(s, 3)) for p, s in policy.ranked(STATE)]
    assert [name for name, _ in ranked] == ["rev'_app", "rev'_le"]
    assert ranked[0][1] > ranked[1][1] > 0
    (candidates,) = policy.propose([STATE], 64)
    tactics = [c.tactic for c in candidates]
    assert tactics[0] == "apply rev'_app"
    assert {"rewrite rev'_app", "rewrite <- rev'_app", "now rewrite rev'_app", "apply rev'_le",
            "auto using rev'_app, rev'_le", "hauto use: rev'_app, rev'_le", "auto with *"} <= set(tactics)
    assert "rewrite rev'_le" not in tactics  # ``<=`` is no equation to rewrite with
    assert not any("odd_three" in t or "len_pos" in t for t in tactics)  # beyond ``top``
    assert math.isclose(sum(math.exp(c.logprob) for c in candidates), 1.0)
    assert policy.propose([STATE], 3) == [candidates[:3]]


def test_without_premises_only_the_hint_databases_are_proposed() -> None:
    (candidates,) = PremisePolicy().propose([STATE], 8)
    assert [c.tactic for c in candidates] == ["auto with *", "eauto with *"]


def test_statement_names_and_the_fingerprint_follows_the_premises() -> None:
    assert statement_name("  Lemma foo : True.") == "foo"
    assert statement_name("#[local] Theorem bar (n : nat) : n = n.") == "bar"
    assert statement_name("Definition foo := 1.") is None and statement_name("MyLemma x : T.") is None
    assert PremisePolicy(PREMISES).fingerprint == PremisePolicy(list(PREMISES)).fingerprint
    assert PremisePolicy(PREMISES).fingerprint != PremisePolicy(PREMISES[:3]).fingerprint
    assert PremisePolicy(PREMISES).fingerprint != PremisePolicy(PREMISES, top=2).fingerprint


def test_premises_mix_into_the_retrieval_policy_at_their_share() -> None:
    index = RetrievalIndex.from_pairs([(STATE, "simpl")])
    config = RetrievalConfig(tactic_list_weight=0.5, premise_weight=0.5)
    policy = retrieval_policy(index, config, "coq", PREMISES)
    assert isinstance(policy, MixturePolicy)
    assert [round(w, 3) for _, w in policy.parts] == [0.25, 0.25, 0.5]
    (candidates,) = policy.propose([STATE], 64)
    tactics = [c.tactic for c in candidates]
    assert "apply rev'_app" in tactics and "simpl" in tactics
    off = retrieval_policy(index, RetrievalConfig(tactic_list_weight=0.5), "coq", PREMISES)
    assert not any("rev'_app" in c.tactic for c in off.propose([STATE], 64)[0])
    with pytest.raises(InputError, match="Coq only"):
        retrieval_policy(index, config, "lean", PREMISES)
