"""Candidates for competition mathematics (miniF2F), read off the first goal: decision procedures for the
goal's number domain, ``nra`` with product hints, equations that fix a variable, conjunctions and
existentials to take apart, case splits on small ranges, and computations on closed goals.

Every function here is a heuristic over ``GoalView`` text: a candidate that does not apply is one fast
``TacticError``, never a wrong proof (the kernel checks everything). Weights are relative to the fixed list
of ``policy.py`` (``lia`` 8, ``intros`` 5 ...), tuned on miniF2F-rocq's valid split only.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from search.backends.coq.goal_view import GoalView, is_equation, is_quantified, mentions, top_level

Weighted = list[tuple[str, float]]

_IDENT = r"[A-Za-z_][\w']*"
_TRANSCENDENTAL = re.compile(r"\b(?:sqrt|ln|exp|sin|cos|tan|atan|PI|Rpower|powerRZ)\b")
_REAL_MARKS = re.compile(r"\b(?:INR|IZR|Rabs|Rsqr|Rmax|Rmin|Rinv|sqrt|ln|exp|sin|cos|PI|Rpower)\b|\bR\b")
_COMPLEX_MARKS = re.compile(r"\b(?:Ci|Cplus|Cmult|Cminus|Cinv|Cdiv|Cmod|RtoC)\b")
_INT_MARKS = re.compile(r"%Z\b|\bZ\.\w+|\bZpos\b|\bZneg\b|\bIZR\b")
_MOD = re.compile(r"\bmod\b|\bZ\.modulo\b|\bNat\.modulo\b|\bZ\.div\b|\bNat\.div\b|\bdiv\b|\s/\s")
_NUMBER = re.compile(r"\(?-?\d+\)?")
# A numeral (not the digit of a name such as l1) or an arithmetic operator (not list append ++).
_ARITHMETIC = re.compile(r"(?<![\w'])\d|(?<!\+)[+*^](?!\+)|\s[-/]\s")
_SQRT = re.compile(r"(?<![\w.'])sqrt\s+(\w+|\([^()]*\))")  # R's sqrt, not Nat.sqrt or Z.sqrt
# Functions a goal's terms call that are no variable of the context.
_LIBRARY_FUNCTIONS = frozenset({"sqrt", "ln", "exp", "sin", "cos", "tan", "atan", "pow", "powerRZ", "bpow",
                                "fact", "Rabs", "Rsqr", "Rinv", "Rmax", "Rmin", "Rpower", "INR", "IZR"})
_BINDER = re.compile(r"(?:forall|exists)\s+\(?[\w' ]+:\s*([\w.]+)")  # the type a quantifier gives
_DIVISION = re.compile(r"/(?!\\)")  # a division, not the connective /\
# Bounds that make a variable range over a few values: "a <= x < b", "a < x <= b", "x < b", "x <= b" ...
_BOUND_PAIR = re.compile(rf"^\(?(-?\d+)\)?\s*(<=|<)\s*({_IDENT})\s*(<=|<)\s*\(?(-?\d+)\)?$")
_UPPER = re.compile(rf"^({_IDENT})\s*(<=|<)\s*\(?(-?\d+)\)?$")
_UPPER_FLIPPED = re.compile(rf"^\(?(-?\d+)\)?\s*(>=|>)\s*({_IDENT})$")
_LOWER = re.compile(rf"^\(?(-?\d+)\)?\s*(<=|<)\s*({_IDENT})$")
_LOWER_FLIPPED = re.compile(rf"^({_IDENT})\s*(>=|>)\s*\(?(-?\d+)\)?$")

# Tactics that can run long when they fail: the policy gives them a limit of their own (``clock.py``).
SLOW_TACTICS = frozenset({"sauto", "hauto", "intuition", "firstorder", "eauto", "nra", "nia", "psatz R 2",
                          "psatz Z 2", "interval", "field_simplify; nra", "Z.div_mod_to_equations; nia",
                          "zify; Z.div_mod_to_equations; nia"})
MAX_CASES = 100  # a case split on more values than this is left to the decision procedures
MAX_TACTIC = 1900  # characters: the safety filter refuses tactics of 2000 and more
MAX_PAIRS = 6  # squares of differences in one nra hint


@dataclass(frozen=True)
class Domain:
    """Which numbers the goal is about; several may hold (``INR n`` mixes nat and R)."""

    real: bool
    integer: bool
    natural: bool
    transcendental: bool
    division: bool
    complex: bool = False


def is_slow(tactic: str) -> bool:
    """Whether ``tactic`` may spend seconds failing (a procedure that searches, or cases, hints or
    rewrites then one: ``split_Rabs; nra`` took 28 s to fail on imo_1966_p5)."""
    return tactic in SLOW_TACTICS or (tactic.startswith(("pose proof", "split_Rabs", "unfold Rmax"))
                                      and tactic.endswith(("nra", "nia", "lra")))


def variables(view: GoalView, typ: str) -> list[str]:
    """The context's variables of type ``typ`` (``R``, ``Z``, ``nat``), in context order."""
    return [name for name, t in view.hypotheses if t == typ]


