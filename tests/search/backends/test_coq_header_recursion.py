"""Header recursion: only evident structural recursion reaches Coq 8.16, whose guard checker accepts some
non-terminating fixpoints (rocq#20455). The exploit header proves False; benchmark Fixpoints stay."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from prover.cli.main import main
from search.backends.coq.config import CoqBackendConfig
from search.backends.coq.header_recursion import check_recursion
from search.backends.coq.header_text import header_sentences
from search.backends.coq.safety import check_coq_header
from search.backends.coq.verify import run_coqc

BENCHMARK = Path(__file__).resolve().parents[4] / "shared" / "benchmarks" / "minif2f_rocq_valid.jsonl"
COQC = shutil.which("coqc")

# rocq#20455 in Coq 8.16.1: ``issue`` is accepted by the guard checker and ``boom`` proves False.
HELPER = (
    "Definition helper (subn x : nat) (b : bool) (e : b = true) (Hx : match x with 0 => False | S m => "
    "match m with 0 => False | S _ => True end end) : match (match (if b then x else subn) with 0 => subn "
    "| S s => s end) return Prop with 0 => False | S _ => True end := match eq_sym e in _ = b0 return "
    "match (match (if b0 then x else subn) with 0 => subn | S s => s end) return Prop with 0 => False | "
    "S _ => True end with eq_refl => match x as x0 return (match x0 with 0 => False | S m => match m with "
    "0 => False | S _ => True end end) -> match (match x0 with 0 => subn | S s => s end) return Prop with "
    "0 => False | S _ => True end with 0 => fun hx => match hx with end | S m => fun hx => hx end Hx end.")
ISSUE = (
    "Fixpoint issue (n : nat) {struct n} : (match n with 0 => False | S _ => True end) -> False := "
    "match n as n0 return (match n0 with 0 => False | S _ => True end) -> False with | 0 => fun h => h | "
    "S subn => fun h => let f (b : bool) (e : b = true) (x : nat) (Hx : match x with 0 => False | S m => "
    "match m with 0 => False | S _ => True end end) := let arg := (match (if b then x else subn) with 0 "
    "=> subn | S subsubn => subsubn end) in issue arg (helper subn x b e Hx) in f true eq_refl 5 I end.")
EXPLOIT = f"{HELPER}\n{ISSUE}\nDefinition boom : False := issue 1 I.\n"

def compiled(text: str) -> str:
    """coqc's output for ``text``, which must compile (the project's own ``run_coqc``)."""
    code, output = run_coqc(text, CoqBackendConfig())
    assert code == 0, output
    return output


ACCEPTED = {
    "nested pattern": "Fixpoint half (n : nat) : nat := match n with | 0 => 0 | S 0 => 0 | S (S m) => "
                      "S (half m) end.",
    "list": "Fixpoint len (l : list nat) : nat := match l with | [] => 0 | _ :: t => S (len t) end.",
    "two-level match": "Fixpoint binom (n k : nat) : nat := match k with | 0 => 1 | S k' => match n with "
                       "| 0 => 0 | S n' => (binom n' k' * S n' / S k')%nat end end.",
    "struct annotation": "Fixpoint add (a n : nat) {struct n} : nat := match n with 0 => a | S m => "
                         "S (add a m) end.",
    "transitive pattern": "Fixpoint ev (n : nat) : bool := match n with 0 => true | S m => match m with "
                          "0 => false | S k => ev k end end.",
    "call under a lambda": "Fixpoint shift (n : nat) : nat -> nat := match n with 0 => fun x => x | S m "
                           "=> fun x => shift m (x + 1) end.",
    "two scrutinees": "Fixpoint mn (n k : nat) : nat := match n, k with | S a, S b => S (mn a b) | _, _ "
                      "=> 0 end.",
    "implicit type": "Fixpoint size {A : Type} (l : list A) : nat := match l with [] => 0 | _ :: t => "
                     "S (size t) end.",
    "no recursive call": "Fixpoint divisors (n : nat) : list nat := if n =? 0 then [] else filter (fun d "
                         "=> Nat.modulo n d =? 0) (seq 1 n).",
}

REFUSED = {
    "let-bound argument": (
        "Fixpoint f (n : nat) : nat := match n with 0 => 0 | S m => let k := m in f k end.", "'let'"),
    "if-computed argument": (
        "Fixpoint f (n : nat) : nat := match n with 0 => 0 | S m => match (if true then n else m) with "
        "0 => 0 | S k => f k end end.", "its argument 'k' is not a variable bound by a pattern"),
    "argument not bound by a pattern": (
        "Fixpoint f (n k : nat) : nat := match n with 0 => 0 | S m => f k m end.",
        "its argument 'k' is not a variable bound by a pattern of the recursive parameter 'n'"),
    "the whole value": (
        "Fixpoint f (n : nat) : nat := match n with 0 => 0 | m => f m end.",
        "its argument 'm' is not a variable bound by a pattern"),
    "no decrease": ("Fixpoint f (n : nat) : nat := f n.", "its argument 'n' is not"),
    "function as a value": (
        "Fixpoint issue (l : list nat) : list nat := match l with [] => [] | x :: t => map issue t end.",
        "'issue' is passed as a value in 'map issue t'"),
    "function unapplied": ("Fixpoint f (n : nat) : nat -> nat := f.", "occurs without arguments"),
    "mutual": (
        "Fixpoint ev (n : nat) : bool := match n with 0 => true | S m => od m end with od (n : nat) : "
        "bool := match n with 0 => false | S m => ev m end.", "mutual"),
    "shadowed pattern variable": (
        "Fixpoint f (n k : nat) : nat := match n with 0 => 0 | S m => match k with 0 => 0 | S m => f m k "
        "end end.", "the binder 'm' shadows a pattern variable"),
    "shadowing fun": (
        "Fixpoint f (n : nat) : nat := match n with 0 => 0 | S m => (fun m => f m) 3 end.",
        "the binder 'm' shadows a pattern variable"),
    "shadowed parameter": (
        "Fixpoint f (n k : nat) : nat := match k with 0 => 0 | n => match n with 0 => 0 | S m => f m k end "
        "end.", "the binder 'n' shadows a parameter"),
    "or-pattern": ("Fixpoint f (n : nat) : nat := match n with S m | m => f m end.", "'|'"),
    "named argument": (
        "Fixpoint f (n : nat) : nat := match n with 0 => 0 | S m => f (n := m) end.", "':='"),
    "return clause": (
        "Fixpoint f (n : nat) : nat := match n return nat with 0 => 0 | S m => f m end.", "'return'"),
    "unknown symbol": (
        "Fixpoint f (n : nat) : nat := match n with 0 => 0 | S m => m +++ f m end.", "'+++'"),
    "bare global argument": (
        "Fixpoint f (n : nat) : nat := match n with 0 => 0 | S m => f m swapped end.",
        "global name 'swapped'"),
    "explicit application": (
        "Fixpoint f (n : nat) : nat := match n with 0 => 0 | S m => @f m end.", "'@'"),
    "coercible type": (
        "Fixpoint g (x : Rbar) : nat := match x with Finite r => g r | _ => 0 end.",
        "'x' has type 'Rbar'"),
    "dependent parameter": (
        "Fixpoint g (n : nat) (v : n = n) (k : nat) {struct k} : nat := match k with 0 => 0 | S m => "
        "g n v m end.", "Set Implicit Arguments"),
    "struct on a non-decreasing parameter": (
        "Fixpoint add (a n : nat) {struct a} : nat := match n with 0 => a | S m => S (add a m) end.",
        "recursive parameter 'a'"),
    "CoFixpoint": ("CoFixpoint z : Stream nat := Cons 0 z.", "'CoFixpoint' is not allowed"),
    "fix in a Definition": (
        "Definition f := fix g (n : nat) : nat := match n with 0 => 0 | S m => g m end.",
        "'fix' is not allowed"),
    "cofix in a Definition": ("Definition z := cofix z : Stream nat := Cons 0 z.", "'cofix' is not allowed"),
    "redefining nat": ("Definition nat := bool.", "may not declare 'nat'"),
}


@pytest.mark.parametrize("sentence", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_structural_fixpoints_are_accepted(sentence: str) -> None:
    assert check_recursion(sentence) is None
    assert check_coq_header(f"Require Import List.\nImport ListNotations.\n{sentence}") is None


@pytest.mark.parametrize(("sentence", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_other_recursion_is_refused(sentence: str, reason: str) -> None:
    refused = check_recursion(sentence)
    assert refused is not None and reason in refused, refused
    assert check_coq_header(sentence) is not None


def test_the_exploit_header_is_refused() -> None:
    reason = check_coq_header(EXPLOIT)
    assert reason is not None and reason.startswith("header: Fixpoint issue: ")
    assert "Coq 8.16's guard checker accepts some non-terminating fixpoints" in reason
    # without the match's aliases, the let-bound argument itself is what is refused
    bare = ISSUE.replace("match n as n0 return (match n0 with 0 => False | S _ => True end) -> False",
                         "match n")
    assert "'let'" in (check_recursion(bare) or "")


def test_every_benchmark_fixpoint_is_accepted() -> None:
    rows = [json.loads(line) for line in BENCHMARK.read_text(encoding="utf-8").split("\n") if line.strip()]
    fixpoints = [(row["name"], sentence) for row in rows for sentence in header_sentences(row["header"])
                 if sentence.startswith("Fixpoint")]
    assert len({name for name, _ in fixpoints}) == 11 and len(fixpoints) == 12
    refused = {name: check_recursion(sentence) for name, sentence in fixpoints}
    assert not {name: why for name, why in refused.items() if why}, refused
    for row in rows:  # no header of the file is refused for recursion
        reason = check_coq_header(row["header"]) or ""
        assert "Fixpoint" not in reason and "fix" not in reason, (row["name"], reason)


@pytest.mark.skipif(COQC is None, reason="coqc not installed")
def test_exploit_proves_false_in_coq_and_accepted_variants_compile() -> None:
    """The refusal is not vacuous: Coq 8.16 accepts the exploit; the accepted examples are real Coq."""
    assert "Closed under the global context" in compiled(EXPLOIT + "Print Assumptions boom.\n")
    compiled("Require Import Arith List.\nImport ListNotations.\n" + "\n".join(ACCEPTED.values())
             + "\nExample e : half 9 = 4 /\\ binom 5 2 = 10 /\\ len [1; 2] = 2 := conj eq_refl "
             "(conj eq_refl eq_refl).\n")


@pytest.mark.skipif(COQC is None, reason="coqc not installed")
def test_prove_refuses_the_exploit_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("COLUMNS", "10000")
    header = tmp_path / "h1.v"
    header.write_text(EXPLOIT)
    code = main(["prove", "--backend", "coq", "--header-file", str(header), "--tactics", "exact boom",
                 "Theorem t : False."])
    captured = capsys.readouterr()
    assert code != 0
    assert "Traceback" not in captured.err + captured.out
    assert "Fixpoint issue: " in captured.err and "structural recursion" in captured.err
    assert "proved" not in captured.out.lower()


@pytest.mark.skipif(COQC is None, reason="coqc not installed")
def test_prove_still_uses_a_structural_header_fixpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    header = tmp_path / "h.v"
    header.write_text(ACCEPTED["nested pattern"] + "\n")
    code = main(["prove", "--backend", "coq", "--header-file", str(header), "--tactics", "reflexivity",
                 "Theorem t : half 8 = 4."])
    captured = capsys.readouterr()
    assert code == 0, captured.err


# A header's own notation can dress the whole value as a constructor pattern (``ANY m`` is ``n`` itself) or
# hide a binder from the check; with such notations, the exploit's aliases and lets pass the text check
# and Coq 8.16 accepts a non-terminating fixpoint again (red-team review, 2026-12-07).
ANY = 'Notation "\'ANY\' x" := (x) (at level 10, x ident).'
LETV = ('Notation "\'LETV\' y \'BE2\' v \'IN2\' e" := (let y := v in e) '
        "(at level 200, y ident, e at level 200).")


@pytest.mark.parametrize("header", [
    f"{ANY}\nFixpoint f (n : nat) : nat := match n with ANY m => f m end.",
    f"{LETV}\nFixpoint f (n : nat) : nat := match n with 0 => 0 | S m => LETV m BE2 (S n) IN2 (f m) end.",
    f"Local {ANY}\nDefinition d := 0.\nFixpoint f (n : nat) : nat := match n with ANY m => f m end.",
])
def test_a_fixpoint_after_the_header_s_own_notation_is_refused(header: str) -> None:
    fixpoint = header.rsplit("\n", 1)[1]
    assert check_recursion(fixpoint) is None  # the text check alone cannot see through the notation
    reason = check_coq_header(header)
    assert reason is not None and "after the header's own notation" in reason, reason


def test_a_notation_after_the_fixpoint_is_fine() -> None:
    assert check_coq_header(f"{ACCEPTED['nested pattern']}\n{ANY}") is None


NOTATION_EXPLOIT = (
    "Definition P (n : nat) : Prop := match n with 0 => False | S _ => True end.\n"
    "Notation \"'ANY' x\" := (x) (at level 10, x ident).\n"
    "Notation \"'DM' m 'ZERO' z 'SUCC' s 'THEN' t\" := (match m as m0 return (P m0 -> False) with"
    " 0 => z | S s => t end) (at level 200, s ident, t at level 200).\n"
    "Notation \"'LETF' f 'WITH' b x hp 'OF' T 'BE' v 'IN' e\" := (let f := fun (b : bool) (x : na"
    "t) (hp : T) => v in e) (at level 200, f ident, b ident, x ident, hp ident).\n"
    "Notation \"'LETV' y 'BE2' v 'IN2' e\" := (let y := v in e) (at level 200, y ident, e at leve"
    "l 200).\n"
    "Fixpoint issue {m : nat} (n : nat) : P m -> False := match n with ANY k => DM m ZERO (fun "
    "h => h) SUCC subm THEN (fun h => LETF f WITH b x hp OF (P (match (if b then x else subm) w"
    "ith 0 => subm | S s => s end)) BE (LETV arg BE2 (match (if b then x else subm) with 0 => s"
    "ubm | S s => s end) IN2 (issue k (hp : P arg))) IN (f true 5 I)) end.\n"
    "Definition boom : False := issue 0 (I : P 1).\n"
)


@pytest.mark.skipif(COQC is None, reason="coqc not installed")
def test_the_notation_exploit_proves_false_in_coq_and_is_refused() -> None:
    assert "Closed under the global context" in compiled(NOTATION_EXPLOIT + "Print Assumptions boom.\n")
    reason = check_coq_header(NOTATION_EXPLOIT)
    assert reason is not None and "after the header's own notation" in reason, reason


TREE = "Inductive tree : Type :=\n  | Leaf : tree\n  | Node : tree -> nat -> tree -> tree."


def test_a_fixpoint_on_the_header_s_own_inductive_type_is_accepted() -> None:
    mirror = ("Fixpoint mirror (t : tree) : tree := match t with | Leaf => Leaf | Node l v r => "
              "Node (mirror r) v (mirror l) end.")
    assert check_coq_header(f"{TREE}\n{mirror}") is None
    assert check_recursion(mirror) is not None  # not without the header's inductive before it


@pytest.mark.parametrize(("inductive", "why"), [
    # a constructor declared a coercion: ``f n`` under ``c n`` would mean ``f (c n)``, the value itself
    ("Inductive t := c :> nat -> t.", "has type 't'"),
    ("Inductive t (A : Type) := c : A -> t A.", "has type 't'"),  # parameters: not read
])
def test_a_fixpoint_on_an_unreadable_or_coercing_header_type_is_refused(inductive: str, why: str) -> None:
    reason = check_coq_header(f"{inductive}\nFixpoint f (x : t) : nat := match x with c n => f n end.")
    assert reason is not None and why in reason, reason
