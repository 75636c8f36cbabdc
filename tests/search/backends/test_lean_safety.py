"""The Lean safety filters: adversarial tactics and theorems are refused with the right reason, benign ones
and every real benchmark row pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search.backends.lean.safety import (
    check_lean_proof_tactic,
    check_lean_tactic,
    check_lean_theorem,
    have_block_parts,
    lean_theorem_problem,
)
from search.backends.lean.safety_lexer import Kind, LexError, lex
from search.errors import InvalidTheoremError
from search.types import Theorem

BENCHMARKS = Path(__file__).resolve().parents[3].parent / "shared" / "benchmarks"
BENCHMARK_FILES = ("minif2f.jsonl", "minif2f_v4.20.0.jsonl", "minif2f_deepseek.jsonl", "proofnet.jsonl",
                   "proofnet_extra.jsonl", "proofnet_deepseek.jsonl")

BENIGN_TACTICS = [
    "omega", "simp", "norm_num", "linarith", "nlinarith", "positivity", "decide", "ring", "aesop",
    "norm_num [foo] at h ⊢", "linarith [sq_nonneg (a - b)]",
    "nlinarith [sq_nonneg (a - b), sq_nonneg (a + b), mul_pos ha hb]",
    "have h : x = 1 := by\n    norm_num",
    "have h : x = 1 := by\n  norm_num\n  simp",
    "calc a = b := by simp\n  _ = c := by ring",
    "calc\n    a = b := by simp\n    _ = c := by ring",
    "· simp", "· norm_num at h\n  linarith", "simp <;> linarith", "constructor <;> norm_num",
    "rcases h with ⟨x, hx⟩", "obtain ⟨x, hx, -⟩ := h", "intro x y", "exact ⟨1, by norm_num⟩",
    "simp [sorry_lemma]", "exact h_sorry_free", "exact native_ok", "simp only [Finset.sum_range_succ]",
    "field_simp [hx.ne']", "rw [show (2 : ℝ) = 1 + 1 by norm_num]", "exact fun x ↦ x",
    "norm_num [Nat.factorial]", "interval_cases x <;> simp_all", "exact?", "aesop?",
    "decide", "simp_all [Set.mem_setOf_eq]", "exact Real.sqrt_nonneg _", "exact (h₀ 1).trans h₁",
    "open Real in nlinarith [pi_pos]", "open scoped BigOperators in simp", "simp -- closes it",
    "simp /- balanced comment -/", "trace \"sorry is only text\"", "exact 'a'", "exact '\"'",
    "exact #[1, 2].size", "simp [Finset.card] at #s", "norm_num [Nat.Prime] at h₀ ⊢",
    "refine ⟨?_, ?_⟩", "exact ‹x > 0›", "conv => lhs; rw [h]", "case inr h => simp at h",
    "induction n with\n  | zero => simp\n  | succ n ih => simp [ih]", "decide +kernel",
    "simp (config := { decide := true })", "nlinarith [sq_nonneg (x - 1), abs_nonneg x, ‖v‖]",
    "exact (by norm_num : (4 : ℝ) ≠ 0)", "unfold f at h", "push_cast", "gcongr", "bound",
]

ADVERSARIAL_TACTICS = [
    ("sorry", "sorry"), ("admit", "sorry"), ("stop", "sorry"), ("exact sorry", "sorry"),
    ("first | simp | sorry", "sorry"), ("exact «sorry»", "sorry"), ("exact sorryAx _ false", "sorry"),
    ("exact _root_.sorryAx False true", "sorry"), ("simp\n  sorry", "sorry"),
    ("native_decide", "native"), ("decide +native", "native"), ("bv_decide", "native"),
    ("decide (config := { native := true })", "native"), ("exact Lean.ofReduceBool _ _ rfl", "native"),
    ("exact ofReduceBool a b h", "native"), ("exact Lean.trustCompiler", "native"),
    ("#eval 1", "runs code"), ("#exit", "runs code"), ("#print axioms foo", "runs code"),
    ("simp #eval IO.println 1", "runs code"), ("run_tac pure ()", "runs code"),
    ("run_cmd Lean.logInfo \"x\"", "runs code"), ("run_elab pure ()", "runs code"),
    ("run_meta pure ()", "runs code"), ("exact by_elab pure default", "runs code"),
    ("dbg_trace \"x\"; simp", "runs code"), ("exact unsafeIO (pure 1)", "runs code"),
    ("exact unsafe (1 : Nat)", "runs code"), ("exact IO.Process.exit 0", "runs code"),
    ("exact Lean.Elab.Command.elabCommand", "runs code"), ("exact Lean.Meta.mkSorry", "runs code"),
    ("exact Lean.Environment.addDeclWithoutChecking", "runs code"), ("exact System.FilePath.mk", "runs code"),
    ("exact `(tactic| sorry)", "runs code"), ("exact s!\"{x}\"", "runs code"),
    ("apply?", "sorry"), ("first | exact h | apply?", "sorry"),
    ("exact s! \"{sorry}\"", "runs code"), ("exact m! \"{x}\"", "runs code"),
    ("exact f!  \"{x}\"", "runs code"), ("exact s! /- gap -/ \"{x}\"", "runs code"),
    ("exact s!\n    \"{x}\"", "runs code"),
    ("macro \"foo\" : tactic => `(tactic| sorry)", "runs code"),
    ("elab \"t\" : tactic => pure ()", "runs code"),
    ("syntax \"t\" : tactic", "runs code"), ("simp [implemented_by]", "runs code"),
    ("exact @[extern \"c\"] foo", "runs code"), ("polyrith", "network"),
    ("set_option maxHeartbeats 0 in simp", "environment"),
    ("set_option debug.skipKernelTC true in exact h", "kernel"), ("import Mathlib", "environment"),
    ("axiom ax : False", "declaration"), ("open Real", "environment"), ("open Real; simp", "environment"),
    ("attribute [simp] foo in simp", "environment"), ("local instance foo", "environment"),
    ("notation \"x\" => 1", "environment"), ("infixl:65 \" +++ \" => HAdd.hAdd", "environment"),
    ("omit h in simp", "environment"), ("include h", "environment"),
    ("theorem x : False := by simp", "declaration"), ("lemma x : False := h", "declaration"),
    ("def x := 1", "declaration"), ("instance : Foo := ⟨⟩", "declaration"),
    ("example : True := trivial", "declaration"),
    ("structure S where", "declaration"), ("inductive I", "declaration"), ("namespace Foo", "declaration"),
    ("section", "declaration"), ("end", "declaration"), ("variable (x : ℕ)", "declaration"),
    ("universe u", "declaration"), ("mutual", "declaration"), ("opaque x : ℕ", "declaration"),
    ("private def x := 1", "declaration"), ("noncomputable def x := 1", "declaration"),
    ("@[simp] lemma foo : True := trivial", "attribute"),
    ("rfl notation3 \"F\" => True", "declaration"), ("rfl alias foo := bar", "declaration"),
    ("rfl irreducible_def foo : Nat := 1", "declaration"), ("trivial seal Nat.add", "declaration"),
    ("rfl simproc foo (Nat.add _ _) := fun _ => return .continue", "declaration"),
    ("trivial add_aesop_rules safe (by simp)", "declaration"), ("trivial recall Nat.add", "declaration"),
    ("trivial compile_inductive% Nat", "declaration"), ("trivial gen_injective_theorems% Nat", "declaration"),
    ("trivial coinductive Foo : Prop", "declaration"), ("trivial suppress_compilation", "declaration"),
    ("trivial #align foo bar", "command"), ("rfl proof_wanted foo : False", "declaration"),
    ("rfl unset_option pp.all", "declaration"), ("rfl grind_pattern foo => x", "declaration"),
    ("simp\ntheorem bad : False := by exact h", "newline"), ("simp\nexact h", "newline"),
    ("have h : x = 1 := by\n    norm_num\nsimp", "newline"), ("  simp\n  exact h", "newline"),
    ("simp\n  where aux : False := h", "newline"), ("exact f\n  termination_by x", "newline"),
    ("decreasing_by simp", "newline"),
    ("exact (foo", "bracket"), ("exact foo)", "bracket"), ("exact ⟨a, b", "bracket"),
    ("exact [a, b)", "bracket"), ("simp [foo", "bracket"),
    ("simp /- open comment", "comment"), ("simp /- nested /- -/ still open", "comment"),
    ("trace \"unterminated", "string"), ("exact «open", "«"),
    ("", "empty"), ("   ", "empty"), ("\n\n", "empty"), ("-- only a comment", "empty"),
    ("/- only a comment -/", "empty"), ("simp\x00", "control"), ("\tsimp", "control"), ("simp\r", "control"),
    ("simp\x1b[2J", "control"), ("exact h\u202e", "control"), ("exact h\u200b", "control"),
    ("simp\u2028theorem x : False := sorry", "control"), ("simp" + " " * 5000, "too long"),
]

# The red-team audit of the tactic filter: each family passed before, each is refused now.
RED_TEAM_TACTICS = [
    # code inside a string that Lean interpolates without a `!` (throwError, trace[...], logNamedError)
    ('have : Lean.Core.CoreM Unit := throwError "{(by run_tac pure () ; exact 0 : Nat)}"', "`{` in a string"),
    ('have : CoreM Unit := throwError "{(by run_tac (modifyEnv fun e => e); exact 0 : Nat)}"\n  exact h.elim',
     "`{` in a string"),
    ('have : CoreM Unit := throwErrorAt default "{(by native_decide : 1 = 1)}"', "`{` in a string"),
    ('exact (throwError "{sorry}" : CoreM Unit)', "`{` in a string"),
    ('have := (throwError "{(set_option debug.skipKernelTC true in 0)}" : CoreM Unit)', "`{` in a string"),
    ('exact (logNamedError `x "{(by run_tac pure (); exact 0 : Nat)}" : CoreM Unit)', "`{` in a string"),
    ('exact (trace[foo] "{(by sorry : Nat)}" : CoreM Unit)', "`{` in a string"),
    ('exact (throwError r"{x}" : CoreM Unit)', "`{` in a string"),
    # native evaluation by position, printing, compiled code, files
    ("decide (config := ⟨false, true, true, false⟩)", "native"),
    ("decide (config := .mk false true true false)", "native"),
    ("decide (config := DecideConfig.mk false true true false)", "native"),
    ("decide (config := myConfig)", "native"), ("decide (config := { myConfig with })", "native"),
    ("decide (config := { (⟨false, true, true, false⟩ : DecideConfig) with kernel := false })", "native"),
    ("decide (config := { DecideConfig.native := true })", "native"),
    ('println! ("x")', "prints"), ('exact (EStateM.run (println! ("x")) ())', "prints"),
    ("exact dbgTraceVal 1", "prints"), ("exact dbgSleep 1 fun _ => rfl", "prints"),
    ('dbg_trace "x"; simp', "prints"), ("plausible", "compiled code"), ("slim_check", "compiled code"),
    ("plausible (config := { quiet := true })", "compiled code"), ("exact eval% 2 + 2", "compiled code"),
    ('exact (include_str "/etc/passwd")', "reads a file"), ('bv_check "x.lrat"', "native"),
    ("bv_decide?", "native"), ("rfl declare_config_elab elabFoo Nat", "runs code"),
    # `open Lean` hides metaprogramming names from the namespace checks
    ("open Lean in exact Environment.addDeclWithoutChecking", "`Lean` opened"),
    ("open Lean in exact addDecl", "`Lean` opened"),
    ("open Lean Elab in exact Term.elabTerm", "`Lean` opened"),
    ("open scoped Lean in simp", "`Lean` opened"), ("open _root_.Lean in exact Kernel.foo", "`Lean` opened"),
    ("open «Lean» in exact addDecl", "`Lean` opened"),
    ("open Lean hiding foo in exact addDecl", "`Lean` opened"),
    ("open Real Lean.Omega in omega", "`Lean.Omega` opened"), ("open Lean.Elab in exact x", "runs code"),
    ("open Nat in open Lean in exact addDecl", "`Lean` opened"),
]

# Ordinary tactics near the new rules: they must still pass.
RED_TEAM_BENIGN = [
    "simp [h]", "norm_num", "exact ⟨1, by simp⟩", "decide", "omega", "nlinarith [sq_nonneg (a - b)]",
    "rw [Nat.add_comm]", "decide +kernel", "simp (config := { decide := true })",
    "simp (config := { contextual := true, maxSteps := 100000 }) [h]", 'trace "no braces here"',
    'fail "no braces"', "exact Lean.Omega.foo", "open Real Nat in nlinarith [pi_pos]",
    "exact Polynomial.eval 1 p", "simp [Polynomial.eval]", "exact ({ x | x > 0 } : Set ℕ)",
    "exact '{'", "have h : config = 1 := rfl",
]

ADVERSARIAL_STATEMENTS = [
    ("theorem t : True := trivial\ntheorem u : False :=", "second command"),
    ("open Nat renaming succ → False in theorem t : False :=", "renaming"),
    ("theorem t : open Bool renaming true → False in False :=", "renaming"),
    ("theorem t : (open Bool renaming true → False in False) :=", "renaming"),
    ("theorem t (n : Nat) : open Nat renaming mul → add in add n n = n * n :=", "renaming"),
    ("theorem t : True :=\n  trivial\nexample : False :=", "second command"),
    ("theorem t : False :=\n#exit\ntheorem u : True :=", "command"),
    ("theorem t : False := by\n  exact h\nopen Foo\ntheorem u : True :=", "second command"),
    ("theorem t : False := by exact foo\nattribute [simp] t\nlemma u : True :=", "second command"),
    ("theorem t : True := trivial\n:=", "second command"),
    ("axiom ax : False\ntheorem t : False :=", "axiom"),
    ("theorem t : False := sorry\nexample : True :=", "sorry"),
    ("theorem t : (sorry : Prop) :=", "sorry"), ("theorem t : False := by admit :=", "sorry"),
    ("theorem t : decide (1 = 1) = true := by native_decide\nexample : True :=", "native"),
    ("#eval IO.println 1\ntheorem t : True :=", "command"),
    ("set_option debug.skipKernelTC true in\ntheorem t : False :=", "kernel"),
    ("set_option compiler.extract_closed false in\ntheorem t : True :=", "kernel"),
    ("set_option allowUnsafeReducibility true in\ntheorem t : True :=", "set_option"),
    ("set_option autoImplicit true in\ntheorem t : foo = foo :=", "set_option"),
    ("set_option relaxedAutoImplicit true in\ntheorem t : Reall = Reall :=", "set_option"),
    ("import Mathlib\ntheorem t : True :=", "import"), ("theorem t : True", "end with"),
    ("theorem t : True := -- comment", "end with"), ("theorem t : True := by", "end with"),
    ("open Real\ntheorem t : π > 3 :=", "second command"), ("t : True :=", "starts with"),
    ("structure S where\ntheorem t : True :=", "starts with"),
    ("@[implemented_by foo] def t : ℕ :=", "runs code"), ("unsafe def t : ℕ :=", "runs code"),
    ("theorem t : True := by simp\nend\ntheorem u : False :=", "second command"),
    ("theorem t (x : ℕ) : (x = x :=", "bracket"), ("theorem t /- open : True :=", "comment"),
    ("theorem t : \"unterminated :=", "string"), ("theorem t : True :=\u202e", "control"),
    ("theorem t : True := by simp\n@[simp] theorem u : False :=", "second command"),
    ("theorem t : True :=\n  trivial\nwhere aux : False :=", "second command"),
]

ADVERSARIAL_HEADERS = [
    ("import Mathlib\naxiom ax : False", "axiom"), ("import Mathlib\ndef f : ℕ := sorry", "sorry"),
    ("import Mathlib\nopen Real\nimport Mathlib.Tactic", "import"),
    ("import Mathlib\nset_option debug.skipKernelTC true", "kernel"),
    ("import Mathlib\nset_option compiler.enableNew true", "kernel"),
    ("import Mathlib\nset_option Elab.async false", "set_option"),
    ("import Mathlib\nunsafe def f : ℕ := 1", "runs code"),
    ("import Mathlib\n@[implemented_by g] def f : ℕ := 1", "runs code"),
    ("import Mathlib\n@[extern \"f\"] opaque f : ℕ", "runs code"),
    ("import Mathlib\nmacro \"foo\" : tactic => `(tactic| sorry)", "runs code"),
    ("import Mathlib\nelab \"foo\" : tactic => pure ()", "runs code"),
    ("import Mathlib\nsyntax \"foo\" : term", "runs code"),
    ("import Mathlib\n#eval IO.println 1", "command"), ("import Mathlib\n#exit", "command"),
    ("import Mathlib\n#foo", "command"), ("import Mathlib\nrun_cmd pure ()", "runs code"),
    ("import Mathlib\ninitialize pure ()", "runs code"),
    ("import Mathlib\ntheorem aux : 1 = 1 := by native_decide", "native"),
    ("import Mathlib\ndef f := (", "bracket"), ("import Mathlib\n/- unterminated", "comment"),
    # headers that would change what a statement means (issue 11): hypotheses, notations, instances
    ("import Mathlib\nvariable (h : False)\ninclude h", "meaning"),
    ("import Mathlib\nvariable [Fact False]", "meaning"),
    ("import Mathlib\nvariable {α : Type*} [Fintype α]", "meaning"),
    ("import Mathlib\nnotation \"False\" => True", "meaning"),
    ("import Mathlib\nlocal notation \"𝕀\" => Set.Icc (0 : ℝ) 1", "meaning"),
    ("import Mathlib\nscoped notation \"π\" => (3 : ℝ)", "meaning"),
    ("import Mathlib\ninfixl:65 \" + \" => HMul.hMul", "meaning"),
    ("import Mathlib\ninstance : Add ℕ := ⟨Nat.mul⟩", "meaning"),
    ("import Mathlib\nattribute [local instance] Classical.propDecidable", "meaning"),
    ("import Mathlib\nattribute [-simp] Nat.add_comm", "meaning"),
    ("import Mathlib\n@[simp] lemma l : 1 = 1 := rfl", "attribute"),
    ("import Mathlib\nset_option maxHeartbeats 0 in\nlemma l : 1 = 1 := rfl", "set_option"),
    ("import Mathlib\nset_option autoImplicit true", "set_option"),
    ("import Mathlib\nset_option relaxedAutoImplicit true", "set_option"),
    ("import Mathlib\nopen Nat renaming succ → False", "meaning"),
    ("import Mathlib\nexport Nat (succ)", "meaning"),
    ("import Mathlib\nomit h in\nlemma l : 1 = 1 := rfl", "meaning"),
    ("import Mathlib\nmacro \"False\" : term => `(True)", "runs code"),
    ("import Mathlib\ndef f := 1\u0007", "control"),
    # a name that hides a library name from inside a namespace (Lean prefers the innermost one)
    ("import Mathlib\nnamespace Foo\ndef False := True", "meaning"),
    ("import Mathlib\ndef Foo.False : Prop := True\nopen Foo", "namespace"),
    ("import Mathlib\nabbrev _root_.Nat.Prime (n : ℕ) : Prop := True", "namespace"),
    # declarations and notations the name checks above do not read (Mathlib's notation3, alias, ...)
    ("import Mathlib\nnotation3 \"False\" => True", "meaning"),
    ("import Mathlib\nalias Foo.False := True", "meaning"),
    ("import Mathlib\nirreducible_def Foo.False : Prop := True", "meaning"),
    ("import Mathlib\ninductive Foo | False\nopen Foo", "meaning"),
    ("import Mathlib\nstructure S where\n  False : Prop\nopen S", "meaning"),
    ("import Mathlib\ndef F\u0430lse : Prop := True", "reads as 'False'"),  # a Cyrillic а
    ("import Mathlib\nabbrev \U0001d405alse : Prop := True", "reads as 'False'"),  # a mathematical 𝐅
    ("import Mathlib\ndef Fa\u04cfse : Prop := True", "U+04CF"),  # a Cyrillic palochka, in no table
    ("import Mathlib\ndef Tr\u03c5e : Prop := False", "reads as 'True'"),  # a Greek upsilon among Latin
    ("import Mathlib\ndef FaIse : Prop := True", "drawn like `False`"),  # a capital I for the l
    ("import Mathlib\nabbrev Rea1 := ℚ", "drawn like `Real`"),  # a one for the l
    # the red-team families, where a header would elaborate them too
    ('import Mathlib\ndef f : Lean.Core.CoreM Unit := throwError "{(by run_tac pure (); exact 0 : Nat)}"',
     "`{` in a string"),
    ("import Mathlib\nopen Lean", "`Lean` opened"), ("import Mathlib\nopen Real Lean.Omega", "opened"),
    ("import Mathlib\nlemma l : 1 = 1 := by decide (config := ⟨false, true, true, false⟩)", "native"),
]

BENIGN_HEADERS = [
    "", "import Mathlib",
    "import Mathlib\n\nset_option maxHeartbeats 400000\n\nopen BigOperators Real Nat Topology Rat\n",
    "import Mathlib\nopen scoped BigOperators\nnoncomputable section\nsection Foo\nend Foo\n",
    "import Mathlib\nuniverse u\n",
    "import Mathlib\n/-- doc -/\ndef f (x : ℕ) : ℕ := x + 1\nlemma f_pos (x : ℕ) : 0 < f x := by simp [f]\n",
    "import Mathlib\nabbrev I : Set ℝ := Set.Icc 0 1\nset_option linter.unusedVariables false\n",
    "-- a comment mentioning sorry and #eval\nimport Mathlib\n",
    "import Mathlib\ndef g : ℕ → ℕ\n| 0 => 1\n| n + 1 => 2 * g n\n",
]

BENIGN_STATEMENTS = [
    "theorem t : True :=", "lemma t (x : ℕ) (h : x = 1) : x + 1 = 2 :=", "example : 1 + 1 = 2 :=",
    "theorem t (x : ℕ)\n(h₀ : x = 1)\n: x = 1 :=", "theorem t (f : ℕ → ℕ := fun x => x) : f 0 = 0 :=",
    "/-- docstring -/\ntheorem t : True :=", "@[simp] theorem t : True :=", "private theorem t : True :=",
    "set_option maxHeartbeats 400000 in\ntheorem t : True :=",
    "set_option exponentiation.threshold 2000 in\ntheorem t : 2 ^ 2000 % 5 = 1 :=",
    "open Real in\ntheorem t : π > 3 :=", "instance t {G : Type*} [Group G] : Group G :=",
    "noncomputable def t : ℝ :=", "theorem t (s : Finset ℕ) : ∑ x in s, x = ∑ x ∈ s, x :=",
    "theorem t : ∀ x : ℕ, x = x -- a comment\n  :=", "theorem h_sorry_free : True :=",
    "theorem t (x : ℝ) : (let y := x; y) = x :=",
]


def _rows() -> list[dict[str, str]]:
    rows = []
    for name in BENCHMARK_FILES:
        with open(BENCHMARKS / name, encoding="utf-8") as handle:
            rows.extend(json.loads(line) for line in handle if line.strip())
    return rows


@pytest.mark.parametrize("tactic", BENIGN_TACTICS)
def test_benign_tactics_pass(tactic: str) -> None:
    assert check_lean_tactic(tactic) is None


@pytest.mark.parametrize(("tactic", "keyword"), RED_TEAM_TACTICS)
def test_red_team_tactics_are_refused_by_both_filters(tactic: str, keyword: str) -> None:
    for check in (check_lean_tactic, check_lean_proof_tactic):
        reason = check(tactic)
        assert reason is not None, f"{check.__name__} let {tactic!r} through"
        assert keyword in reason, f"{tactic!r}: {reason!r} does not mention {keyword!r}"


@pytest.mark.parametrize("tactic", RED_TEAM_BENIGN)
def test_ordinary_tactics_near_the_red_team_rules_pass(tactic: str) -> None:
    assert check_lean_tactic(tactic) is None
    assert check_lean_proof_tactic(tactic) is None


def test_a_string_in_a_statement_may_not_hold_braces_either() -> None:
    statement = 'theorem t : (throwError "{(by run_tac pure (); exact 0 : Nat)}" : CoreM Unit) = x :='
    assert "`{` in a string" in (lean_theorem_problem("import Mathlib", statement) or "")
    assert lean_theorem_problem("import Mathlib", 'theorem t : "ab".length = 2 :=') is None


@pytest.mark.parametrize(("tactic", "keyword"), ADVERSARIAL_TACTICS)
def test_adversarial_tactics_are_refused_with_reason(tactic: str, keyword: str) -> None:
    reason = check_lean_tactic(tactic)
    assert reason is not None, f"{tactic!r} was let through"
    assert keyword in reason, f"{tactic!r}: {reason!r} does not mention {keyword!r}"


def test_max_length_is_configurable() -> None:
    assert check_lean_tactic("simp", max_length=3) is not None
    assert check_lean_tactic("simp", max_length=4) is None


@pytest.mark.parametrize(("statement", "keyword"), ADVERSARIAL_STATEMENTS)
def test_adversarial_statements_are_refused(statement: str, keyword: str) -> None:
    theorem = Theorem("t", statement, header="import Mathlib")
    with pytest.raises(InvalidTheoremError) as caught:
        check_lean_theorem(theorem)
    assert caught.value.theorem == "t"
    assert caught.value.reason.startswith("statement: ")
    assert keyword in caught.value.reason


@pytest.mark.parametrize(("header", "keyword"), ADVERSARIAL_HEADERS)
def test_adversarial_headers_are_refused(header: str, keyword: str) -> None:
    reason = lean_theorem_problem(header, "theorem t : True :=")
    assert reason is not None and reason.startswith("header: ")
    assert keyword in reason


@pytest.mark.parametrize("header", BENIGN_HEADERS)
def test_benign_headers_pass(header: str) -> None:
    assert lean_theorem_problem(header, "theorem t : True :=") is None


@pytest.mark.parametrize("statement", BENIGN_STATEMENTS)
def test_benign_statements_pass(statement: str) -> None:
    check_lean_theorem(Theorem("t", statement, header="import Mathlib"))


needs_benchmarks = pytest.mark.skipif(not BENCHMARKS.is_dir(), reason=f"{BENCHMARKS} is not there")


@needs_benchmarks
def test_every_benchmark_row_passes_the_theorem_check() -> None:
    rows = _rows()
    assert len(rows) == 488 * 3 + 371 * 2 + 3
    refused = {row["name"]: lean_theorem_problem(row["header"], row["statement"]) for row in rows}
    assert {name: why for name, why in refused.items() if why is not None} == {}


@needs_benchmarks
def test_human_proofs_in_the_benchmarks_pass_the_tactic_filter() -> None:
    """The 77 human proofs of miniF2F v4.20.0, cut into the top-level tactics of their `by` blocks."""
    tactics: list[str] = []
    for row in _rows():
        proof = row.get("formal_proof_in_source")
        if not proof:
            continue
        for line in proof.split("\n")[1:]:
            if line.startswith("  ") and not line.startswith("   "):
                tactics.append(line[2:])
            elif line.strip():
                tactics[-1] += "\n" + line[2:]
    tactics = [t for t in tactics if not t.lstrip().startswith("--")]
    assert len(tactics) > 100
    assert {t: check_lean_tactic(t) for t in tactics if check_lean_tactic(t)} == {}


def test_lexer_keeps_positions_and_drops_comments() -> None:
    tokens = lex("simp -- sorry\n  /- admit /- nested -/ -/ exact h'.1 «x y»")
    assert [t.text for t in tokens] == ["simp", "exact", "h'", ".", "1", "«x y»"]
    assert (tokens[1].line, tokens[1].col) == (1, 27)
    assert lex("s!\"{x}\"")[1].kind is Kind.INTERPOLATED
    assert lex("r#\"a \" b\"#")[0].kind is Kind.STRING
    with pytest.raises(LexError):
        lex("\"open")


def test_an_assembled_have_block_is_checked_part_by_part_and_exempt_from_the_length_limit_only() -> None:
    """The planner audit's: verify refused a planner's assembled block for its length alone."""
    step = "nlinarith [sq_nonneg (a - b), sq_nonneg (a + b), mul_pos ha hb]"
    case = "rcases h with h | h\n  · simp [h]\n\n  · linarith"
    block = "have h1 : a ≤ b := by\n" + "\n".join(["  " + step] * 80) + "\n  " + case.replace("\n", "\n  ")
    assert len(block) > 4096 and check_lean_tactic(block) is not None
    assert have_block_parts(block) == ["have h1 : a ≤ b", *[step] * 80, case]
    assert check_lean_proof_tactic(block) is None
    assert "sorry" in (check_lean_proof_tactic(block.replace("mul_pos ha hb", "sorry", 1)) or "")
    huge = "have h1 : a ≤ b := by\n  simp [" + ", ".join(["foo"] * 1500) + "]"
    assert "too long" in (check_lean_proof_tactic(huge) or "")  # one part over the limit
    assert "too long" in (check_lean_proof_tactic("simp [" + ", ".join(["foo"] * 1500) + "]") or "")
    assert "column 0" in (check_lean_proof_tactic("have h : P := by\nsimp") or "")
    assert have_block_parts("have h : P := by simp") is None and have_block_parts("exact h") is None
