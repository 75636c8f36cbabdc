"""The Coq tactic policy on competition mathematics: candidates read off real, integer and natural goals
(text only), and the same candidates run in real Coq with the libraries the policy declares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from search.backends.coq import CoqBackend, CoqBackendConfig, CoqTacticPolicy
from search.backends.coq.clock import without_clock
from search.backends.coq.policy import COQ_POLICY_IMPORTS, header_definitions
from search.types import ProofFinished, TacticState, Theorem

REAL = """1 goal
  x, y : R
  h0 : 0 < x
  h1 : x + y = 7
  ============================
  x * y <= (x + y) ^ 2 / 4"""

INTEGER = """1 goal
  x, z : Z
  h0 : (x * 3) mod 31 = 1
  h1 : 0 <= x < 31
  h2 : z = 2 * x
  ============================
  x = 21"""

NATURAL = """1 goal
  n : nat
  f : nat -> nat
  h0 : n < 4 /\\ f 1 = 2
  h1 : exists k : nat, n = 2 * k
  ============================
  f n mod 2 = 0"""


def tactics(pp: str, policy: CoqTacticPolicy | None = None) -> list[str]:
    """The candidates' tactics, without the limits the policy gives slow ones."""
    return [without_clock(c.tactic) for c in (policy or CoqTacticPolicy()).candidates(pp)]


def proposed(pp: str, tactic: str) -> str:
    """The candidate for ``tactic`` exactly as the policy proposes it (with its limit, if any)."""
    return next(c.tactic for c in CoqTacticPolicy().candidates(pp) if without_clock(c.tactic) == tactic)


def test_real_goals_get_the_real_decision_procedures_and_nra_hints() -> None:
    found = tactics(REAL)
    assert {"lra", "nra", "field", "psatz R 2", "sauto"} <= set(found)
    assert "pose proof (pow2_ge_0 (x - y)); nra" in found
    assert "lia" in found  # the fixed list still offers it (first among equals is the domain's own)
    assert found.index("lra") < found.index("psatz R 2")
    assert not any(t.startswith("assert (Hcase") for t in found)  # R has no small ranges


def test_slow_tactics_get_their_own_limit_and_proofs_hold_them_without_it() -> None:
    found = [c.tactic for c in CoqTacticPolicy().candidates(REAL)]
    assert {"timeout 3 sauto", "timeout 3 nra", "timeout 3 (pose proof (pow2_ge_0 (x - y)); nra)",
            "lra", "field"} <= set(found)
    assert "sauto" in [c.tactic for c in CoqTacticPolicy(slow_limit=None).candidates(REAL)]
    theorem = Theorem("r", "Theorem r : forall x y : R, x * y <= (x ^ 2 + y ^ 2) / 2.", "Require Reals.")
    text = CoqBackend().render_proof(theorem, ["intros", "timeout 3 (pose proof (pow2_ge_0 (x - y)); nra)",
                                               "timeout 3 (lra); (lra)"])
    assert "\n  pose proof (pow2_ge_0 (x - y)); nra.\n" in text and "\n  (lra); (lra).\n" in text
    assert "timeout" not in text
    with pytest.raises(ValueError):
        CoqTacticPolicy(slow_limit=0)


def test_integer_goals_get_lia_division_equations_ranges_and_subst() -> None:
    found = tactics(INTEGER)
    assert {"lia", "nia", "Z.div_mod_to_equations; nia", "subst z"} <= set(found)
    split = next(t for t in found if t.startswith("assert (Hcase"))
    assert split.startswith("assert (Hcase : x = (0)%Z \\/ x = (1)%Z \\/ ")
    assert "x = (30)%Z) by lia" in split and "x = (31)%Z" not in split
    assert "lra" not in found


def test_natural_goals_get_ranges_destructs_and_rewrites() -> None:
    found = tactics(NATURAL)
    assert any(t.startswith("repeat match goal with | H : _ /\\ _ |- _ => destruct H") for t in found)
    split = next(t for t in found if t.startswith("assert (Hcase"))
    assert "n = (0)%nat \\/ n = (1)%nat \\/ n = (2)%nat \\/ n = (3)%nat) by lia" in split  # any scope
    assert "zify; Z.div_mod_to_equations; nia" in found


