"""Mapping a retrieved tactic's locals leaves alone what the tactic binds itself: named arguments, names
it introduces or binds in terms (and their bound occurrences), components after a dot; a mapping that a
binder of the tactic would capture is refused."""

from __future__ import annotations

import pytest

from prover.retrieval import map_tactic, parse_goal
from prover.retrieval.tactic_binders import name_occurrences

# the audit's contexts: ``n m H`` recorded, ``a b Hab`` now
SOURCE = parse_goal("1 goal\n  n, m : nat\n  H : n <= m\n  ============================\n  n <= S m")
TARGET = parse_goal("1 goal\n  a, b : nat\n  Hab : a <= b\n  ============================\n  a <= S b")
LEAN_SOURCE = parse_goal("x y : ℝ\nh : x = y\n⊢ y = x")
LEAN_TARGET = parse_goal("a b : ℝ\nhab : a = b\n⊢ b = a")


@pytest.mark.parametrize(("tactic", "mapped"), [
    # a named argument's name is the lemma's binder; its value is a reference
    ("apply le_trans with (m := m)", "apply le_trans with (m := b)"),
    ("specialize (H (n := 0))", "specialize (Hab (n := 0))"),
    ("apply Nat.le_trans with (b := m); exact H", "apply Nat.le_trans with (b := b); exact Hab"),
    # bound names and what they bind stay, the free locals beside them are mapped
    ("assert (forall n, n + m = m + n)", "assert (forall n, n + b = b + n)"),
    ("assert (H0 : exists k, k + n = m)", "assert (H0 : exists k, k + a = b)"),
    ("exact (fun (n : nat) (H0 : n <= m) => H0)", "exact (fun (n : nat) (H0 : n <= b) => H0)"),
    ("induction n as [|n IHn]; simpl; rewrite IHn", "induction a as [|n IHn]; simpl; rewrite IHn"),
    ("destruct H as [k Hk]; rewrite Hk", "destruct Hab as [k Hk]; rewrite Hk"),
    ("destruct (le_lt_dec n m) as [Hle|Hlt] eqn:E", "destruct (le_lt_dec a b) as [Hle|Hlt] eqn:E"),
    ("set (k := n + m) in H", "set (k := a + b) in Hab"),
    ("remember (n + m) as k eqn:Hk", "remember (a + b) as k eqn:Hk"),
    ("revert m H; induction n; intros m H; simpl", "revert b Hab; induction a; intros m H; simpl"),
    ("exists n; exact H", "exists a; exact Hab"),  # the tactic ``exists``: a witness, no binder
    ('idtac "n"; exact H', 'idtac "n"; exact Hab'),  # strings are no names
    ("rewrite ?H; apply (Nat.le_trans n m)", "rewrite ?Hab; apply (Nat.le_trans a b)"),
    # names the source has nowhere: nothing to capture
    ("intros k; apply H", "intros k; apply Hab"),
])
def test_only_free_locals_are_mapped(tactic: str, mapped: str) -> None:
    assert map_tactic(tactic, SOURCE, TARGET) == mapped


@pytest.mark.parametrize("tactic", [
    "assert (forall a, a + n = n + a)",  # would read forall a, a + a = a + a
    "exact (fun b => H m)",
    "intros a; rewrite (Nat.add_comm n a)",  # ``n`` is mapped onto ``a``, which the tactic introduces
    "destruct m as [|b]; rewrite H",
    "set (a := n + 1)",
    "remember m as b eqn:E",
    "assert (H0 : exists b, b = m)",
    "apply le_trans with (m := a); exact (H : n <= m)",  # a global or other ``a`` beside the mapped one
])
def test_a_mapping_that_a_binder_of_the_tactic_would_capture_is_refused(tactic: str) -> None:
    assert map_tactic(tactic, SOURCE, TARGET) is None


@pytest.mark.parametrize(("tactic", "mapped"), [
    ("exact h.symm", "exact hab.symm"),  # a projection of a local: its first component is the local
    ("exact h", "exact hab"),
    ("simpa using h.2.1", "simpa using hab.2.1"),
    ("rw [h, Nat.succ_eq_add_one, foo.h]", "rw [hab, Nat.succ_eq_add_one, foo.h]"),  # after a dot: no local
    ("exact .inl h", "exact .inl hab"),
    ("exact fun z => h ▸ rfl", "exact fun z => hab ▸ rfl"),
    ("intro z\n  exact h.trans z", "intro z\n  exact hab.trans z"),
    ("obtain ⟨k, h⟩ := h\n  exact h", "obtain ⟨k, h⟩ := hab\n  exact h"),  # the new h shadows the old
    ("have h2 : ∀ y, y + x = x + y := fun y => add_comm y x",
     "have h2 : ∀ y, y + a = a + y := fun y => add_comm y a"),
    ("rcases h with ⟨k, hk⟩ | hk", "rcases hab with ⟨k, hk⟩ | hk"),
    ("apply foo (x := x)", "apply foo (x := a)"),
])
def test_lean_projections_and_binders(tactic: str, mapped: str) -> None:
    assert map_tactic(tactic, LEAN_SOURCE, LEAN_TARGET) == mapped


@pytest.mark.parametrize("tactic", [
    "show ∀ a, |a| ≤ x",
    "intro a\n  exact h.trans (le_refl x)",
    "obtain ⟨a, ha⟩ : ∃ z, z = x := ⟨x, rfl⟩",
    "rcases foo y h with ⟨b, hb⟩",
    "exact fun a => h.trans (le_refl x)",
])
def test_lean_binders_capture_too(tactic: str) -> None:
    assert map_tactic(tactic, LEAN_SOURCE, LEAN_TARGET) is None


def test_roles_of_names() -> None:
    tactic = "assert (forall a, a + n = n + a); intros k; apply (H k)"
    roles = [(o.name, o.role) for o in name_occurrences(tactic)]
    assert roles == [("assert", "free"), ("forall", "free"), ("a", "binder"), ("a", "bound"), ("n", "free"),
                     ("n", "free"), ("a", "bound"), ("intros", "free"), ("k", "binder"), ("apply", "free"),
                     ("H", "free"), ("k", "bound")]
    # a binder reaches to the end of its group; an introduced name to the end of its branch
    roles = [(o.name, o.role) for o in name_occurrences("[intros k; apply k | apply k]; (fun k => k) k")]
    assert [r for n, r in roles if n == "k"] == ["binder", "bound", "free", "binder", "bound", "free"]
    assert [o.name for o in name_occurrences("apply f with (x := x); exact Nat.succ")] == \
        ["apply", "f", "with", "x", "exact", "Nat"]  # the named argument's ``x`` is no name of a local
