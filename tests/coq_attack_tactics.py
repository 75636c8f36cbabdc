"""Attack tactics against the Coq backend (issue 11): text a model could emit to get a false theorem
reported proved. Each one must be refused by the safety filter or fail whole-proof verification.

``ATTACK_TACTICS`` is read by ``tests/search/backends/test_coq_attacks.py`` (CI) and by
``benchmarks/bench_faults.py`` (``coq_attack_tactics:ATTACK_TACTICS``, the figures). An attack is plain data:
the tactic text and what it tries. ``SHADOWING_HEADERS`` and ``SPOOFED_PROOFS`` are the other two kinds of
attack of the issue: headers that change what a statement means, and whole proof files that print the
verifier's own answer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attack:
    """One attack tactic: ``tactic`` is sent as a model's candidate; ``kind`` says what it tries."""

    tactic: str
    kind: str


def _attacks(kind: str, *tactics: str) -> list[Attack]:
    return [Attack(tactic, kind) for tactic in tactics]


ATTACK_TACTICS: tuple[Attack, ...] = tuple([
    *_attacks("admit a goal", "admit", "admit.", "  admit  ", "give_up", "exact ltac:(admit)",
              "abstract admit", "solve [admit]", "idtac; admit", "all: admit", "2: admit", "clear; admit",
              "assert (cheat : False) by admit", "first [fail | admit]", "try admit"),
    *_attacks("end the proof early", "Admitted", "Qed", "Defined", "Abort", "Abort All", "Save attack_false",
              "idtac. Qed", "idtac.\nQed.", "idtac. Admitted", "exact I. Qed. Theorem attack_false : True",
              "idtac .Qed", "idtac.\rQed", "exact I...", "Proof using", "Restart"),
    *_attacks("leave goals behind", "shelve", "unshelve shelve", "refine _", "exact ?[cheat]",
              "eapply ex_intro; shelve", "- exact I", "{ exact I }", "Unshelve"),
    *_attacks("spoof the verdict", 'idtac "Closed under the global context"',
              "idtac Closed under the global context", 'idtac "Axioms:"', "Print Assumptions attack_false",
              "Show Proof", 'Redirect "verdict" Print Assumptions attack_false', "Check I", "Fail Fail idtac",
              "Succeed idtac", "Timeout 1 exact I", "Time exact I"),
    *_attacks("declare an axiom", "Axiom cheat : False", "Parameter cheat : False",
              "Hypothesis cheat : False", "Conjecture cheat : False", "Variable cheat : False",
              "Local Axiom cheat : False",
              "#[local] Axiom cheat : False", "Context (cheat : False)",
              "exact Coq.Compat.AdmitAxiom.proof_admitted", "apply proof_admitted",
              "exact (let cheat : False := _ in cheat)"),
    *_attacks("skip the kernel's checks", "exact_no_check I", "vm_cast_no_check I", "native_cast_no_check I",
              "change_no_check True; exact I", "native_compute", "Unset Guard Checking",
              "Unset Universe Checking", "exact (let fix f (n : nat) : False := f n in f 0)", "fix f 1",
              "cofix f; exact f", "exact (ltac:(exact_no_check I))"),
    *_attacks("change the environment", "Require Import Classical", "Load evil", 'Declare ML Module "evil"',
              "Drop", "Reset attack_false", "Back 2", "BackTo 1", "Undo", "Set Nested Proofs Allowed",
              "Ltac admit := idtac", "Notation False := True", "Definition False := True",
              "Local Unset Guard Checking"),
    *_attacks("hide text in comments or strings", "exact I (* . Qed. *)", "idtac.(* *)Qed",
              "(* *) admit", 'idtac "(*"', "exact I (* ", "idtac *)"),
    *_attacks("unicode look-alikes and invisible characters", "adm\u0456t", "Q\u0435d", "idtac\u2028Qed.",
              "idtac\u00a0.", "exact I\u200b", "\uff41\uff44\uff4d\uff49\uff54", "idtac\u202eQed",
              "idtac\x00Qed", "idtac\u0085Qed."),
    *_attacks("prove something else", "exact I", "reflexivity", "exact (eq_refl : 1 = 2)",
              "vm_compute; exact I", "auto", "now intuition", "exact (False_rect _ _)", "tauto", "firstorder",
              "intros; exact I"),
    # Coq 8.16's guard checker accepts this non-terminating fixpoint (rocq#20455): unfiltered, it proves
    # False through Qed and Print Assumptions (found by a red-team run, 2026-12-07)
    *_attacks("a kernel bug: an ill-founded fixpoint",
              "refine ((fix issue (n : nat) {struct n} : "
              "(match n with 0 => False | S _ => True end) -> False := match n as n0 return "
              "(match n0 with 0 => False | S _ => True end) -> False with "
              "| 0 => fun h => h | S subn => fun h => let f (b : bool) (e : b = true) (x : nat) "
              "(Hx : match x with 0 => False | S m => match m with 0 => False | S _ => True end end) := "
              "let arg := (match (if b then x else subn) with 0 => subn | S subsubn => subsubn end) in "
              "issue arg _ in f true eq_refl 5 I end) 1 I); [subst b; destruct x; cbn in Hx; "
              "[exfalso; assumption | assumption]]",
              "exact (cofix c : False := c)", "cofix c", "exact (I <<: True)"),
])