def test_candidates_are_built_only_from_what_the_state_can_name() -> None:
    """The fourth audit's: every candidate below failed at once in Coq."""
    bound = ("1 goal\n  a, b : R\n  f : R -> R\n  H0 : forall x : R, f x = sqrt (a * x ^ 2 + b * x)\n"
             "  H1 : 0 < a\n  ============================\n  sqrt (a + b) >= 0")
    found = tactics(bound)
    assert not any("sqrt_sqrt (a * x" in t or "sqrt_pos (a * x" in t for t in found)  # x is bound
    assert any("sqrt_pos (a + b)" in t for t in found)
    nat_sqrt = "1 goal\n  n : nat\n  ============================\n  Nat.sqrt n <= n"
    assert not any("sqrt_sqrt" in t or "sqrt_pos" in t for t in tactics(nat_sqrt))
    quantified = "1 goal\n  ============================\n  forall n : Z, n * n >= 0 -> n + 1 > n"
    found = tactics(quantified)
    assert "psatz R 2" not in found and "lra" not in found and "psatz Z 2" in found  # the binder's Z
    listed = "1 goal\n  l : list nat\n  ============================\n  list_sum l = 111"
    assert "psatz R 2" not in tactics(listed) and "psatz Z 2" not in tactics(listed)
    shapes = ("1 goal\n  x, y, m, n : nat\n  H : x = 1 /\\ y = 2\n  H2 : exists k : nat, n = 2 * k\n"
              "  H3 : forall k, k <= n <-> k < m /\\ k > 0\n  H4 : m <> n\n"
              "  ============================\n  x + y = 3")
    found = tactics(shapes)
    for bad in ("subst x", "rewrite H", "rewrite <- H", "rewrite H in *", "rewrite H2", "rewrite H2 in *",
                "destruct H3", "field_simplify in H", "pose proof (Rminus_eq_contra _ _ H4)"):
        assert bad not in found, bad
    assert "destruct H" in found and "destruct H2" in found
    real_neq = "1 goal\n  a, b : R\n  H : a <> b\n  ============================\n  (a - b) / (a - b) = 1"
    assert "pose proof (Rminus_eq_contra _ _ H)" in tactics(real_neq)


def test_hypotheses_named_in_other_scripts_are_read_whole() -> None:
    state = ("1 goal\n  x : R\n  H : 0 < x\n  \u03c3h : forall t : R,\n        \u03c3 t = t * t\n"
             "  ============================\n  0 < x * x")
    found = tactics(state)
    assert "rewrite H" not in found and "rewrite <- H" not in found  # H is no equation, σh is not glued on
    assert "rewrite \u03c3h in *" in found


def test_case_splits_and_rewrites_before_a_procedure_get_the_slow_limit() -> None:
    rabs = "1 goal\n  x : R\n  ============================\n  Rabs (x - 1) + Rabs (x + 1) >= 2"
    assert proposed(rabs, "split_Rabs; nra") == "timeout 3 (split_Rabs; nra)"
    assert proposed(rabs, "split_Rabs; lra") == "timeout 3 (split_Rabs; lra)"


def test_closed_goals_are_computed_and_lists_are_left_alone() -> None:
    closed = "1 goal\n  ============================\n  sum_list (divisors 36) = 91"
    assert "reflexivity" in tactics(closed) and not any("vm_compute" in t for t in tactics(closed))
    list_goal = "1 goal\n  A : Type\n  l : list A\n  ============================\n  rev (rev l) = l"
    found = tactics(list_goal)
    assert "lra" not in found and "psatz Z 2" not in found and "sauto" in found


