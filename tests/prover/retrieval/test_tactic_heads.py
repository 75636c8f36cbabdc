"""Heads of compound tactics (Tactician's decomposition): ``t1`` of ``t1; t2`` is proposed beside the whole
tactic, at a share of its weight, with the locals mapped like the whole."""

from __future__ import annotations

import math

import pytest

from prover.retrieval import RetrievalConfig, RetrievalIndex, RetrievalPolicy
from prover.retrieval.tactic_heads import tactic_head

SOURCE = """1 goal
  n : nat
  IHn : n + 0 = n
  ============================
  S n + 0 = S n"""

TARGET = """1 goal
  m : nat
  IHm : m + 0 = m
  ============================
  S m + 0 = S m"""


@pytest.mark.parametrize(("tactic", "head"), [
    ("induction n; simpl; auto", "induction n"),
    ("destruct H as [x [y z]]; subst; auto", "destruct H as [x [y z]]"),
    ("intros; [apply H; auto | lia]", "intros"),
    ("(simpl; auto); lia", "(simpl; auto)"),
    ('idtac "a;b"; auto', 'idtac "a;b"'),
    ("simpl", None),
    ("first [simpl; auto | lia]", None),
    ("; auto", None),
    ("(simpl; auto", None),  # unbalanced: left alone
    ("simpl]; auto", None),
    # ``match ... end`` is a bracket; a comment is no code
    ("match goal with H : _ |- _ => destruct H; auto end; lia",
     "match goal with H : _ |- _ => destruct H; auto end"),
    ("lazymatch goal with _ => idtac; idtac end; auto", "lazymatch goal with _ => idtac; idtac end"),
    ("destruct x; (* a; b *) auto", "destruct x"),
    ("match goal with _ => idtac", None),
    ("end; auto", None),
    # ``now t1; t2`` is ``now (t1; t2)`` (so are intuition, dintuition, firstorder with a tactic): no head
    ("now split; auto", None),
    ("try now split; auto", None),
    ("assert (H : P) by now intro x; induction x", None),
    ("intuition auto; lia", None),
    ("firstorder auto; lia", None),
    ("intuition; lia", "intuition"),
    ("split; now auto; lia", "split"),
    ("(now auto; lia); simpl", "(now auto; lia)"),
    # ``try``, ``repeat``, ``do``, ``by`` take one tactic: ``try t1; t2`` is ``(try t1); t2``
    ("try split; auto", "try split"),
    ("repeat split; auto", "repeat split"),
    ("assert (H : P) by auto; lia", "assert (H : P) by auto"),
    ("constructor <;> simp", None),  # Lean's ``<;>`` is no ``;``
])
def test_the_head_is_the_text_before_the_first_top_level_semicolon(tactic: str, head: str | None) -> None:
    assert tactic_head(tactic) == head


def test_heads_are_proposed_at_their_share_and_mapped_onto_the_state() -> None:
    index = RetrievalIndex.from_pairs([(SOURCE, "rewrite IHn; reflexivity")])
    whole_only = RetrievalPolicy(index, RetrievalConfig(neighbours=1, min_similarity=0.0))
    assert [c.tactic for c in whole_only.propose([TARGET], 5)[0]] == ["rewrite IHm; reflexivity"]
    heads = RetrievalPolicy(index, RetrievalConfig(neighbours=1, min_similarity=0.0, head_weight=0.5))
    candidates = heads.propose([TARGET], 5)[0]
    assert [c.tactic for c in candidates] == ["rewrite IHm; reflexivity", "rewrite IHm"]
    assert [math.exp(c.logprob) for c in candidates] == pytest.approx([2 / 3, 1 / 3])
    assert heads.fingerprint != whole_only.fingerprint  # the setting names what the cache reuses