def goal_domain(view: GoalView) -> Domain:
    """The goal's numbers, from the types of its variables and the functions it mentions (a goal with
    arithmetic but no typed variable counts as both natural and real numbers)."""
    text = " ".join([view.conclusion, *(t for _, t in view.hypotheses)])
    types = {t for _, t in view.hypotheses} | _binder_types(view.conclusion)
    real = "R" in types or any(t.endswith("-> R") for t in types) or _REAL_MARKS.search(text) is not None
    integer = "Z" in types or any(t.endswith("-> Z") for t in types) or _INT_MARKS.search(text) is not None
    natural = "nat" in types or any(t.endswith("-> nat") for t in types) or re.search(
        r"%nat\b|(?<![\w.'])nat(?![\w'])", text) is not None
    complex_ = "C" in types or any(t.endswith("-> C") for t in types) or (
        _COMPLEX_MARKS.search(view.conclusion) is not None)
    # Arithmetic without a typed variable or a marked function: the numbers' scope is the header's
    # (``Open Scope R_scope``, or nat by default), which the goal text does not show: both.
    unknown = _ARITHMETIC.search(view.conclusion) is not None and not (real or integer or complex_)
    return Domain(real=real or complex_ or (unknown and not natural), integer=integer,
                  natural=natural or unknown,
                  transcendental=_TRANSCENDENTAL.search(text) is not None,
                  division=_MOD.search(text) is not None, complex=complex_)


def _binder_types(text: str) -> set[str]:
    """The types the quantifiers of ``text`` give their variables (``forall n : Z, ...`` -> ``Z``): a
    first goal not yet introduced names its numbers there."""
    return set(_BINDER.findall(text))


def decision_tactics(domain: Domain) -> Weighted:
    """Closing procedures for the goal's numbers, most likely first."""
    out: Weighted = []
    if domain.real:
        out += [("lra", 9.0), ("nra", 6.0), ("field", 4.0), ("psatz R 2", 5.0), ("field_simplify", 1.5),
                ("ring_simplify", 1.5), ("ring", 3.0), ("field_simplify; nra", 2.0)]
    if domain.integer or domain.natural:
        out += [("lia", 9.0), ("nia", 6.0), ("ring", 3.0), ("zify", 1.0)]
        if domain.integer:  # psatz does not zify: on nat it fails, and Z may be unknown where only nat is
            out.append(("psatz Z 2", 1.5))
        if domain.division:
            out += [("Z.div_mod_to_equations; nia", 5.0), ("zify; Z.div_mod_to_equations; nia", 5.0)]
    if domain.complex:  # C is R * R: an equation of complex numbers is two of reals
        out += [("apply injective_projections; simpl; ring", 7.0),
                ("apply injective_projections; simpl; field", 4.0),
                ("apply injective_projections; simpl; lra", 3.0),
                ("apply injective_projections; simpl; nra", 2.0)]
    out += [("sauto", 2.0), ("hauto", 1.5)]
    return out


def nra_hints(view: GoalView, domain: Domain) -> Weighted:
    """``nra`` (``nia``) after adding the squares of the differences of the goal's variables: the
    products ``nra`` does not find alone (it multiplies hypotheses, not arbitrary terms)."""
    out: Weighted = []
    if domain.real:
        names = [v for v in variables(view, "R") if mentions(view.conclusion, v)]
        pairs = list(itertools.combinations(names, 2))[:MAX_PAIRS]
        if pairs:
            hints = "; ".join(f"pose proof (pow2_ge_0 ({a} - {b}))" for a, b in pairs)
            out.append((f"{hints}; nra", 4.0))
        squares = "; ".join(f"pose proof (pow2_ge_0 {v})" for v in names[:MAX_PAIRS])
        if squares:
            out.append((f"{squares}; nra", 2.0))
    if domain.integer:
        names = [v for v in variables(view, "Z") if mentions(view.conclusion, v)]
        pairs = list(itertools.combinations(names, 2))[:MAX_PAIRS]
        if pairs:
            hints = "; ".join(f"pose proof (Z.square_nonneg ({a} - {b}))" for a, b in pairs)
            out.append((f"{hints}; nia", 3.0))
    return out