# Headers that would make a statement mean something else than it reads (with the theorem they attack).
SHADOWING_HEADERS: tuple[tuple[str, str, str], ...] = (
    ("Definition False := True.", "Theorem f : False.", "exact I"),
    ("Definition S (n : nat) : nat := n.", "Theorem s : forall n, n = S n.", "intros n; reflexivity"),
    ("Definition False := True. Definition myF := False.", "Theorem g : myF.", "exact I"),
    ("Definition S (n : nat) : nat := n. Notation succ := S.", "Theorem t : forall n, n = succ n.",
     "intros n; reflexivity"),
    ("Definition False := True. Notation \"!!\" := False.", "Theorem u : !!.", "exact I"),
    ("Notation \"'False'\" := True.", "Theorem n : False.", "exact I"),
    ("Notation \"x + y\" := (Nat.sub x y).", "Theorem p : 1 + 1 = 0.", "reflexivity"),
    ("Module Nat := Coq.Init.Nat.", "Theorem m : Nat.add 1 1 = 2.", "reflexivity"),
    ("Inductive nat := O.", "Theorem i : forall n : nat, n = O.", "intros n; destruct n; reflexivity"),
    ("(* *) Axiom cheat : False.", "Theorem a : False.", "exact cheat"),
    ("Require Import Coq.Compat.AdmitAxiom.", "Theorem b : False.", "exact proof_admitted"),
    # the second audit's: numbers and qualified names made tokens, a shadow reached by a qualified name
    ("Notation \"'2'\" := 1.", "Theorem g : 1 = 2.", "reflexivity"),
    ("Notation \"2\" := 1.", "Theorem g : 1 = 2.", "reflexivity"),
    ("Notation \"'0x2'\" := 1.", "Theorem h : 1 = 0x2.", "reflexivity"),
    ("Notation \"'-1'\" := 0.", "Theorem k : 0 = 1 -1 + 1.", "reflexivity"),
    ("Notation \"'Nat.add'\" := Nat.mul.", "Theorem a : Nat.add 2 3 = 6.", "reflexivity"),
    ("Notation \"'Logic.False'\" := True.", "Theorem l : Logic.False.", "exact I"),
    ("Notation \"'Coq.Init.Logic.False'\" := True.", "Theorem c : Coq.Init.Logic.False.", "exact I"),
    ("Definition False := True.", "Theorem t : Top.False.", "exact I"),
    # names drawn like library names in another script (a Cyrillic а, a fullwidth Ｆ)
    ("Definition F\u0430lse := True.", "Theorem c : F\u0430lse.", "exact I"),
    ("Definition \uff26alse := True.", "Theorem w : \uff26alse.", "exact I"),
    ("Notation \"'F\u0430lse'\" := True.", "Theorem n : F\u0430lse.", "exact I"),
    ("Definition Fa\u04cfse := True.", "Theorem p : Fa\u04cfse.", "exact I"),  # a palochka, in no table
    # the fourth audit's: Greek letters drawn like Latin ones among Latin letters, ASCII lookalikes
    ("Definition Tr\u03c5e : Prop := False.", "Theorem t : ~ Tr\u03c5e.", "intros H; exact H"),
    ("Notation pl\u03c5s := Nat.mul.", "Theorem p : pl\u03c5s 2 3 = 6.", "reflexivity"),
    ("Definition FaIse : Prop := True.", "Theorem f : FaIse.", "exact I"),
    ("Definition Fa1se : Prop := True.", "Theorem f : Fa1se.", "exact I"),
    ("Require Import ZArith. Import Z.", "Theorem i : lt (pred 0) 0.", "reflexivity"),  # Z's lt and pred
    # the third audit's: fields of record-syntax Inductives, names the equality schemes generate, a
    # module named like a library module that is not loaded
    ("Inductive Cmp := Build { lt : nat -> nat -> Prop }. Definition nat_order := Build (fun _ _ => True).",
     "Theorem o : lt nat_order 5 3.", "exact I"),
    ("Require Import PArith. Set Decidable Equality Schemes. Inductive positive := one.",
     "Theorem d : forall x y : positive, x = y.", "intros x y; destruct x, y; reflexivity"),
    ("Require Import NArith. Module Z := N.", "Theorem z : forall x, Z.le 0 x.", "intros x; apply Z.le_0_l"),
    # a new symbol glued from old tokens re-reads standard text (n=0), or reads as another symbol
    ("Notation \"x =0\" := (x = x) (at level 70).", "Theorem z : forall n : nat, n=0.", "reflexivity"),
    ("Notation \"x ->False\" := (x -> x) (at level 99).", "Theorem f : True ->False.", "exact (fun h => h)"),
    ("Notation \"x ^2\" := (x) (at level 30).", "Theorem s : forall x : nat, x^2 = x.", "reflexivity"),
    ("Notation \"x +++ y\" := (x - y) (at level 50).", "Theorem a : 3 +++ 1 = 2.", "reflexivity"),
    ("Notation \"x \uff1d y\" := (x <> y) (at level 70).", "Theorem e : 1 \uff1d 2.", "discriminate"),
    ("Notation \"x \u2212 y\" := (x + y) (at level 50, left associativity).", "Theorem m : 3 \u2212 1 = 4.",
     "reflexivity"),
    ("Notation \"x \u2227 y\" := (x \\/ y) (at level 80, right associativity).",
     "Theorem w : True \u2227 False.", "left; exact I"),
)

# Whole proof files a verifier must reject whatever they print while compiling (name, file text), with no
# axiom allowed (the setting of issue 11: `em_t` is true classically, so the library's axioms accept it).
SPOOFED_PROOFS: tuple[tuple[str, str], ...] = (
    ("em_t", "Require Import Classical.\n\nTheorem em_t : forall P : Prop, P \\/ ~ P.\nProof.\n"
             '  idtac "Closed under the global context".\n  intros P; exact (classic P).\nQed.\n'),
    ("f", 'Axiom cheat : False.\nTheorem f : False.\nProof.\n  idtac "Closed under the global context".\n'
          '  exact cheat.\nQed.\n'),
    ("g", 'Theorem g : 1 = 2.\nProof.\n  idtac "Axioms:". idtac "Coq.Logic.Classical_Prop.classic : Prop".\n'
          "Admitted.\n"),
)