def test_header_definitions_become_unfold_candidates_for_the_theorem() -> None:
    header = ("Require Import Reals.\n(* Definition hidden := 1. *)\n"
              "Definition logb (a x : R) : R := ln x / ln a.\nFixpoint sum_f (f : nat -> nat) (n : nat) "
              ": nat := match n with 0 => 0 | S k => sum_f f k + f k end.")
    assert header_definitions(header) == ("logb", "sum_f")
    theorem = Theorem("t", "Theorem t : logb 2 8 = 3.", header)
    policy = CoqTacticPolicy().for_theorem(theorem)
    pp = "1 goal\n  ============================\n  logb 2 8 = 3"
    assert "unfold logb in *" in tactics(pp, policy)
    assert "unfold sum_f in *" not in tactics(pp, policy)  # not in this goal
    assert "unfold logb in *" not in tactics(pp)  # a policy that does not know the theorem
    assert policy.fingerprint != CoqTacticPolicy().fingerprint
    assert CoqTacticPolicy().imports == COQ_POLICY_IMPORTS


HEADER_Z = "Require Import ZArith.\nOpen Scope Z_scope."


@pytest.fixture(scope="module")
def backend() -> Iterator[CoqBackend]:
    with CoqBackend(CoqBackendConfig(imports=COQ_POLICY_IMPORTS, tactic_timeout=20)) as b:
        yield b


def opened(backend: CoqBackend, theorem: Theorem, *steps: str) -> tuple[object, TacticState]:
    session = backend.open(theorem)
    state = session.initial_state()
    for step in steps:
        state = session.run_tactic(state, step)
        assert isinstance(state, TacticState), (step, state)
    return session, state


def test_the_range_split_closes_every_case_but_the_answer(backend: CoqBackend) -> None:
    theorem = Theorem("m232", "Theorem m232 : forall x y : Z, (x * 3) mod 31 = 1 -> 0 <= x < 31 -> "
                      "0 <= y < 5 -> y * x = 21 * y.", HEADER_Z)
    session, state = opened(backend, theorem, "intros x y h0 h1 h2")
    with session:
        split = next(t for t in tactics(state.pp) if t.startswith("assert (Hcase : x ="))
        after = session.run_tactic(state, split)
        assert isinstance(after, TacticState) and after.num_goals == 1  # only x = 21 is left
        assert "h0 : (21 * 3) mod 31 = 1" in after.pp
        assert isinstance(session.run_tactic(after, "lia"), ProofFinished)


def test_the_policys_tactics_run_with_its_imports(backend: CoqBackend) -> None:
    cases = [
        (Theorem("r1", "Theorem r1 : forall x y : R, x * y <= (x ^ 2 + y ^ 2) / 2.",
                 "Require Import Reals.\nOpen Scope R_scope."), "pose proof (pow2_ge_0 (x - y)); nra"),
        (Theorem("r2", "Theorem r2 : forall x : R, Rabs (x - 1) < 1 -> 0 < x.",
                 "Require Import Reals.\nOpen Scope R_scope."), "split_Rabs; lra"),
        (Theorem("n1", "Theorem n1 : forall n : nat, n mod 4 = 3 -> (n * n) mod 4 = 1.",
                 "Require Import Arith."), "zify; Z.div_mod_to_equations; nia"),
        (Theorem("n2", "Theorem n2 : forall n : nat, n + 0 = n.", "Require Import Arith."), "sauto"),
    ]
    for theorem, tactic in cases:
        session, state = opened(backend, theorem, "intros")
        with session:
            candidate = proposed(state.pp, tactic)
            assert isinstance(session.run_tactic(state, candidate), ProofFinished), theorem.name
        assert backend.verify(theorem, ["intros", candidate]).ok, theorem.name


def test_closed_arithmetic_gets_the_procedures_of_both_scopes() -> None:
    """``(1/2 + 1/3) * (1/2 - 1/3) = 5/36`` reads the same under nat_scope and R_scope."""
    found = tactics("1 goal\n  ============================\n  (1 / 2 + 1 / 3) * (1 / 2 - 1 / 3) = 5 / 36")
    assert {"lra", "field", "lia", "reflexivity"} <= set(found)


def test_goals_about_lists_get_no_arithmetic_procedures() -> None:
    """``l1`` holds a digit and ``++`` a plus sign: neither is arithmetic."""
    pp = ("1 goal\n  A : Type\n  l1, l2 : list A\n  H : l1 ++ l2 = []\n"
          "  ============================\n  l1 = []")
    found = tactics(pp)
    assert not {"lra", "nra", "field", "psatz R 2", "psatz Z 2"} & set(found)
    assert {"destruct l1", "induction l1"} <= set(found)