def sqrt_hints(view: GoalView) -> Weighted:
    """``nra`` knowing ``sqrt e * sqrt e = e`` and ``0 <= sqrt e`` for the square roots in the goal
    (``e >= 0`` proved by ``lra`` on the spot; a candidate whose side proof fails is one error)."""
    text = " ".join([view.conclusion, *(t for _, t in view.hypotheses)])
    known = {name for name, _ in view.hypotheses}
    # only roots of terms the context can name: not one under a binder (forall x, f x = sqrt (x + 1))
    roots = [e for e in dict.fromkeys(_SQRT.findall(text))
             if all(word in known for word in _free_words(e))][:3]
    if not roots:
        return []
    facts = "; ".join(f"pose proof (sqrt_sqrt {e} ltac:(lra)); pose proof (sqrt_pos {e})" for e in roots)
    return [(f"{facts}; nra", 4.0), ("; ".join(f"pose proof (sqrt_pos {e})" for e in roots) + "; nra", 2.0)]


def _free_words(term: str) -> list[str]:
    """The lower-case identifiers of a term that are not library functions (variables, as the goals of
    competition problems write them)."""
    return [w for w in re.findall(r"(?<![\w.'])[^\W\d][\w']*", term)
            if w[0].islower() and w not in _LIBRARY_FUNCTIONS]


def demotions(view: GoalView) -> dict[str, float]:
    """Factors for fixed tactics that cannot help on this goal: ``intros`` with nothing to introduce,
    and the tactics of inductive types and ``lia`` on a goal about reals only."""
    out: dict[str, float] = {}
    if not is_quantified(view.conclusion):
        out.update({"intros": 0.1})
    domain = goal_domain(view)
    if domain.real and not (domain.integer or domain.natural):
        out.update({t: 0.2 for t in ("lia", "nia", "congruence", "discriminate", "constructor", "f_equal",
                                     "simpl", "simpl in *", "tauto", "split", "trivial", "easy")})
        out.update({"reflexivity": 0.5})
    return out


def fixing_equations(view: GoalView) -> Weighted:
    """``subst x`` for a hypothesis ``x = e`` (or ``e = x``) that fixes a local variable, and
    ``rewrite h in *`` for an equation whose left side is a term such as ``f 1``."""
    locals_ = {name for name, _ in view.hypotheses}
    out: Weighted = []
    for name, typ in view.hypotheses:
        if typ.startswith("forall ") and is_equation(typ):  # a function's definition: f x = ...
            out.append((f"rewrite {name} in *", 4.0))
            continue
        if not is_equation(typ) or " -> " in typ or typ.startswith("forall "):
            continue
        left, _, right = typ.partition(" = ")
        left, right = left.strip(), right.strip()
        for var, other in ((left, right), (right, left)):
            if var in locals_ and not mentions(other, var):
                out.append((f"subst {var}", 5.0))
                break
        else:
            if not _NUMBER.fullmatch(left):
                out.append((f"rewrite {name} in *", 2.5))
    if sum(tactic.startswith("subst ") for tactic, _ in out) >= 2:
        out.append(("subst", 6.0))  # every variable a hypothesis fixes, in one step
    return out


def destruct_hypotheses(view: GoalView) -> Weighted:
    """Take every conjunction and existential in the context apart in one step."""
    if any(top_level(t, "/\\") or t.startswith("exists ") for _, t in view.hypotheses):
        return [("repeat match goal with | H : _ /\\ _ |- _ => destruct H | H : exists _, _ |- _ => "
                 "destruct H end", 6.0)]
    return []


