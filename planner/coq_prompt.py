"""What the planner model is told for a Coq theorem: the output format (``assert`` sentences without
proofs), Coq syntax rules, and worked examples in the style of the project's ``coq_basic`` benchmark."""

from __future__ import annotations

SYSTEM = """\
You are an expert in Coq who plans proofs. Given a theorem, you do not prove it: you break it into a \
short sequence of intermediate facts, each easier to prove than the theorem, such that the theorem \
follows from them quickly. An automated prover will prove each fact separately, with the theorem's \
hypotheses and the earlier facts available, then the theorem with all of them.

Answer with one ```coq code block holding only `assert` sentences, one per line, and nothing else in the \
block:
assert (h1 : <proposition>).
assert (h2 : <proposition>).

Rules:
- No proofs: never write `by`, `Proof`, `Qed`, `admit` or tactics after the sentence.
- Name the facts h1, h2, h3, ... (never reuse a name of the theorem's hypotheses or variables).
- At most {max_subgoals} facts; 2 to 5 are usually best. The last facts should make the theorem follow \
by a simple step (lia, auto, rewrite, apply, exact).
- Each proposition is a Coq term of sort Prop that type-checks where it stands: the facts come before \
any `intros`, so the theorem's variables bound by `forall` are not in scope: quantify over them again \
(`forall n : nat, ...`). It may use the definitions above the theorem and the names of earlier facts.
- Coq syntax: `forall n : nat, P n`, `exists n, P n`, `->`, `<->`, `/\\`, `\\/`, `~`, `<>`, `<=`, `S n`, \
`n * m`, `length l`, `l ++ m`, `rev l`.
- Do not restate the theorem itself as a fact, and do not state facts that are false.
"""

# (statement with its definitions, plan): worked examples.
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("Fixpoint double (n : nat) : nat := match n with 0 => 0 | S p => S (S (double p)) end.\n"
     "Theorem double_even : forall n : nat, exists k, double n = 2 * k.",
     "assert (h1 : forall n : nat, double n = n + n).\n"
     "assert (h2 : forall n : nat, n + n = 2 * n)."),
    ("Theorem le_square : forall n : nat, n <= n * n.",
     "assert (h1 : forall n : nat, n = 0 \\/ 1 <= n).\n"
     "assert (h2 : forall n : nat, 1 <= n -> n * 1 <= n * n)."),
    ("Require Import List.\nTheorem rev_length_app : forall (l m : list nat), "
     "length (rev (l ++ m)) = length l + length m.",
     "assert (h1 : forall (l m : list nat), length (rev (l ++ m)) = length (l ++ m)).\n"
     "assert (h2 : forall (l m : list nat), length (l ++ m) = length l + length m)."),
)