def range_splits(view: GoalView) -> Weighted:
    """For an integer or natural variable bounded to at most ``MAX_CASES`` values by the hypotheses,
    split into one goal per value, substitute, and close what computation decides."""
    kinds = dict(view.hypotheses)
    bounds: dict[str, list[int | None]] = {}
    for _, typ in view.hypotheses:
        for part in _conjuncts(typ):
            found = _bound(part)
            if found is None:
                continue
            var, low, high = found
            if kinds.get(var) not in ("nat", "Z"):
                continue
            current = bounds.setdefault(var, [0 if kinds[var] == "nat" else None, None])
            if low is not None:
                current[0] = low if current[0] is None else max(current[0], low)
            if high is not None:
                current[1] = high if current[1] is None else min(current[1], high)
    out: Weighted = []
    for var, (low, high) in bounds.items():
        if low is None or high is None or not 0 < high - low + 1 <= MAX_CASES:
            continue
        scope = "%Z" if kinds[var] == "Z" else "%nat"  # the header's scope may be another
        cases = " \\/ ".join(f"{var} = ({value}){scope}" for value in range(low, high + 1))
        tactic = (f"assert (Hcase : {cases}) by lia; repeat destruct Hcase as [Hcase|Hcase]; subst {var}; "
                  f"try (compute in *; lia)")
        if len(tactic) <= MAX_TACTIC:
            out.append((tactic, 3.0 if high - low < 12 else 1.5 if high - low < 40 else 1.0))
    return out


def real_hypotheses(view: GoalView, domain: Domain) -> Weighted:
    """Clearing denominators in hypotheses, and ``a - b <> 0`` from ``a <> b`` (what ``field`` asks)."""
    if not domain.real:
        return []
    out: Weighted = []
    reals = set(variables(view, "R"))
    for name, typ in view.hypotheses:
        if typ.startswith("forall "):
            continue
        if is_equation(typ) and _DIVISION.search(typ):
            out.append((f"field_simplify in {name}", 1.5))
        left = typ.partition(" <> ")[0].strip()
        if top_level(typ, " <> ") and (left in reals or _REAL_MARKS.search(left)):
            out.append((f"pose proof (Rminus_eq_contra _ _ {name})", 1.0))
    return out


def computations(view: GoalView) -> Weighted:
    """A goal without variables is often decided by computing it."""
    if is_quantified(view.conclusion) or any(kind in ("nat", "Z", "R", "Q") for _, kind in view.hypotheses):
        return []
    return [("reflexivity", 3.0), ("compute; lia", 2.0), ("compute", 1.0)]  # not vm_compute: see safety


def real_functions(view: GoalView) -> Weighted:
    """Unfolding the real functions that ``lra`` does not see through."""
    out: Weighted = []
    text = " ".join([view.conclusion, *(t for _, t in view.hypotheses)])
    if "Rabs" in text:
        out.append(("split_Rabs; lra", 4.0))
        out.append(("split_Rabs; nra", 4.0))
    if "Rsqr" in text:
        out.append(("unfold Rsqr in *", 3.0))
    if re.search(r"\b(?:Rmax|Rmin)\b", text):
        out.append(("unfold Rmax, Rmin in *; repeat destruct Rle_dec; lra", 3.0))
    if re.search(r"\b(?:INR|IZR)\b", text):
        out.append(("rewrite ?plus_INR, ?mult_INR, ?minus_INR, ?S_INR, ?INR_IZR_INZ in *", 1.0))
    return out


def _conjuncts(typ: str) -> list[str]:
    """``A /\\ B /\\ C`` as its parts (top level only); Coq prints ``a <= x < b`` as one part."""
    if not top_level(typ, "/\\"):
        return [typ.strip()]
    return [p.strip() for p in typ.split("/\\")]


def _bound(part: str) -> tuple[str, int | None, int | None] | None:
    """``(variable, lowest value, highest value)`` a comparison allows, for integer comparisons."""
    part = part.replace("%Z", "").replace("%nat", "").strip()
    if (m := _BOUND_PAIR.match(part)) is not None:
        low = int(m.group(1)) + (1 if m.group(2) == "<" else 0)
        high = int(m.group(5)) - (1 if m.group(4) == "<" else 0)
        return m.group(3), low, high
    if (m := _UPPER.match(part)) is not None:
        return m.group(1), None, int(m.group(3)) - (1 if m.group(2) == "<" else 0)
    if (m := _UPPER_FLIPPED.match(part)) is not None:
        return m.group(3), None, int(m.group(1)) - (1 if m.group(2) == ">" else 0)
    if (m := _LOWER.match(part)) is not None:
        return m.group(3), int(m.group(1)) + (1 if m.group(2) == "<" else 0), None
    if (m := _LOWER_FLIPPED.match(part)) is not None:
        return m.group(1), int(m.group(3)) + (1 if m.group(2) == ">" else 0), None
    return None
